"""LogStore on real SQLite files: appends, trees, proofs, checkpoints, receipts."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pki.division import DivisionError
from pki.errors import EnvironmentProblem, InputError
from sync import deliver, merkle
from sync.log import STORED_FROM_LEVEL, Checkpointed, LogError, LogStore, Receipted

ORIGIN = "540102"
OTHER = "650102"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    LogStore.migrate(db)
    return db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = _connect(tmp_path / "node.db")
    yield db
    db.close()


def _records(start: int, count: int, origin: str = ORIGIN) -> list[bytes]:
    # Varied lengths, including empty, so nothing depends on a fixed record shape.
    return [f"{origin}:{seq}:".encode() * (seq % 5) for seq in range(start, start + count)]


def _append(log: LogStore, db: sqlite3.Connection, origin: str, first: int,
            records: list[bytes]) -> list[bytes]:
    db.execute("BEGIN")
    leaves = log.append(origin, first, records)
    db.execute("COMMIT")
    return leaves


def _table(db: sqlite3.Connection, name: str) -> list[tuple]:
    return db.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3").fetchall()


def test_migrate_is_idempotent(db: sqlite3.Connection) -> None:
    LogStore.migrate(db)
    LogStore.migrate(db)
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"records", "tree_nodes", "checkpoints", "receipts"} <= names


def test_batches_equal_one_batch(tmp_path: Path) -> None:
    records = _records(0, 300)
    one, many = _connect(tmp_path / "one.db"), _connect(tmp_path / "many.db")
    leaves_one = _append(LogStore(one), one, ORIGIN, 0, records)
    rng = random.Random(7)
    leaves_many: list[bytes] = []
    seq = 0
    while seq < len(records):
        step = rng.choice([1, 1, 2, 3, 7, 16, 31])
        leaves_many += _append(LogStore(many), many, ORIGIN, seq, records[seq:seq + step])
        seq += step
    assert leaves_one == leaves_many == [merkle.leaf_hash(r) for r in records]
    for table in ("records", "tree_nodes"):
        assert _table(one, table) == _table(many, table)
    # Every perfect subtree from level 2 up is stored once: 300 leaves complete
    # 300 - popcount(300) nodes, of which 300 // 2 are level 1 and computed when read.
    assert len(_table(one, "tree_nodes")) == 300 - bin(300).count("1") - 300 // 2
    assert {level for _, level, _, _ in _table(one, "tree_nodes")} == set(
        range(STORED_FROM_LEVEL, 300 .bit_length()))


def test_records_are_stored_verbatim(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    records = [b"", b"\x00\xff" * 100, "事项".encode(), bytes(range(256))]
    _append(log, db, ORIGIN, 0, records)
    assert log.records(ORIGIN, 0, 4) == records
    assert [log.record(ORIGIN, i) for i in range(4)] == records
    assert [log.leaf_hash(ORIGIN, i) for i in range(4)] == [merkle.leaf_hash(r) for r in records]


@pytest.mark.parametrize("first_seq", [11, 9, 0, -1])
def test_gap_or_overlap_is_refused_and_nothing_written(db: sqlite3.Connection,
                                                       first_seq: int) -> None:
    log = LogStore(db)
    _append(log, db, ORIGIN, 0, _records(0, 10))
    before = db.total_changes
    root = log.root(ORIGIN)
    db.execute("BEGIN")
    with pytest.raises(LogError) as caught:
        log.append(ORIGIN, first_seq, _records(first_seq, 3))
    db.execute("COMMIT")
    assert str(caught.value) == (f"log of {ORIGIN}: got records starting at seq {first_seq}, "
                                 "want 10 (the stored size)")
    assert isinstance(caught.value, InputError)
    assert db.total_changes == before
    assert log.size(ORIGIN) == 10
    assert log.root(ORIGIN) == root


def test_first_append_must_start_at_zero(db: sqlite3.Connection) -> None:
    with pytest.raises(LogError, match="got records starting at seq 1, want 0"):
        LogStore(db).append(ORIGIN, 1, [b"x"])


def test_bad_origin_is_refused(db: sqlite3.Connection) -> None:
    with pytest.raises(DivisionError):
        LogStore(db).append("54010", 0, [b"x"])


def test_empty_append_is_a_no_op(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    before = db.total_changes
    assert log.append(ORIGIN, 0, []) == []
    assert db.total_changes == before
    assert log.sizes() == {}


def test_roots_and_proofs_match_reference_at_every_size(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    records = _records(0, 70)
    leaves = [merkle.leaf_hash(r) for r in records]
    rng = random.Random(3)
    seq = 0
    while seq < len(records):
        step = rng.randint(1, 9)
        _append(log, db, ORIGIN, seq, records[seq:seq + step])
        seq += step
    roots = [merkle.hash_tree(leaves[:n]) for n in range(71)]
    assert log.root(ORIGIN) == roots[70]
    for size in range(71):
        assert log.root(ORIGIN, size) == roots[size]
    for size in range(1, 71):
        for index in range(size):
            proof = log.inclusion_proof(ORIGIN, index, size)
            merkle.verify_inclusion(index, size, leaves[index], proof, roots[size])
        for size1 in range(1, size + 1):
            proof = log.consistency_proof(ORIGIN, size1, size)
            merkle.verify_consistency(size1, size, roots[size1], roots[size], proof)


def test_origins_are_independent(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    a, b = _records(0, 13, ORIGIN), _records(0, 6, OTHER)
    _append(log, db, ORIGIN, 0, a[:5])
    _append(log, db, OTHER, 0, b)
    _append(log, db, ORIGIN, 5, a[5:])
    assert log.sizes() == {ORIGIN: 13, OTHER: 6}
    assert log.size("110101") == 0
    assert log.root("110101") == merkle.empty_root()
    assert log.root(ORIGIN) == merkle.hash_tree([merkle.leaf_hash(r) for r in a])
    assert log.root(OTHER) == merkle.hash_tree([merkle.leaf_hash(r) for r in b])
    assert log.records(OTHER, 0, 6) == b


def test_rolled_back_append_leaves_no_trace(db: sqlite3.Connection) -> None:
    """LogStore keeps no state of its own, so the caller's rollback is the whole story."""
    log = LogStore(db)
    _append(log, db, ORIGIN, 0, _records(0, 5))
    db.execute("BEGIN")
    log.append(ORIGIN, 5, [b"doomed"] * 11)
    db.execute("ROLLBACK")
    kept = _records(5, 4)
    _append(log, db, ORIGIN, 5, kept)
    leaves = [merkle.leaf_hash(r) for r in _records(0, 5) + kept]
    assert log.root(ORIGIN) == merkle.hash_tree(leaves)
    assert log.root(ORIGIN, 9) == merkle.hash_tree(leaves)


