"""Read a node database for the audit, opened read-only, trusting nothing beside the records.

Stored leaf hashes and tree nodes are what the node uses to hand out proofs;
the audit recomputes them and reports any stored value that differs, since a
wrong stored node would make the node hand out proofs that fail elsewhere.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509

from pki.checkpoint import parse_note
from pki.errors import EnvironmentProblem, Error, MalformedError, VerificationError
from protos.tongban.v1 import record_pb2
from sync import deliver
from sync.audit.judge import Claim, OriginInput, ReceiptRow
from sync.audit.report import ForkEvidence, Report
from sync.audit.tree import Row, Scan
from sync.certstore import parse_der
from sync.log import STORED_FROM_LEVEL
from sync.records import parse_record
from sync.trust import Verifier

CHUNK = 8192


def open_readonly(path: Path) -> sqlite3.Connection:
    """The database opened so that auditing it can change nothing, even on a read-only copy.

    ``mode=ro`` still needs to create the -shm file of a WAL database; on a
    read-only medium (a copy on a write-protected stick, a folder the auditor
    may not write) the file is opened ``immutable=1`` instead, which reads it
    as it lies. SQLite's quick check runs first: a damaged file is reported as
    such (could not run), never audited as if its unreadable pages were absent.
    """
    path = Path(path).absolute()
    writable = os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)
    wal = path.with_name(path.name + "-wal")
    if not writable and wal.exists() and wal.stat().st_size > 0:
        # immutable=1 reads the main file only: the WAL's commits would be silently missed.
        raise EnvironmentProblem(
            f"{wal} holds writes not yet in {path.name}, and a read-only copy cannot be "
            "opened with them: copy the home after stopping tongban (or audit a writable copy)")
    uri = f"{path.as_uri()}?{'mode=ro' if writable else 'immutable=1'}"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        verdict = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise EnvironmentProblem(f"cannot read {path} as a node database ({exc}): if it is "
                                 "damaged, audit a backup or the parent's copy") from exc
    if verdict != ["ok"]:
        db.close()
        raise EnvironmentProblem(f"the database {path} is damaged ({'; '.join(verdict)}): "
                                 "audit a backup or the parent's copy")
    missing = {"records", "checkpoints", "receipts"} - tables
    if missing:
        db.close()
        raise EnvironmentProblem(f"{path} is not a tongban node database: no "
                                 f"{', '.join(sorted(missing))} table")
    return db


def _has(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (table,)).fetchone() is not None


def origins(db: sqlite3.Connection) -> list[str]:
    found: set[str] = set()
    for table in ("records", "checkpoints", "receipts"):
        found.update(o for (o,) in db.execute(f"SELECT DISTINCT origin FROM {table}"))
    return sorted(found)


def held_record(db: sqlite3.Connection, origin: str, seq: int) -> bytes | None:
    """One record's bytes, from the log or else from the deliveries; None if neither."""
    row = db.execute("SELECT CAST(data AS BLOB) FROM records WHERE origin = ? AND seq = ?",
                     (origin, seq)).fetchone()
    if row is None and _has(db, "deliveries"):
        row = db.execute("SELECT CAST(record AS BLOB) FROM deliveries WHERE origin = ? AND"
                         " seq = ?", (origin, seq)).fetchone()
    return None if row is None else row[0]


