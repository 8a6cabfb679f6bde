"""Recompute one origin's Merkle tree from its record bytes, in a single pass.

The auditor trusts nothing the node stored beside the records (leaf hashes,
tree nodes): every leaf is hashed from the exact record bytes, the tree is
built with a merkle.CompactRange, and the root is taken at every size a
checkpoint or batch claims. Stored hashes are only compared, so a mismatch is
reported rather than believed.

This loop is the audit's cost, so it avoids per-record function calls: hashing
and parsing are inlined, records arrive in large chunks, and each chunk's leaves
go to the compact range in one call per target size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from pki.errors import Error
from pki.revocation import Revocation, parse_revocation
from protos.tongban.v1 import record_pb2
from sync import merkle
from sync.audit.report import Report
from sync.contract import Judgement
from sync.receive import MAX_RECORD_BYTES
from sync.records import LOGICAL_BITS, show_ms

#: How far past a clock a time may lie before it is "in the future": the clocks of two
#: honest nodes (and the auditor's) differ by seconds, a wrong one by hours or years.
FUTURE_SLACK_MS = 10 * 60_000

#: (seq, stored leaf hash or None, record bytes)
Row = tuple[int, bytes | None, bytes]


@dataclass
class Scan:
    origin: str
    first_seq: int
    end: int = 0  # tree size reached: first_seq + leaves hashed
    roots: dict[int, bytes] = field(default_factory=dict)
    revocations: list[Revocation] = field(default_factory=list)
    #: level -> hashes of the perfect subtrees completed, by index
    #: (only with keep_nodes, for a scan from seq 0)
    nodes: list[list[bytes]] = field(default_factory=list)
    #: target size -> (time in unix ms, seq) of the latest-dated record in [first_seq, size),
    #: so the judge can compare it with the receipts of the checkpoint of that size
    latest: dict[int, tuple[int, int]] = field(default_factory=dict)


def scan(origin: str, chunks: Iterable[Sequence[Row]], targets: Iterable[int], report: Report,
         first_seq: int = 0, prefix: Sequence[bytes] = (), keep_nodes: bool = False,
         progress=None, judge: Callable[[record_pb2.Record], Judgement] | None = None,
         future_ms: int | None = None) -> Scan:
    """Hash every record of ``origin`` in order and return the roots at ``targets``.

    Records must arrive sorted by seq. A missing seq is reported and the
    following records are hashed at the positions they actually occupy, so the
    roots after a gap honestly disagree with the signed ones; a repeated seq is
    reported and the repeat is not hashed. A record dated after ``future_ms``
    (the audit's clock plus its slack) is reported as ``future-record``.
    """
    result = Scan(origin, first_seq, first_seq)
    tree = merkle.CompactRange(first_seq, prefix)
    if keep_nodes:
        result.nodes = tree.new_completed()
    wanted = sorted({t for t in targets if t >= first_seq})
    if first_seq in wanted:
        result.roots[first_seq] = tree.root()
    pending = iter([t for t in wanted if t > first_seq])
    next_target = next(pending, -1)
    dated = iter([t for t in wanted if t > first_seq])
    next_dated = next(dated, -1)
    latest = (-1, -1)  # (time ms, seq) of the latest-dated record so far
    future = future_ms if future_ms is not None else -1
    sha256 = hashlib.sha256
    leaf_prefix = merkle.LEAF_PREFIX
    parse = record_pb2.Record.FromString
    revoked_kind = record_pb2.CERT_REVOKED
    problem = report.problem
    expected = first_seq  # next seq we want to see
    for chunk in chunks:
        leaves = []
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
            while next_dated != -1 and seq >= next_dated:
                result.latest[next_dated] = latest
                next_dated = next(dated, -1)
            if len(data) > MAX_RECORD_BYTES:
                problem(origin, seq, "oversized-record",
                        f"record is {len(data)} bytes, limit {MAX_RECORD_BYTES}")
            h = sha256(leaf_prefix + data).digest()
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
                else:
                    at = record.hlc >> LOGICAL_BITS
                    if at > latest[0]:
                        latest = (at, seq)
                    if at > future >= 0:
                        problem(origin, seq, "future-record",
                                f"record dated {show_ms(at)} UTC, after the audit's clock "
                                f"{show_ms(future - FUTURE_SLACK_MS)} UTC (more than "
                                f"{FUTURE_SLACK_MS // 60_000} minutes ahead)")
                    if record.kind == revoked_kind:
                        try:
                            result.revocations.append(parse_revocation(origin, record.body))
                        except Error as exc:
                            problem(origin, seq, "malformed-revocation", str(exc))
                    if judge is not None:
                        verdict = judge(record)
                        if verdict is not None:
                            problem(origin, seq, f"authority:{verdict[0]}", verdict[1])
            leaves.append(h)
            expected = seq + 1
        # Leaves occupy the tree positions they are hashed at, gaps or not; cut the
        # chunk at every target size inside it so the root is taken there.
        done = 0
        while next_target != -1 and next_target - tree.size <= len(leaves) - done:
            cut = done + next_target - tree.size
            tree.append(leaves[done:cut], result.nodes or None)
            result.roots[tree.size] = tree.root()
            done = cut
            next_target = next(pending, -1)
        tree.append(leaves[done:] if done else leaves, result.nodes or None)
        if progress is not None:
            progress(len(chunk))
    result.end = tree.size
    while next_dated != -1:
        result.latest[next_dated] = latest
        next_dated = next(dated, -1)
    return result
