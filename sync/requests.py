"""Shape checks on what a peer sends, before any of it reaches SQLite or the verifier.

Protobuf lets a peer put any uint64 in a size and any text in a map key.
SQLite stores integers below 2^63 only, so an unchecked ``first_seq`` of 2^63
would surface as an OverflowError deep in a query; a division key that is not
a code would be stored in ``child_contacts``. These checks turn every such
request into one MalformedError (INVALID_ARGUMENT at the servicer) naming the
field, and leave the rest of the code free to assume sane values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pki.division import validate
from pki.errors import InputError, MalformedError
from pki.verify import MAX_CHAIN
from protos.tongban.v1 import federation_pb2

#: The largest sequence number or size SQLite can hold (a signed 64-bit integer).
MAX_SEQ = (1 << 63) - 1
#: More origins than any node's subtree and ancestors hold (China has about 3,000 counties).
MAX_ORIGINS = 10_000


def check_sizes(field: str, sizes: Mapping[str, int]) -> dict[str, int]:
    """A per-origin size map: at most MAX_ORIGINS division codes, each size storable."""
    if len(sizes) > MAX_ORIGINS:
        raise MalformedError(field, f"{len(sizes):,} origins, limit {MAX_ORIGINS:,}")
    for origin, size in sizes.items():
        try:
            validate(origin)
        except InputError as exc:
            raise MalformedError(field, str(exc)) from exc
        if not 0 <= size <= MAX_SEQ:
            raise MalformedError(field, f"size {size} for {origin} is out of range "
                                 f"(0 to {MAX_SEQ})")
    return dict(sizes)


def check_chain(field: str, chain: Sequence[bytes]) -> list[bytes]:
    """A presented certificate chain: at most MAX_CHAIN certificates."""
    if len(chain) > MAX_CHAIN:
        raise MalformedError(field, f"{len(chain)} certificates, limit {MAX_CHAIN}")
    return list(chain)


def check_batch(batch: federation_pb2.LogBatch) -> None:
    """A batch whose position can be stored; its origin, record sizes and signatures are the
    receiver's to check (sync.receive)."""
    what = f"batch {batch.origin[:20]!r}"
    if batch.first_seq + len(batch.records) > MAX_SEQ:
        raise MalformedError(what, f"first_seq {batch.first_seq} is out of range "
                             f"(0 to {MAX_SEQ})")
