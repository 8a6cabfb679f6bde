"""The per-origin append-only logs, with their RFC 9162 trees, in the node's SQLite file.

The log tables are the truth every projection is rebuilt from, so this module
stores record bytes verbatim and never re-serialises them. Beside each record
it keeps the leaf hash, and beside the records every perfect subtree hash
they complete from level ``STORED_FROM_LEVEL`` up (``tree_nodes``): roots and
proofs of any size are then O(log N) point reads instead of a rehash of the
log. A level-1 node is one hash of two stored leaf hashes, so it is computed
when read rather than stored (half of all nodes, 26 B a record).

The caller owns transactions. LogStore never begins, commits or rolls back,
and keeps no state between calls (the right edge, a merkle.CompactRange, is read
afresh on each append), so a caller's rollback can never leave it out of step with the
file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from pki.division import validate
from pki.errors import EnvironmentProblem, InputError
from sync import merkle

_SCHEMA = (
    # Record bytes can run to kilobytes, past what an index b-tree keeps inline,
    # so records keep a rowid table; the (origin, seq) key is its unique index.
    """CREATE TABLE IF NOT EXISTS records (
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 0),
        leaf_hash BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (origin, seq)
    )""",
    # Small fixed-size rows read by exact key: clustered on the key, no rowid.
    """CREATE TABLE IF NOT EXISTS tree_nodes (
        origin TEXT NOT NULL,
        level INTEGER NOT NULL CHECK (level >= 1),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        hash BLOB NOT NULL,
        PRIMARY KEY (origin, level, idx)
    ) WITHOUT ROWID""",
    # The rowid orders notes stored for the same size (first stored wins).
    """CREATE TABLE IF NOT EXISTS checkpoints (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL,
        note BLOB NOT NULL,
        UNIQUE (origin, size, note)
    )""",
    """CREATE TABLE IF NOT EXISTS receipts (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        cosigner TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        note BLOB NOT NULL,
        UNIQUE (origin, size, cosigner, note)
    )""",
)

# GROUP BY would scan every record; this skips from one origin to the next and
# reads each one's last seq, so it costs O(origins * log N).
_SIZES = """
    WITH RECURSIVE o(origin) AS (
        SELECT min(origin) FROM records
        UNION ALL
        SELECT (SELECT min(origin) FROM records WHERE origin > o.origin) FROM o
        WHERE o.origin IS NOT NULL
    )
    SELECT origin, (SELECT max(seq) FROM records WHERE records.origin = o.origin) + 1
    FROM o WHERE origin IS NOT NULL
