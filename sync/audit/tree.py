"""Recompute one origin's Merkle tree from its record bytes, in a single pass.

The auditor trusts nothing the node stored beside the records (leaf hashes,
tree nodes): every leaf is hashed from the exact record bytes, the tree is
built with an RFC 9162 frontier (one pending perfect subtree per level), and
the root is taken at every size a checkpoint or batch claims. Stored hashes are
only compared, so a mismatch is reported rather than believed.

This loop is the audit's cost, so it avoids per-record function calls: hashing,
parsing and the frontier fold are inlined, and records arrive in large chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from pki.errors import Error
from pki.revocation import Revocation, parse_revocation
from protos.tongban.v1 import record_pb2
from sync import merkle
from sync.audit.report import Report
from sync.receive import MAX_RECORD_BYTES

#: (seq, stored leaf hash or None, record bytes)
Row = tuple[int, bytes | None, bytes]
_MAX_LEVELS = 64


@dataclass
class Scan:
    origin: str
    first_seq: int
    end: int = 0  # tree size reached: first_seq + leaves hashed
    roots: dict[int, bytes] = field(default_factory=dict)
    revocations: list[Revocation] = field(default_factory=list)
    #: level -> concatenated 32-byte hashes of the perfect subtrees completed, by index
    nodes: list[bytearray] = field(default_factory=list)


def frontier_from(first_seq: int, prefix: Sequence[bytes]) -> list[bytes | None]:
    """The pending subtrees for [0, first_seq), from hashes given left to right (largest first)."""
    levels = [lvl for lvl in range(first_seq.bit_length() - 1, -1, -1) if first_seq >> lvl & 1]
    if len(prefix) != len(levels) or any(len(h) != merkle.HASH_SIZE for h in prefix):
        raise merkle.ProofError(
            f"prefix frontier for first_seq {first_seq}: got {len(prefix)} hashes, want "
            f"{len(levels)} of {merkle.HASH_SIZE} bytes (one per set bit of first_seq)")
    frontier: list[bytes | None] = [None] * _MAX_LEVELS
    for lvl, h in zip(levels, prefix, strict=True):
        frontier[lvl] = h
    return frontier


def _root(frontier: list[bytes | None], size: int) -> bytes:
    if size == 0:
        return merkle.empty_root()
    acc = None
    sha256 = hashlib.sha256
    for lvl in range(size.bit_length()):
        if size >> lvl & 1:
            h = frontier[lvl]
            acc = h if acc is None else sha256(b"\x01" + h + acc).digest()  # type: ignore[operator]
    return acc  # type: ignore[return-value]


def scan(origin: str, chunks: Iterable[Sequence[Row]], targets: Iterable[int], report: Report,
         first_seq: int = 0, prefix: Sequence[bytes] = (), keep_nodes: bool = False,
         progress=None) -> Scan:
    """Hash every record of ``origin`` in order and return the roots at ``targets``.

    Records must arrive sorted by seq. A missing seq is reported and the
    following records are hashed at the positions they actually occupy, so the
    roots after a gap honestly disagree with the signed ones; a repeated seq is
    reported and the repeat is not hashed.
    """
    result = Scan(origin, first_seq, first_seq)
    if keep_nodes:
        result.nodes = [bytearray() for _ in range(_MAX_LEVELS)]
    nodes = result.nodes
    frontier = frontier_from(first_seq, prefix)
    wanted = sorted({t for t in targets if t >= first_seq})
    if first_seq in wanted:
        result.roots[first_seq] = _root(frontier, first_seq)
    pending = iter([t for t in wanted if t > first_seq])
    next_target = next(pending, -1)
    sha256 = hashlib.sha256
    parse = record_pb2.Record.FromString
    revoked_kind = record_pb2.CERT_REVOKED
    problem = report.problem
    pos = first_seq  # tree position of the next leaf
    expected = first_seq  # next seq we want to see
    for chunk in chunks:
        for seq, stored, data in chunk:
            if seq != expected:
                if seq < expected:
                    problem(origin, seq, "duplicate-seq",
                            f"sequence number {seq} appears more than once; the repeat is "
                            "not hashed")
                    continue
                gap = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
                problem(origin, expected, "gap",
                        f"no record at seq {gap}: records were deleted or never arrived")
                expected = seq
            if len(data) > MAX_RECORD_BYTES:
                problem(origin, seq, "oversized-record",
                        f"record is {len(data)} bytes, limit {MAX_RECORD_BYTES}")
            h = sha256(b"\x00" + data).digest()
            if stored is not None and stored != h:
                problem(origin, seq, "leaf-hash",
                        f"stored leaf hash {stored.hex()[:16]}… does not match the record "
                        f"bytes (hash {h.hex()[:16]}…): record or leaf hash was changed")
            try:
                record = parse(data)
            except DecodeError as exc:
                problem(origin, seq, "malformed-record", f"malformed record: {exc}")
                record = None
            if record is not None:
                if record.origin != origin or record.seq != seq:
                    problem(origin, seq, "record-claim",
                            f"record at {origin}#{seq} claims origin {record.origin!r} "
                            f"seq {record.seq}")
                elif record.kind == revoked_kind:
                    try:
                        result.revocations.append(parse_revocation(origin, record.body))
                    except Error as exc:
                        problem(origin, seq, "malformed-revocation", str(exc))
            idx = pos
            level = 0
            while idx & 1:
                h = sha256(b"\x01" + frontier[level] + h).digest()  # type: ignore[operator]
                level += 1
                idx >>= 1
                if nodes:
                    nodes[level] += h
            frontier[level] = h
            pos += 1
            expected = seq + 1
            if pos == next_target:
                result.roots[pos] = _root(frontier, pos)
                next_target = next(pending, -1)
        if progress is not None:
            progress(len(chunk))
    result.end = pos
    return result