def total_records(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM records").fetchone()[0]


def chunks(db: sqlite3.Connection, origin: str) -> Iterator[Sequence[Row]]:
    cursor = db.execute(
        "SELECT seq, CAST(leaf_hash AS BLOB), CAST(data AS BLOB) FROM records"
        " WHERE origin = ? ORDER BY seq", (origin,))
    while rows := cursor.fetchmany(CHUNK):
        yield rows


def checkpoint_rows(db: sqlite3.Connection, origin: str) -> list[tuple[int, bytes, bytes]]:
    return db.execute("SELECT size, CAST(root AS BLOB), CAST(note AS BLOB) FROM checkpoints"
                      " WHERE origin = ? ORDER BY size, id", (origin,)).fetchall()


def origin_input(db: sqlite3.Connection, report: Report, origin: str, scan: Scan
                 ) -> OriginInput:
    """Claims from the checkpoints table (each note covers exactly its size) and receipts."""
    item = OriginInput(origin, held=scan.end)
    for size, root, note in checkpoint_rows(db, origin):
        try:
            cp, _ = parse_note(note)
        except MalformedError:
            item.claims.append(Claim(size, scan.roots.get(size), note))
            continue
        if (cp.size, cp.root) != (size, root):
            report.problem(origin, None, "checkpoint-row",
                           f"checkpoint row says size {size} root {root.hex()[:16]}…, but its "
                           f"signed note says size {cp.size} root {cp.root.hex()[:16]}…: the "
                           "row was edited or an older note was put in its place")
        item.claims.append(Claim(cp.size, scan.roots.get(cp.size), note,
                                 latest=scan.latest.get(cp.size)))
    rows = db.execute("SELECT size, cosigner, time_ms, CAST(note AS BLOB) FROM receipts"
                      " WHERE origin = ? ORDER BY size, time_ms, id", (origin,))
    item.receipts = [ReceiptRow(size, line, cosigner, time_ms)
                     for size, cosigner, time_ms, line in rows]
    return item


def claim_sizes(db: sqlite3.Connection, origin: str) -> set[int]:
    """Every size a row or its note claims, so the scan takes a root at each."""
    sizes = set()
    for size, _, note in checkpoint_rows(db, origin):
        sizes.add(size)
        try:
            sizes.add(parse_note(note)[0].size)
        except MalformedError:
            continue
    return sizes


def compare_tree_nodes(db: sqlite3.Connection, report: Report, scan: Scan) -> None:
    """Stored perfect-subtree hashes against the recomputed ones, one level at a time.

    Every level from ``STORED_FROM_LEVEL`` up must be complete; a lower level is
    not stored since migration 3, but a database from before it (a backup, a
    copy on a stick) still holds level 1, and each of those rows must match too.
    """
    origin = scan.origin
    wrong = 0
    first = None
    top = max(scan.end.bit_length(), 1)
    for level in range(1, top + 1):
        computed = b"".join(scan.nodes[level]) if level < len(scan.nodes) else b""
        rows = db.execute("SELECT idx, hash FROM tree_nodes WHERE origin = ? AND level = ?"
                          " ORDER BY idx", (origin, level)).fetchall()
        if level < STORED_FROM_LEVEL and not rows:
            continue
        count = len(computed) // 32
        if len(rows) == count and (not rows or rows[-1][0] == count - 1) \
                and b"".join(h for _, h in rows) == computed:
            continue
        stored = dict(rows)
        for idx in range(max(count, (rows[-1][0] + 1) if rows else 0)):
            want = computed[idx * 32:(idx + 1) * 32] or None
            if stored.get(idx) != want:
                wrong += 1
                first = first or (level, idx)
    extra = db.execute("SELECT count(*) FROM tree_nodes WHERE origin = ? AND level > ?",
                       (origin, top)).fetchone()[0]
    wrong += extra
    if wrong:
        where = f"first at level {first[0]} index {first[1]}" if first else "above the tree"
        seq = first[1] << first[0] if first else None
        report.problem(origin, seq, "tree-nodes",
                       f"{wrong} stored tree nodes are missing or do not match the records "
                       f"({where}): proofs this node hands out would not verify")


def certificates(db: sqlite3.Connection, report: Report) -> list[x509.Certificate]:
    if not _has(db, "node_certs"):
        return []
    found = []
    for division, der in db.execute("SELECT division, CAST(der AS BLOB) FROM node_certs"):
        try:
            found.extend(parse_der([der], f"stored certificate of {division}"))
        except MalformedError as exc:
            report.problem(division, None, "certificate", str(exc))
    return found


def fork_rows(db: sqlite3.Connection, report: Report) -> None:
    """Forks the receiver caught and refused are evidence the auditor must see too."""
    if not _has(db, "forks"):
        return
    for origin, size, held_root, held_note, presented in db.execute(
            "SELECT origin, size, held_root, held_note, presented_note FROM forks ORDER BY id"):
        held = (held_note or b"").decode("utf-8", "replace") or \
            f"(no note held; the held log has root {held_root.hex()} at size {size})"
        report.forks.append(ForkEvidence(origin, size, (held, presented.decode(
            "utf-8", "replace")), "forks table"))
        report.problem(origin, size, "fork",
                       f"the receiver recorded a checkpoint of {origin} at size {size} that "
                       "disagrees with the log held (forks table; both notes printed)")


def delivered(db: sqlite3.Connection, report: Report, verifier: Verifier, now: datetime
              ) -> Iterator[record_pb2.Record]:
    """The records delivered here from logs this node does not hold that verify
    (sync.deliver.proven); each that does not is reported."""
    if not _has(db, "deliveries"):
        return
    for origin, seq, data, note, proof in db.execute(
            "SELECT origin, seq, CAST(record AS BLOB), CAST(checkpoint AS BLOB),"
            " CAST(proof AS BLOB) FROM deliveries ORDER BY origin, seq"):
        try:
            record = parse_record(data)
            if (record.origin, record.seq) != (origin, seq):
                raise VerificationError(f"the record claims {record.origin}#{record.seq}")
            deliver.proven(verifier, record, data, note, deliver.split_proof(proof), now)
        except Error as exc:
            report.problem(origin, seq, "delivery", f"delivered record {origin}#{seq}: {exc}")
            continue
        yield record
