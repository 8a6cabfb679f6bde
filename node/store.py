"""The node store: the one place where records are written.

Every state change goes through ``NodeStore.write``: in a single SQLite
transaction the records are built (their text checked, node.text), checked
against the one size limit every receiver applies, judged by the authority
table and projected (which is where domain rules refuse bad input), appended
to the log, and the commit is fsync'd. If any step raises, nothing is written.
A home whose configured division is not its certificate's writes nothing at
all. Checkpoints are signed at a cadence (``_checkpoint_due``), not per write:
a county writing one clerk action per transaction would otherwise store a
180-byte signed note per record and make its auditor check a signature per
record. The unsigned tail is as durable as the rest; ``ensure_checkpoint``
signs it before records leave the node (uplink exchange, bundle export) or a
proof is made. Foreign records (replicated from other nodes) enter through
``ingest`` after the sync layer has verified them.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from node import arrivals, clock, clock_guard, log_guard, projection
from node.authority import AuthorityViolation
from node.db import connect, connect_reader, snapshot
from node.home import Config, Home
from node.text import check_record_text
from pki.certs import division_of
from pki.checkpoint import CheckpointSigner
from pki.errors import EnvironmentProblem, InputError
from protos.tongban.v1 import record_pb2
from sync import certstore, deliver, receive
from sync.log import STORED_FROM_LEVEL, LogError, LogStore
from sync.records import LOGICAL_BITS, HybridClock, hlc_ms, parse_record, record_message

#: 1: log, arrivals, certificates, quarantine, deliveries, projections; 2: log_guard,
#: clock_flags; 3: tree nodes below sync.log.STORED_FROM_LEVEL dropped (computed when read)
SCHEMA_VERSION = 3
#: Records projected between flushes (and progress calls) in a rebuild.
_REBUILD_FLUSH = 5000
#: The bytes of every record in arrival order, from the log or else from deliveries (as
#: deliver.held_records finds them), in one streamed statement: a rebuild reads them all,
#: and a query per chunk of keys cost it 0.6 µs a record more. The log is joined (a
#: correlated subquery for it cost 0.3 µs a record more); deliveries, which few records
#: come from, are asked only when the log lacks the record (coalesce stops at the first).
_ARRIVED_RECORDS = (
    "SELECT a.origin, a.seq, coalesce(r.data,"
    " (SELECT record FROM deliveries d WHERE d.origin = a.origin AND d.seq = a.seq))"
    " FROM arrivals a LEFT JOIN records r ON r.origin = a.origin AND r.seq = a.seq"
    " ORDER BY a.n")
#: Allocations between the cyclic collector's youngest passes during a rebuild (Python's
#: default is 700; see ``_fewer_collections``).
_REBUILD_GC_THRESHOLD = 100_000

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

    kind: record_pb2.Kind
    make_body: Callable[[int, int], bytes]
    recipient: str = ""

    @classmethod
    def of_body(cls, kind: record_pb2.Kind, body: bytes, recipient: str = "") -> Draft:
        """A draft whose body is ready before its seq is known (most kinds)."""
        return cls(kind, lambda _seq, _hlc: body, recipient)


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def refuse_newer(version: int, what: str) -> None:
    """A database from a newer tongban is never opened: its layout is not ours to rebuild."""
    if version > SCHEMA_VERSION:
        raise EnvironmentProblem(
            f"{what} is from a newer tongban (database version {version}, this program knows "
            f"up to {SCHEMA_VERSION}): run that version, or restore a backup made by this "
            "one; nothing changed")


def migrate(db: sqlite3.Connection) -> None:
    """Numbered migrations of the truth tables, all in one transaction; projections are
    recreated by rebuild. Refuses a database from a newer version."""
    version = schema_version(db)
    refuse_newer(version, "node.db")
    if version == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        _migrate_from(db, version)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrate_from(db: sqlite3.Connection, version: int) -> None:
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
    if version < 2:
        log_guard.migrate(db)
        clock_guard.migrate(db)
    if version < 3:
        db.execute("DELETE FROM tree_nodes WHERE level < ?", (STORED_FROM_LEVEL,))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _backup_before_migration(home: Home, db: sqlite3.Connection,
                             progress: Callable[[str], None]) -> None:
    """A migration of existing data starts with a full copy beside node.db."""
    version = schema_version(db)
    if not 1 <= version < SCHEMA_VERSION:
        return
    target = home.path / f"node.db.v{version}-{time.strftime('%Y%m%d%H%M%S')}.bak"
    progress(f"migrating {home.db_path} from version {version} to {SCHEMA_VERSION}: "
             f"backing up to {target} first")
    snapshot(db, target)
    progress(f"backup written; migrating to version {SCHEMA_VERSION}")


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for a while: a rebuild keeps its cases
    in memory and allocates a few objects a record, none of them in a cycle, so at the
    default threshold the collector keeps walking the case cache for nothing (4 µs a
    record, an eighth of a rebuild). Reference counting frees as always, and cycles made
    meanwhile wait for at most ``_REBUILD_GC_THRESHOLD`` allocations."""
    saved = gc.get_threshold()
    gc.set_threshold(_REBUILD_GC_THRESHOLD, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class NodeStore:
    def __init__(self, home: Home, config: Config, db: sqlite3.Connection) -> None:
        self.home = home
        self.config = config
        self.db = db
        self.log = LogStore(db)
        self.clock = HybridClock(self._last_hlc())
        self.clock_bounds = clock_guard.bounds(config)
        self._signer: CheckpointSigner | None = None
        self._identity_checked = False
        self._readers: list[sqlite3.Connection] = []
        #: the size ``log-started`` holds, as far as this process knows (0: read it first)
        self._marked = 0
        #: the projector of the last own write and the database's change marks when it
        #: committed (``_own_projector``)
        self._projector: projection.Projector | None = None
        self._projected_at: tuple[int, int] | None = None

    @classmethod
    def open(cls, home: Home, progress: Callable[[str], None] = _stderr) -> NodeStore:
        """Open (and migrate, after a backup) the home's database; refuses a newer one."""
        config = home.load_config()
        db = connect(home.db_path)
        try:
            refuse_newer(schema_version(db), str(home.db_path))
            _backup_before_migration(home, db, progress)
            migrate(db)
            (built,) = db.execute("SELECT version FROM projection_schema").fetchone()
            if built > projection.SCHEMA:
                raise EnvironmentProblem(
                    f"{home.db_path} has projections of a newer tongban (layout {built}, this "
                    f"program knows up to {projection.SCHEMA}): run that version; nothing "
                    "changed")
        except BaseException:
            db.close()
            raise
        store = cls(home, config, db)
        if built != projection.SCHEMA:
            store.rebuild()  # projections are derived: a new layout is rebuilt from the log
        # a home from before the marker, or killed right after a commit; best effort, since
        # a read-only home must stay readable (its next write is refused anyway)
        with contextlib.suppress(EnvironmentProblem):
            store._note_size()
        return store

    @property
    def division(self) -> str:
        return self.config.division

    def reader(self) -> sqlite3.Connection:
        """A read-only connection to this store's database (the servicer's snapshots, one
        per thread); closed with the store."""
        db = connect_reader(self.home.db_path)
        self._readers.append(db)
        return db

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers.clear()
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
        """Append drafts to the own log and project them, all or nothing; sign when due.

        Refused (nothing written) while the node's key has signed more of its log
        than node.db holds (node.log_guard) or when the wall clock cannot be right
        (node.clock_guard).
        """
        try:
            with self.transaction():
                records = self._write_locked(drafts, wall_ms)
                # read while BEGIN IMMEDIATE still holds the write lock: another connection
                # committing right after our COMMIT must then count as a change
                marks = self._changes()
        except BaseException:
            self._projector = None  # it saw what was rolled back
            raise
        self._projected_at = marks
        if records:
            self._note_size()
        return records

    def _changes(self) -> tuple[int, int]:
        """Marks that move with every change to the database: this connection's rows
        changed, and ``data_version``, which moves with every other connection's commit."""
        return self.db.total_changes, self.db.execute("PRAGMA data_version").fetchone()[0]

    def _own_projector(self) -> projection.Projector:
        """The last write's projector while nothing has changed the database since it
        committed: its cases, staff and calendars are then still what the tables hold, so
        a batch does not read back the cases the one before it wrote (a third of them in a
        county's steady writing). Anything else written, here or by another process,
        starts a fresh one; the store's other projections (ingest, rebuild) drop it too."""
        if self._projector is None or self._changes() != self._projected_at:
            self._projector = projection.Projector(self.db, self.division)
        else:
            self._projector.next_batch()
        return self._projector

    def _note_size(self) -> None:
        """Keep ``log-started`` at the own log's committed size (node.log_guard)."""
        size = self.log.size(self.division)
        if size > self._marked:
            log_guard.note_size(self.home, self.division, size)
            self._marked = size

    def _check_clock(self, origin: str, size: int, now_ms: int) -> None:
        clock_guard.check_drill(self.log.latest_receipt(origin) is not None, self.clock_bounds)
        newest = hlc_ms(parse_record(self.log.record(origin, size - 1)).hlc) if size else None
        clock_guard.check_wall(now_ms, newest, self.clock_bounds)

    def _check_identity(self) -> None:
        """The configured division must be the certificate's: records are signed with its key."""
        if self._identity_checked or not self.home.cert_path.exists():
            return  # before enrolment there is no certificate, and nothing leaves the node
        certified = division_of(self.home.cert_chain().cert)
        if certified != self.division:
            raise AuthorityViolation(
                "home-division", f"tongban.toml says division {self.division}, but node.crt "
                f"is {certified}'s; records of {self.division} signed with {certified}'s key "
                f"would be refused everywhere: set [node] division = \"{certified}\"")
        self._identity_checked = True

    def _write_locked(self, drafts: Sequence[Draft], wall_ms: int | None) -> list[bytes]:
        saved_clock = self.clock.last
        try:
            self._check_identity()
            origin = self.division
            log_guard.check_writable(self.home, self.db, origin)
            first_seq = self.log.size(origin)
            projector = self._own_projector()
            now_ms = clock.wall_ms() if wall_ms is None else wall_ms
            self._check_clock(origin, first_seq, now_ms)
            records = []
            for offset, draft in enumerate(drafts):
                seq = first_seq + offset
                hlc = self.clock.tick(now_ms)
                body = draft.make_body(seq, hlc)
                check_record_text(draft.kind, body)
                record = record_message(origin, seq, hlc, draft.kind, body, draft.recipient)
                data = record.SerializeToString()
                if len(data) > receive.MAX_RECORD_BYTES:
                    raise InputError(f"record {origin}#{seq} would be {len(data)} bytes; every "
                                     f"receiver refuses records over {receive.MAX_RECORD_BYTES}"
                                     " bytes, so it would block this node's sync: shorten it")
                projector.apply(record)
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

    def forget_signer(self) -> None:
        """After a new certificate is installed: the next checkpoint loads the matching key."""
        self._signer = None

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
        self._projector = None  # what it remembers may change here (_own_projector)
        projector = projection.Projector(self.db, self.division, strict=False)
        for data in records:
            record = parse_record(data)
            self._observe(record)
            projector.apply(record)
        projector.flush()
        self.log.append(origin, first_seq, records)
        self._note_arrivals(origin, first_seq, len(records))

    def ingest_delivery(self, origin: str, seq: int, data: bytes) -> None:
        """Project a verified delivered record (kept by sync.deliver); caller holds the txn."""
        self._projector = None
        projector = projection.Projector(self.db, self.division, strict=False)
        record = parse_record(data)
        self._observe(record)
        projector.apply(record)
        projector.flush()
        self._note_arrivals(origin, seq, 1)
        arrivals.note(self.db, record, self.division, clock.wall_ms())

    def _observe(self, record) -> None:
        """Let a received record move the clock, at most ``[clock] ahead_minutes`` past now."""
        now_ms = clock.wall_ms()
        ceiling = (now_ms + self.clock_bounds.ahead_ms) << LOGICAL_BITS
        if not self.clock.observe(record.hlc, ceiling):
            clock_guard.flag(self.db, record.origin, record.seq, hlc_ms(record.hlc),
                             record.hlc, now_ms)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop and recreate every projection from the log in arrival order."""
        self._projector = None
        with _fewer_collections(), self.transaction():
            projection.drop_tables(self.db)
            projection.create_tables(self.db)
            done = self._replay(progress)
            projection.create_indexes(self.db)
            self.db.execute("UPDATE projection_schema SET version = ?", (projection.SCHEMA,))
            return done

    def _replay(self, progress: Callable[[int, int], None] | None) -> int:
        """Project every arrived record into the empty tables. Its own function so that the
        projector and its case cache are freed before ``_fewer_collections`` ends: the
        collector's first pass at the default threshold would walk them all (0.2-0.4 µs a
        record on bench_node's county)."""
        projector = projection.Projector(self.db, self.division, strict=False, from_empty=True)
        total = self.db.execute("SELECT count(*) FROM arrivals").fetchone()[0]
        done = 0
        for origin, seq, data in self.db.execute(_ARRIVED_RECORDS):
            if data is None:
                raise LogError(f"record {origin}#{seq} is neither in the log nor delivered")
            projector.apply(parse_record(data))
            done += 1
            if done % _REBUILD_FLUSH == 0 or done == total:
                projector.flush(keep_cases=done != total)
                if progress:
                    progress(done, total)
        projector.flush()
        return done
