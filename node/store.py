"""The node store: the one place where records are written.

Every state change goes through ``NodeStore.write``: in a single SQLite
transaction the records are built, projected (which is where domain rules
refuse bad input) and appended to the log, and the commit is fsync'd. If any
step raises, nothing is written. Checkpoints are signed at a cadence
(``_checkpoint_due``), not per write: a county writing one clerk action per
transaction would otherwise store a 180-byte signed note per record and make
its auditor check a signature per record. The unsigned tail is as durable as
the rest; ``ensure_checkpoint`` signs it before records leave the node (uplink
exchange, bundle export) or a proof is made. Foreign records (replicated from other nodes)
enter through ``ingest`` after the sync layer has verified them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from node import clock, projection
from node.db import connect
from node.home import Config, Home
from pki.checkpoint import CheckpointSigner
from protos.tongban.v1 import record_pb2
from sync import certstore, deliver, receive
from sync.log import LogStore
from sync.records import HybridClock, build_record, hlc_ms, parse_record

SCHEMA_VERSION = 1

#: A write signs a new checkpoint when the newest one is this old (by the HLC of the last
#: record it covers) or leaves this many records unsigned: at most one per minute of
#: steady writing, yet never a tail longer than one batch's worth.
CHECKPOINT_INTERVAL_MS = 60_000
CHECKPOINT_MAX_UNSIGNED = 10_000

#: Kinds written by the thousand (case work) wait for the cadence; every other kind
#: (catalogue, calendar, certificates, revocations, licences, seals, notices) is rare,
#: may be pulled by children or proven at once, and is signed with its own write.
_CADENCED_KINDS = frozenset({
    record_pb2.CASE_EVENT, record_pb2.EVALUATION, record_pb2.EVALUATION_FOLLOW_UP,
})


@dataclass(frozen=True)
class Draft:
    """A record the caller wants written; the store assigns seq and time.

    ``make_body`` receives the assigned seq and HLC so that a body can embed
    values derived from them (a case number) without a second round trip.
    """

    kind: int
    make_body: Callable[[int, int], bytes]
    recipient: str = ""


def migrate(db: sqlite3.Connection) -> None:
    """Numbered migrations of the truth tables; projections are recreated by rebuild."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version < 1:
        LogStore.migrate(db)
        db.execute(
            "CREATE TABLE IF NOT EXISTS arrivals ("
            " n INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL)"
        )
        certstore.migrate(db)
        receive.migrate(db)
        deliver.migrate(db)
        db.execute("CREATE TABLE IF NOT EXISTS projection_schema (version INTEGER NOT NULL)")
        projection.create_tables(db)
        projection.create_indexes(db)
        db.execute("INSERT INTO projection_schema VALUES (?)", (projection.SCHEMA,))
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class NodeStore:
    def __init__(self, home: Home, config: Config, db: sqlite3.Connection) -> None:
        self.home = home
        self.config = config
        self.db = db
        self.log = LogStore(db)
        self.clock = HybridClock(self._last_hlc())
        self._signer: CheckpointSigner | None = None

    @classmethod
    def open(cls, home: Home) -> NodeStore:
        config = home.load_config()
        db = connect(home.db_path)
        migrate(db)
        store = cls(home, config, db)
        (built,) = db.execute("SELECT version FROM projection_schema").fetchone()
        if built != projection.SCHEMA:
            store.rebuild()  # projections are derived: a new layout is rebuilt from the log
        return store

    @property
    def division(self) -> str:
        return self.config.division

    def close(self) -> None:
        self.db.close()

    def _last_hlc(self) -> int:
        size = self.log.size(self.division)
        if size == 0:
            return 0
        return parse_record(self.log.record(self.division, size - 1)).hlc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def write(self, drafts: Sequence[Draft], *, wall_ms: int | None = None) -> list[bytes]:
        """Append drafts to the own log and project them, all or nothing; sign when due."""
        with self.transaction():
            return self._write_locked(drafts, wall_ms)

    def _write_locked(self, drafts: Sequence[Draft], wall_ms: int | None) -> list[bytes]:
        saved_clock = self.clock.last
        try:
            origin = self.division
            first_seq = self.log.size(origin)
            projector = projection.Projector(self.db)
            now_ms = clock.wall_ms() if wall_ms is None else wall_ms
            records = []
            for offset, draft in enumerate(drafts):
                seq = first_seq + offset
                hlc = self.clock.tick(now_ms)
                data = build_record(origin, seq, hlc, draft.kind, draft.make_body(seq, hlc),
                                    draft.recipient)
                projector.apply(parse_record(data))
                records.append(data)
            projector.flush()
            self.log.append(origin, first_seq, records)
            self._note_arrivals(origin, first_seq, len(records))
            if self._checkpoint_due(drafts, now_ms):
                self._sign_checkpoint()
            return records
        except BaseException:
            self.clock.last = saved_clock
            raise

    def _note_arrivals(self, origin: str, first_seq: int, count: int) -> None:
        self.db.executemany(
            "INSERT INTO arrivals (origin, seq) VALUES (?, ?)",
            [(origin, first_seq + i) for i in range(count)],
        )

    def signer(self) -> CheckpointSigner:
        """The signer for the key that matches the installed certificate, loaded once
        (see ``Home.signing_key`` for the key rotation case)."""
        if self._signer is None:
            self._signer = CheckpointSigner(self.home.signing_key(), self.division)
        return self._signer

    def _checkpoint_due(self, drafts: Sequence[Draft], now_ms: int) -> bool:
        if any(d.kind not in _CADENCED_KINDS or d.recipient for d in drafts):
            return True
        previous = self.log.latest_checkpoint(self.division)
        if previous is None or previous.size == 0:
            return True
        if self.log.size(self.division) - previous.size >= CHECKPOINT_MAX_UNSIGNED:
            return True
        last_signed = parse_record(self.log.record(self.division, previous.size - 1))
        return now_ms - hlc_ms(last_signed.hlc) >= CHECKPOINT_INTERVAL_MS

    def ensure_checkpoint(self) -> int:
        """Sign the unsigned tail of the own log, if any; returns the signed size.

        Called before records leave the node (the uplink, through
        StoreHost.sign_own_tail; bundle export) or a proof is made. Takes its
        own write transaction, so the caller must not hold one.
        """
        if not self._unsigned():
            return self.log.size(self.division)  # the common case takes no write lock
        with self.transaction():
            if self._unsigned():
                self._sign_checkpoint()
            return self.log.size(self.division)

    def _unsigned(self) -> bool:
        previous = self.log.latest_checkpoint(self.division)
        size = self.log.size(self.division)
        return size > 0 and (previous is None or previous.size < size)

    def _sign_checkpoint(self) -> None:
        origin = self.division
        size = self.log.size(origin)
        root = self.log.root(origin, size)
        previous = self.log.latest_checkpoint(origin)
        signer = self.signer()
        if previous is None:
            note = signer.sign(size, root, None, None)
        else:
            note = signer.sign(size, root, (previous.size, previous.root),
                               self.log.root(origin, previous.size))
        self.log.add_checkpoint(origin, size, root, note)

    def ingest(self, origin: str, first_seq: int, records: Sequence[bytes]) -> None:
        """Store and project verified foreign records; the caller holds the transaction."""
        projector = projection.Projector(self.db, strict=False)
        for data in records:
            record = parse_record(data)
            self.clock.observe(record.hlc)
            projector.apply(record)
        projector.flush()
        self.log.append(origin, first_seq, records)
        self._note_arrivals(origin, first_seq, len(records))

    def ingest_delivery(self, origin: str, seq: int, data: bytes) -> None:
        """Project a verified delivered record (kept by sync.deliver); caller holds the txn."""
        projector = projection.Projector(self.db, strict=False)
        record = parse_record(data)
        self.clock.observe(record.hlc)
        projector.apply(record)
        projector.flush()
        self._note_arrivals(origin, seq, 1)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop and recreate every projection from the log in arrival order."""
        with self.transaction():
            projection.drop_tables(self.db)
            projection.create_tables(self.db)
            projector = projection.Projector(self.db, strict=False, from_empty=True)
            total = self.db.execute("SELECT count(*) FROM arrivals").fetchone()[0]
            cursor = self.db.execute(
                "SELECT coalesce(r.data, d.record) FROM arrivals a"
                " LEFT JOIN records r ON r.origin = a.origin AND r.seq = a.seq"
                " LEFT JOIN deliveries d ON d.origin = a.origin AND d.seq = a.seq ORDER BY a.n"
            )
            done = 0
            while batch := cursor.fetchmany(5000):
                for (data,) in batch:
                    projector.apply(parse_record(data))
                projector.flush()
                done += len(batch)
                if progress:
                    progress(done, total)
            projection.create_indexes(self.db)
            self.db.execute("UPDATE projection_schema SET version = ?", (projection.SCHEMA,))
            return done