"""


#: The lowest tree level kept in ``tree_nodes``; level 0 is the records' leaf hashes and
#: level 1 is computed from them. Databases before migration 3 also hold level 1.
STORED_FROM_LEVEL = 2


class LogError(InputError):
    """A request the stored logs cannot satisfy: a gap, an overlap, a range not held."""


@dataclass(frozen=True)
class Checkpointed:
    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True)
class Receipted:
    origin: str
    size: int
    cosigner: str
    time_ms: int
    note: bytes


class LogStore:
    """Per-origin append-only logs with their RFC 9162 trees, in the node's SQLite file."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @staticmethod
    def migrate(db: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            db.execute(statement)

    # --- records ------------------------------------------------------------------------------

    def size(self, origin: str) -> int:
        (last,) = self._db.execute(
            "SELECT max(seq) FROM records WHERE origin = ?", (origin,)).fetchone()
        return 0 if last is None else last + 1

    def sizes(self) -> dict[str, int]:
        return dict(self._db.execute(_SIZES).fetchall())

    def append(self, origin: str, first_seq: int, records: Sequence[bytes]) -> list[bytes]:
        """Store records at first_seq.. and the subtree hashes they complete; return leaf hashes.

        Refuses anything but the exact continuation of the stored log, before
        writing anything: re-sending or skipping records is the sync layer's
        business to detect, not something to paper over here.
        """
        validate(origin)
        size = self.size(origin)
        if first_seq != size:
            raise LogError(f"log of {origin}: got records starting at seq {first_seq}, "
                           f"want {size} (the stored size)")
        if not records:
            return []
        tree = self._compact_range(origin, size)
        leaves = merkle.leaf_hashes(records)
        completed = tree.new_completed()
        tree.append(leaves, completed)
        self._db.executemany(
            "INSERT INTO records (origin, seq, leaf_hash, data) VALUES (?, ?, ?, ?)",
            [(origin, size + i, leaf, data)
             for i, (leaf, data) in enumerate(zip(leaves, records, strict=True))])
        self._db.executemany(
            "INSERT INTO tree_nodes (origin, level, idx, hash) VALUES (?, ?, ?, ?)",
            [(origin, level, (size >> level) + i, h)
             for level, hashes in enumerate(completed) if level >= STORED_FROM_LEVEL
             for i, h in enumerate(hashes)])
        return leaves

    def _compact_range(self, origin: str, size: int) -> merkle.CompactRange:
        """The perfect subtrees that tile [0, size), one per set bit, for the next append.

        Each is the last stored node of its level, so one query fetches them all;
        those below ``STORED_FROM_LEVEL`` are hashed from the last few leaf hashes.
        The origin is repeated inside every OR term on purpose: factored out,
        SQLite scans the whole origin instead of doing one key lookup per term.
        """
        levels = [lvl for lvl in range(STORED_FROM_LEVEL, size.bit_length()) if size >> lvl & 1]
        found = {}
        if levels:
            where = " OR ".join(["(origin = ? AND level = ? AND idx = ?)"] * len(levels))
            params = [p for lvl in levels for p in (origin, lvl, (size >> lvl) - 1)]
            found = dict(self._db.execute(
                f"SELECT level, hash FROM tree_nodes WHERE {where}", params).fetchall())
        low = size & ((1 << STORED_FROM_LEVEL) - 1)  # the right edge below the stored levels
        if low:
            leaves = self._leaf_hashes(origin, size - low, size)
            start = 0
            for lvl in reversed(range(STORED_FROM_LEVEL)):
                if size >> lvl & 1:
                    levels.append(lvl)
                    width = 1 << lvl
                    if len(leaves) == low:
                        found[lvl] = merkle.hash_tree(leaves[start:start + width])
                    start += width
        if len(found) != len(levels):
            raise EnvironmentProblem(f"log of {origin} is damaged: tree nodes missing at "
                                     f"the right edge of size {size}")
        return merkle.CompactRange(size, [found[lvl] for lvl in sorted(found, reverse=True)])

    def record(self, origin: str, seq: int) -> bytes:
        row = self._db.execute(
            "SELECT data FROM records WHERE origin = ? AND seq = ?", (origin, seq)).fetchone()
        if row is None:
            raise LogError(f"log of {origin}: no record at seq {seq} "
                           f"(want 0 <= seq < {self.size(origin)})")
        return row[0]

    def records(self, origin: str, start: int, end: int) -> list[bytes]:
        """Records [start, end), all of them or an error: a short list would pass for a full one."""
        rows = []
        if 0 <= start <= end:
            rows = self._db.execute(
                "SELECT data FROM records WHERE origin = ? AND seq >= ? AND seq < ? ORDER BY seq",
                (origin, start, end)).fetchall()
        if not 0 <= start <= end or len(rows) != end - start:
            raise LogError(f"log of {origin}: got range [{start}, {end}), "
                           f"want 0 <= start <= end <= {self.size(origin)}")
        return [data for (data,) in rows]

    def records_at(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        """The held records among ``keys`` (origin, seq), in one query; absent keys are left out.

        For bulk readers (rebuild, a case's history): one statement per chunk instead
        of one per record. Callers keep chunks to a few thousand keys, two parameters each.
        The keys are joined as a table (CROSS JOIN: index lookups in key order) because
        a row-value IN list makes SQLite scan every record.
        """
        if not keys:
            return {}
        rows = self._db.execute(
            f"WITH k(origin, seq) AS (VALUES {', '.join(['(?, ?)'] * len(keys))})"
            " SELECT k.origin, k.seq, t.data FROM k CROSS JOIN records t"
            " ON t.origin = k.origin AND t.seq = k.seq",
            [part for key in keys for part in key]).fetchall()
        return {(origin, seq): data for origin, seq, data in rows}

    def payload_bytes(self, origin: str, start: int) -> int:
        """Bytes of ``origin``'s records from seq ``start`` on: what is still to send."""
        (total,) = self._db.execute(
            "SELECT coalesce(sum(length(data)), 0) FROM records WHERE origin = ? AND seq >= ?",
            (origin, start)).fetchone()
        return total

    def _leaf_hashes(self, origin: str, start: int, end: int) -> list[bytes]:
        """The stored leaf hashes of [start, end), in order (fewer if some are missing)."""
        return [h for (h,) in self._db.execute(
            "SELECT leaf_hash FROM records WHERE origin = ? AND seq >= ? AND seq < ?"
            " ORDER BY seq", (origin, start, end))]

    def leaf_hash(self, origin: str, seq: int) -> bytes:
        row = self._db.execute(
            "SELECT leaf_hash FROM records WHERE origin = ? AND seq = ?",
            (origin, seq)).fetchone()
        if row is None:
            raise LogError(f"log of {origin}: no record at seq {seq} "
                           f"(want 0 <= seq < {self.size(origin)})")
        return row[0]

    # --- tree ---------------------------------------------------------------------------------

    def _get_node(self, origin: str) -> merkle.GetNode:
        execute = self._db.execute

        def get_node(level: int, idx: int) -> bytes:
            if level == 0:
                row = execute("SELECT leaf_hash FROM records WHERE origin = ? AND seq = ?",
                              (origin, idx)).fetchone()
            elif level < STORED_FROM_LEVEL:
                leaves = self._leaf_hashes(origin, idx << level, (idx + 1) << level)
                row = (merkle.hash_tree(leaves),) if len(leaves) == 1 << level else None
            else:
                row = execute(
                    "SELECT hash FROM tree_nodes WHERE origin = ? AND level = ? AND idx = ?",
                    (origin, level, idx)).fetchone()
            if row is None:
                raise EnvironmentProblem(f"log of {origin} is damaged: "
                                         f"no tree node at level {level}, index {idx}")
            return row[0]

        return get_node

    def _require_held(self, origin: str, size: int) -> None:
        held = self.size(origin)
        if size > held:
            raise LogError(f"log of {origin}: got tree size {size}, want <= {held} "
                           "(the stored size)")

    def tree_node(self, origin: str, level: int, idx: int) -> bytes:
        """A stored perfect subtree hash (level 0 = leaf), for proofs built outside the store."""
        if level < 0 or idx < 0:
            raise LogError(f"log of {origin}: got tree node ({level}, {idx}), want both >= 0")
        self._require_held(origin, (idx + 1) << level)
        return self._get_node(origin)(level, idx)

    def root(self, origin: str, size: int | None = None) -> bytes:
        """Root of the first ``size`` records (default all); O(log N) reads."""
        if size is None:
            size = self.size(origin)
        else:
            self._require_held(origin, size)
        return merkle.root(size, self._get_node(origin))

    def inclusion_proof(self, origin: str, index: int, size: int) -> list[bytes]:
        self._require_held(origin, size)
        return merkle.inclusion_proof(index, size, self._get_node(origin))

    def consistency_proof(self, origin: str, size1: int, size2: int) -> list[bytes]:
        self._require_held(origin, size2)
        return merkle.consistency_proof(size1, size2, self._get_node(origin))

    # --- checkpoints and receipts ---------------------------------------------------------------

    def add_checkpoint(self, origin: str, size: int, root: bytes, note: bytes) -> None:
        """Keep a signed checkpoint note; storing the same note again is a no-op.

        Several notes may share (origin, size): re-signed with a rotated key, or
        two roots for one size, which is the fork evidence an auditor needs.
        """
        validate(origin)
        if size < 0 or len(root) != merkle.HASH_SIZE:
            raise LogError(f"checkpoint of {origin}: got size {size} and a {len(root)}-byte "
                           f"root, want size >= 0 and a {merkle.HASH_SIZE}-byte root")
        inserted = self._db.execute(
            "INSERT INTO checkpoints (origin, size, root, note) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (origin, size, note) DO NOTHING", (origin, size, root, note)).rowcount
        if not inserted:
            (stored,) = self._db.execute(
                "SELECT root FROM checkpoints WHERE origin = ? AND size = ? AND note = ?",
                (origin, size, note)).fetchone()
            if stored != root:
                raise LogError(f"checkpoint of {origin} at size {size}: got root {root.hex()} "
                               f"for a note stored with root {stored.hex()}")

    def latest_checkpoint(self, origin: str) -> Checkpointed | None:
        """The checkpoint of the highest size; among notes for that size, the first stored."""
        row = self._db.execute(
            "SELECT origin, size, root, note FROM checkpoints WHERE origin = ?"
            " ORDER BY size DESC, id LIMIT 1", (origin,)).fetchone()
        return None if row is None else Checkpointed(*row)

    def checkpoints(self, origin: str) -> list[Checkpointed]:
        rows = self._db.execute(
            "SELECT origin, size, root, note FROM checkpoints WHERE origin = ?"
            " ORDER BY size, id", (origin,)).fetchall()
        return [Checkpointed(*row) for row in rows]

    def add_receipt(self, origin: str, size: int, cosigner: str, time_ms: int,
                    note: bytes) -> None:
        """Keep a cosigner's receipt for a checkpoint; storing the same note again is a no-op."""
        validate(origin)
        if size < 0 or not cosigner:
            raise LogError(f"receipt for {origin}: got size {size} and cosigner {cosigner!r}, "
                           "want size >= 0 and a cosigner name")
        inserted = self._db.execute(
            "INSERT INTO receipts (origin, size, cosigner, time_ms, note) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (origin, size, cosigner, note) DO NOTHING",
            (origin, size, cosigner, time_ms, note)).rowcount
        if not inserted:
            (stored,) = self._db.execute(
                "SELECT time_ms FROM receipts WHERE origin = ? AND size = ? AND cosigner = ?"
                " AND note = ?", (origin, size, cosigner, note)).fetchone()
            if stored != time_ms:
                raise LogError(f"receipt by {cosigner} for {origin} at size {size}: got time "
                               f"{time_ms} ms for a note stored with time {stored} ms")

    def receipts(self, origin: str, size: int | None = None) -> list[Receipted]:
        """Receipts for origin (or one size of it), ascending by size then time."""
        query = "SELECT origin, size, cosigner, time_ms, note FROM receipts WHERE origin = ?"
        params: tuple[object, ...] = (origin,)
        if size is not None:
            query += " AND size = ?"
            params += (size,)
        rows = self._db.execute(query + " ORDER BY size, time_ms, id", params).fetchall()
        return [Receipted(*row) for row in rows]

    def latest_receipt(self, origin: str, cosigner: str | None = None) -> Receipted | None:
        """The receipt of the highest size (by cosigner, if given); the latest time breaks ties."""
        query = "SELECT origin, size, cosigner, time_ms, note FROM receipts WHERE origin = ?"
        params: tuple[object, ...] = (origin,)
        if cosigner is not None:
            query += " AND cosigner = ?"
            params += (cosigner,)
        row = self._db.execute(
            query + " ORDER BY size DESC, time_ms DESC, id DESC LIMIT 1", params).fetchone()
        return None if row is None else Receipted(*row)