def test_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    first = _connect(path)
    log = LogStore(first)
    _append(log, first, ORIGIN, 0, _records(0, 21))
    first.close()
    again = _connect(path)
    log = LogStore(again)
    _append(log, again, ORIGIN, 21, _records(21, 12))
    assert log.root(ORIGIN) == merkle.hash_tree(
        [merkle.leaf_hash(r) for r in _records(0, 33)])
    again.close()


def test_ranges_not_held_are_refused(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    _append(log, db, ORIGIN, 0, _records(0, 8))
    with pytest.raises(LogError, match=r"no record at seq 8 \(want 0 <= seq < 8\)"):
        log.record(ORIGIN, 8)
    with pytest.raises(LogError, match="no record at seq 8"):
        log.leaf_hash(ORIGIN, 8)
    for start, end in [(0, 9), (-1, 3), (5, 4), (8, 9)]:
        with pytest.raises(LogError, match=r"want 0 <= start <= end <= 8"):
            log.records(ORIGIN, start, end)
    assert log.records(ORIGIN, 8, 8) == []
    with pytest.raises(LogError, match="got tree size 9, want <= 8"):
        log.root(ORIGIN, 9)
    with pytest.raises(LogError, match="got tree size 9"):
        log.inclusion_proof(ORIGIN, 0, 9)
    with pytest.raises(LogError, match="got tree size 9"):
        log.consistency_proof(ORIGIN, 2, 9)
    with pytest.raises(InputError, match="got leaf index 8 in a tree of size 8"):
        log.inclusion_proof(ORIGIN, 8, 8)
    with pytest.raises(InputError, match="got sizes 0 -> 8"):
        log.consistency_proof(ORIGIN, 0, 8)


def test_damaged_tree_is_reported(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    _append(log, db, ORIGIN, 0, _records(0, 6))
    db.execute("DELETE FROM tree_nodes WHERE level = 2")
    with pytest.raises(EnvironmentProblem, match="damaged: no tree node at level 2, index 0"):
        log.root(ORIGIN)
    with pytest.raises(EnvironmentProblem, match="right edge of size 6"):
        log.append(ORIGIN, 6, [b"x"])


def test_a_missing_leaf_under_a_computed_node_is_damage(db: sqlite3.Connection) -> None:
    """Level 1 is hashed from two leaf hashes: a missing record is named, not hashed around."""
    log = LogStore(db)
    _append(log, db, ORIGIN, 0, _records(0, 7))
    db.execute("DELETE FROM records WHERE seq = 5")
    with pytest.raises(EnvironmentProblem, match="damaged: no tree node at level 1, index 2"):
        log.inclusion_proof(ORIGIN, 0, 6)
    with pytest.raises(EnvironmentProblem, match="right edge of size 7"):
        log.append(ORIGIN, 7, [b"x"])


def test_checkpoints(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    r = [bytes([i]) * 32 for i in range(4)]
    assert log.latest_checkpoint(ORIGIN) is None
    log.add_checkpoint(ORIGIN, 5, r[0], b"note five")
    log.add_checkpoint(ORIGIN, 9, r[1], b"note nine")
    log.add_checkpoint(ORIGIN, 9, r[1], b"note nine")  # idempotent
    log.add_checkpoint(ORIGIN, 9, r[2], b"fork at nine")
    log.add_checkpoint(ORIGIN, 2, r[3], b"note two")
    log.add_checkpoint(OTHER, 50, r[3], b"other")
    assert log.checkpoints(ORIGIN) == [
        Checkpointed(ORIGIN, 2, r[3], b"note two"),
        Checkpointed(ORIGIN, 5, r[0], b"note five"),
        Checkpointed(ORIGIN, 9, r[1], b"note nine"),
        Checkpointed(ORIGIN, 9, r[2], b"fork at nine"),
    ]
    assert log.latest_checkpoint(ORIGIN) == Checkpointed(ORIGIN, 9, r[1], b"note nine")
    with pytest.raises(LogError, match="for a note stored with root"):
        log.add_checkpoint(ORIGIN, 9, r[0], b"note nine")
    with pytest.raises(LogError, match="got size 3 and a 31-byte root"):
        log.add_checkpoint(ORIGIN, 3, r[0][:31], b"short root")
    assert len(log.checkpoints(ORIGIN)) == 4


def test_receipts(db: sqlite3.Connection) -> None:
    log = LogStore(db)
    assert log.latest_receipt(ORIGIN) is None
    log.add_receipt(ORIGIN, 5, "540000", 1_000, b"r1")
    log.add_receipt(ORIGIN, 5, "540000", 1_000, b"r1")  # idempotent
    log.add_receipt(ORIGIN, 9, "540000", 3_000, b"r2")
    log.add_receipt(ORIGIN, 9, "000000", 2_000, b"r3")
    log.add_receipt(ORIGIN, 5, "000000", 4_000, b"r4")
    log.add_receipt(OTHER, 99, "650000", 9_000, b"other")
    assert log.receipts(ORIGIN) == [
        Receipted(ORIGIN, 5, "540000", 1_000, b"r1"),
        Receipted(ORIGIN, 5, "000000", 4_000, b"r4"),
        Receipted(ORIGIN, 9, "000000", 2_000, b"r3"),
        Receipted(ORIGIN, 9, "540000", 3_000, b"r2"),
    ]
    assert [x.note for x in log.receipts(ORIGIN, 9)] == [b"r3", b"r2"]
    assert log.receipts(ORIGIN, 7) == []
    assert log.latest_receipt(ORIGIN) == Receipted(ORIGIN, 9, "540000", 3_000, b"r2")
    assert log.latest_receipt(ORIGIN, "000000") == Receipted(ORIGIN, 9, "000000", 2_000, b"r3")
    assert log.latest_receipt(ORIGIN, "110000") is None
    with pytest.raises(LogError, match="got time 5 ms for a note stored with time 1000 ms"):
        log.add_receipt(ORIGIN, 5, "540000", 5, b"r1")
    with pytest.raises(LogError, match="want size >= 0 and a cosigner name"):
        log.add_receipt(ORIGIN, 5, "", 5, b"r5")


# --- reads at scale -----------------------------------------------------------------------------

BIG = 100_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection, list]]:
    db = _connect(tmp_path_factory.mktemp("big") / "node.db")
    log = LogStore(db)
    leaves: list[bytes] = []
    for start in range(0, BIG, 5000):
        leaves += _append(log, db, ORIGIN, start, [i.to_bytes(4, "big")
                                                    for i in range(start, start + 5000)])
    yield db, leaves
    db.close()


class Statements:
    """Counts the SQL statements a block runs on a real connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.count = 0

    def __enter__(self) -> Statements:
        self.db.set_trace_callback(self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.set_trace_callback(None)

    def _seen(self, _sql: str) -> None:
        self.count += 1


def test_root_and_proofs_are_log_n_reads_at_100k(big: tuple[sqlite3.Connection, list]) -> None:
    db, leaves = big
    log = LogStore(db)
    # One read per level and one for the partial subtree, plus the size check.
    bound = 2 * BIG.bit_length() + 2
    rng = random.Random(11)
    sizes = [BIG, BIG - 1, 65_537, 99_999, *(rng.randint(2, BIG) for _ in range(20))]
    most = 0
    for size in sizes:
        index = rng.randrange(size)
        size1 = rng.randint(1, size - 1)
        with Statements(db) as reads:
            root = log.root(ORIGIN, size)
        most = max(most, reads.count)
        with Statements(db) as reads:
            proof = log.inclusion_proof(ORIGIN, index, size)
        most = max(most, reads.count)
        merkle.verify_inclusion(index, size, leaves[index], proof, root)
        with Statements(db) as reads:
            cproof = log.consistency_proof(ORIGIN, size1, size)
        most = max(most, reads.count)
        merkle.verify_consistency(size1, size, log.root(ORIGIN, size1), root, cproof)
    assert 0 < most <= bound
    assert log.root(ORIGIN) == merkle.hash_tree(leaves)


def test_append_reads_a_constant_number_of_statements(
        big: tuple[sqlite3.Connection, list]) -> None:
    """No per-record SELECTs: an append of 1 or of 1000 records reads the same few times."""
    db, _ = big
    log = LogStore(db)
    size = log.size(ORIGIN)
    reads = []
    for count in (1, 1000):
        db.execute("BEGIN")
        with Statements(db) as statements:
            log.append(ORIGIN, size, [b"x"] * count)
        db.execute("ROLLBACK")
        # SQLite traces an executemany once per row: one row per record and per new node.
        new_nodes = sum(((size + count) >> lvl) - (size >> lvl)
                        for lvl in range(STORED_FROM_LEVEL, (size + count).bit_length()))
        reads.append(statements.count - count - new_nodes)
    assert reads[0] == reads[1]
    assert 1 <= reads[0] <= 3


def test_bulk_reads_keep_the_order_asked_and_fill_from_deliveries(db):
    log = LogStore(db)
    deliver.migrate(db)
    _append(log, db, ORIGIN, 0, _records(0, 12_000))
    db.execute("INSERT INTO deliveries VALUES (?, ?, ?, x'', x'')", (OTHER, 3, b"delivered"))
    # More keys than one chunk, out of seq order, with a delivered record in the middle.
    keys = [(ORIGIN, seq) for seq in range(11_999, -1, -2)] + [(OTHER, 3), (ORIGIN, 4)]
    got = list(deliver.held_records(log, db, keys))
    want = _records(0, 12_000)
    assert got == [want[seq] for seq in range(11_999, -1, -2)] + [b"delivered", want[4]]
    assert log.payload_bytes(ORIGIN, 11_990) == sum(len(r) for r in want[11_990:])
    assert log.payload_bytes(ORIGIN, 12_000) == 0
    with pytest.raises(LogError, match=r"record 650102#4 is neither in the log nor delivered"):
        list(deliver.held_records(log, db, [(ORIGIN, 0), (OTHER, 4)]))
