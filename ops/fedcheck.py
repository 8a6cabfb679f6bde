"""Shared by the weak-link, bundle and crash suites: a small real federation and its checks.

Region 540000 is the parent, county 540102 the child (its parent is the
nearest enrolled ancestor); both are enrolled with the real ``tongban pki``
commands. The checks compare the two stores byte for byte and recompute
every Merkle root from the record bytes, which is what an auditor would do.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from node import staff
from node.authority import case_number
from node.catalogue_file import sample_catalogue
from node.home import Home
from node.matters import current_matter, list_matters, publish
from node.store import Draft, NodeStore
from ops.localfed import Federation, Runner, free_port, tongban
from pki.checkpoint import parse_note
from protos.tongban.v1 import record_pb2
from sync import merkle

REGION, COUNTY = "540000", "540102"
REGION_ITEM = Path(__file__).resolve().parent / "data" / "region_item.toml"


def build_federation(root: Path, county_parent_address: str | None = None,
                     run: Runner = tongban) -> Federation:
    """National (CA only), region and county, enrolled; catalogues loaded on both nodes."""
    fed = Federation(root, run=run)
    fed.add("000000")
    fed.add(REGION, "000000")
    fed.add(COUNTY, REGION, parent_address=county_parent_address)
    run("matter", "import", "--sample", home=fed.nodes[COUNTY].home)
    run("matter", "import", str(REGION_ITEM), home=fed.nodes[REGION].home)
    return fed


def copy_federation(template: Federation, root: Path) -> Federation:
    """A fresh copy of an enrolled federation (enrolment costs seconds, copying milliseconds).

    Every copy listens on ports of its own (children follow their parent's new
    address), so copies never meet a server left from another copy or test process.
    """
    shutil.copytree(template.root, root, dirs_exist_ok=True)
    fed = Federation(root, run=template.run)
    for division, node in template.nodes.items():
        parent = fed.nodes[node.parent.division] if node.parent else None
        copy = type(node)(division, root / division, free_port(), parent)
        config = Home(copy.home).load_config()
        config.listen_address = copy.address
        if parent is not None and config.parent_address == node.parent.address:
            config.parent_address = parent.address
        Home(copy.home).save_config(config)
        fed.nodes[division] = copy
    return fed


def set_parent_address(home: Path, address: str) -> None:
    h = Home(home)
    config = h.load_config()
    config.parent_address = address
    h.save_config(config)


def add_events(home: Path, count: int, per_write: int = 50) -> None:
    """``count`` typical case events (apply, accept, review …), ``per_write`` per transaction."""
    store = NodeStore.open(Home(home))
    try:
        if not list_matters(store.db):
            publish(store, sample_catalogue(store.division))
        if not any(m.staff_id == "窗口03" for m in staff.members(store)):
            staff.add(store, "窗口03", "次仁", ["clerk"])
        matter = current_matter(store.db, list_matters(store.db)[0]["code"])
        done = 0
        while done < count:
            n = min(per_write, count - done)
            store.write([_event(matter, store.division, done + i) for i in range(n)])
            done += n
    finally:
        store.close()


def _event(matter: record_pb2.Matter, division: str, i: int) -> Draft:
    if i % 2 == 0:
        def body(seq: int, hlc: int) -> bytes:
            return record_pb2.CaseEvent(
                case_no=case_number(division, seq, hlc), action="apply", actor="窗口03",
                matter_code=matter.impl_code, matter_version=matter.version,
                applicant_id="540102199001010011", applicant_name="扎西", channel="window",
                materials=[m.name for m in matter.materials if m.required],
                limit_days=matter.promised_limit_days).SerializeToString()
        return Draft(record_pb2.CASE_EVENT, body)

    def accept(seq: int, hlc: int) -> bytes:
        return record_pb2.CaseEvent(case_no=case_number(division, seq - 1, hlc), action="accept",
                                    actor="窗口03").SerializeToString()
    return Draft(record_pb2.CASE_EVENT, accept)


class Writer(threading.Thread):
    """County staff keep working while the link syncs: events written until stopped."""

    def __init__(self, home: Path, per_write: int = 5, pause: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.home, self.per_write, self.pause = home, per_write, pause
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        while not self.stop.is_set():
            add_events(self.home, self.per_write, self.per_write)
            self.written += self.per_write
            self.stop.wait(self.pause)


def records(home: Path, origin: str) -> list[tuple[int, bytes]]:
    db = sqlite3.connect(home / "node.db")
    try:
        return db.execute("SELECT seq, data FROM records WHERE origin = ? ORDER BY seq",
                          (origin,)).fetchall()
    finally:
        db.close()


def table_rows(home: Path, table: str) -> list[tuple]:
    db = sqlite3.connect(home / "node.db")
    try:
        return sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    finally:
        db.close()


def size(home: Path, origin: str) -> int:
    db = sqlite3.connect(home / "node.db")
    try:
        (last,) = db.execute("SELECT max(seq) FROM records WHERE origin = ?",
                             (origin,)).fetchone()
        return 0 if last is None else last + 1
    finally:
        db.close()


def verify_logs(home: Path) -> dict[str, int]:
    """Every log dense from 0, its roots recomputed from the record bytes match every stored
    checkpoint (whose body must also parse to the same size and root); returns the sizes."""
    store = NodeStore.open(Home(home))
    try:
        sizes = store.log.sizes()
        for origin, n in sizes.items():
            rows = store.db.execute("SELECT seq, data, leaf_hash FROM records WHERE origin = ?"
                                    " ORDER BY seq", (origin,)).fetchall()
            assert [r[0] for r in rows] == list(range(n)), f"{home.name}: {origin} has gaps"
            leaves = [merkle.leaf_hash(r[1]) for r in rows]
            assert leaves == [r[2] for r in rows], f"{home.name}: {origin} leaf hash mismatch"
            assert store.log.root(origin) == merkle.hash_tree(leaves)
            # Roots at every checkpoint size in one pass, from the record bytes alone.
            tree = merkle.CompactRange()
            done = 0
            for checkpoint in store.log.checkpoints(origin):
                assert checkpoint.size <= n
                body, _ = parse_note(checkpoint.note)
                assert (body.size, body.root) == (checkpoint.size, checkpoint.root)
                tree.append(merkle.leaf_hashes(r[1] for r in rows[done:checkpoint.size]))
                done = checkpoint.size
                assert tree.root() == checkpoint.root, (
                    f"{home.name}: checkpoint {origin}@{checkpoint.size} does not match")
        return sizes
    finally:
        store.close()


def assert_same_log(a: Path, b: Path, origin: str) -> None:
    """Same records, same bytes, same sequence numbers on both sides."""
    left, right = records(a, origin), records(b, origin)
    assert len(left) == len(right), f"{origin}: {len(left)} records vs {len(right)}"
    assert left == right, f"{origin}: record bytes differ"
