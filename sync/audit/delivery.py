"""One delivered record checked as the receiver checked it, for the audit.

A delivery (sync.deliver) is a record of a log the node does not hold, with the
origin's signed checkpoint and an RFC 9162 inclusion proof. The audit trusts the
node's word for none of it: the checkpoint's signature, the inclusion and the
signer's chain are checked again here, for a node database and a bundle alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pki.errors import VerificationError
from protos.tongban.v1 import record_pb2
from sync import merkle
from sync.records import parse_record
from sync.trust import Verifier


def proven(verifier: Verifier, data: bytes, note: bytes, proof: Sequence[bytes],
           now: datetime) -> record_pb2.Record:
    """The record in ``data`` when ``note`` is its origin's signed checkpoint covering it
    and ``proof`` its inclusion in that checkpoint; raises an Error naming what fails.

    No receipt dates a delivery's checkpoint, so its signer's chain is judged at
    ``now``, as the audit judges a checkpoint no ancestor cosigned (never at the time
    the record states, which its signer chose).
    """
    record = parse_record(data)
    signed = verifier.signer(note)
    checkpoint = signed.checkpoint
    if checkpoint.division != record.origin or record.seq >= checkpoint.size:
        raise VerificationError(f"its checkpoint is {checkpoint.origin} size {checkpoint.size}")
    merkle.verify_inclusion(record.seq, checkpoint.size, merkle.leaf_hash(data), list(proof),
                            checkpoint.root)
    verifier.chain(signed.signer, now)
    return record


def split_proof(joined: bytes) -> list[bytes]:
    """An inclusion proof as the deliveries table keeps it (hashes end to end)."""
    return [joined[i:i + merkle.HASH_SIZE] for i in range(0, len(joined), merkle.HASH_SIZE)]
