"""NodeStore.write keeps its projector from one write to the next (``_own_projector``):
these check that what it remembers never outlives a change it did not make."""

from __future__ import annotations

import gc
import shutil
import weakref

import pytest
from node_fixtures import ID_OK, dump_projections, make_node

from node import clock, projection
from node import store as node_store
from node.authority import case_number
from node.home import Home
from node.matters import current_matter, list_matters
from node.projection import load_case
from node.store import Draft, NodeStore
from node.workflow import IllegalTransition
from protos.tongban.v1 import record_pb2
from sync.log import LogError
from sync.records import build_record

ACTOR = "窗口1"
OTHER = "650102"  # a county whose log this one does not hold


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_node(tmp_path_factory.mktemp("store"))


@pytest.fixture
def home(template, tmp_path):
    return Home(shutil.copytree(template, tmp_path / "home"))


def _apply(store: NodeStore, numbers: list[str]) -> Draft:
    matter = current_matter(store.db, list_matters(store.db)[0]["code"])

    def body(seq: int, hlc: int) -> bytes:
        numbers.append(case_number(store.division, seq, hlc))
        return record_pb2.CaseEvent(
            case_no=numbers[-1], action="apply", actor=ACTOR, matter_code=matter.impl_code,
            matter_version=matter.version, applicant_id=ID_OK, applicant_name="扎西",
            channel="window", limit_days=matter.promised_limit_days).SerializeToString()
    return Draft(record_pb2.CASE_EVENT, body)


def _event(case_no: str, action: str) -> Draft:
    return Draft.of_body(record_pb2.CASE_EVENT, record_pb2.CaseEvent(
        case_no=case_no, action=action, actor=ACTOR).SerializeToString())


def test_a_write_by_another_process_is_seen_by_the_next_batch(home):
    """The case was accepted through another connection after this store projected it:
    review must follow the accept, not the applied case the store projected itself."""
    store = NodeStore.open(home)
    try:
        numbers: list[str] = []
        store.write([_apply(store, numbers)])
        other = NodeStore.open(home)
        try:
            other.write([_event(numbers[0], "accept")])
        finally:
            other.close()
        store.write([_event(numbers[0], "review")])
        assert load_case(store.db, numbers[0]).state == "reviewing"
    finally:
        store.close()


def test_a_refused_batch_leaves_nothing_behind(home):
    """The refused batch projected an apply at the seq the next write takes again: that
    apply must be forgotten with the rollback, or the new one would find it open."""
    store = NodeStore.open(home)
    try:
        store.write([_apply(store, [])])  # a projector to keep
        refused: list[str] = []
        with pytest.raises(IllegalTransition):
            store.write([_apply(store, refused), _event(f"{store.division}-2000-0000001",
                                                        "review")])
        numbers: list[str] = []
        store.write([_apply(store, numbers)])
        assert numbers == refused
        store.write([_event(numbers[0], "accept")])
        assert load_case(store.db, numbers[0]).state == "accepted"
    finally:
        store.close()


def test_rebuild_reads_delivered_records_and_refuses_a_gap(home):
    """An arrival held only in deliveries is projected from there (here: judged and kept
    as a violation); one held nowhere stops the rebuild with nothing changed."""
    store = NodeStore.open(home)
    try:
        numbers: list[str] = []
        store.write([_apply(store, numbers)])
        foreign = build_record(OTHER, 3, store.clock.tick(clock.wall_ms()), record_pb2.CASE_EVENT,
                               record_pb2.CaseEvent(case_no=numbers[0], action="accept",
                                                    actor=ACTOR).SerializeToString(),
                               store.division)
        with store.transaction():
            store.db.execute("INSERT INTO deliveries VALUES (?, 3, ?, x'', x'')",
                             (OTHER, foreign))
            store.db.execute("INSERT INTO arrivals (origin, seq) VALUES (?, 3)", (OTHER,))
        store.rebuild()
        assert store.db.execute("SELECT origin, seq, rule FROM authority_violations"
                                ).fetchall() == [(OTHER, 3, "case-owner")]
        assert load_case(store.db, numbers[0]).state == "applied"
        with store.transaction():
            store.db.execute("INSERT INTO arrivals (origin, seq) VALUES (?, 4)", (OTHER,))
        with pytest.raises(LogError, match=rf"record {OTHER}#4 is neither in the log nor "
                                           "delivered"):
            store.rebuild()
        assert store.db.execute("SELECT count(*) FROM authority_violations").fetchone() == (1,)
    finally:
        store.close()


def test_a_rebuild_that_drops_its_caches_at_every_flush_projects_the_same(home, monkeypatch):
    """Past their limits a rebuild drops its cases and staff at a flush and reads them back
    from the tables when next needed: the tables must come out as the writes left them."""
    store = NodeStore.open(home)
    try:
        numbers: list[str] = []
        store.write([_apply(store, numbers) for _ in range(3)])
        for action in ("accept", "review"):
            store.write([_event(number, action) for number in numbers])
        written = dump_projections(home.db_path)
        monkeypatch.setattr(node_store, "_REBUILD_FLUSH", 2)
        monkeypatch.setattr(projection, "_CASE_CACHE_LIMIT", 1)
        monkeypatch.setattr(projection, "_STAFF_CACHE_LIMIT", 0)
        store.rebuild()
        assert dump_projections(home.db_path) == written
        assert {load_case(store.db, number).state for number in numbers} == {"reviewing"}
    finally:
        store.close()


def test_a_projector_is_freed_without_the_cyclic_collector(home):
    """A projector holds a rebuild's case cache: it must go when its last reference does,
    not wait for the collector (whose pass would walk the whole cache)."""
    store = NodeStore.open(home)
    gc.disable()
    try:
        projector = projection.Projector(store.db, store.division)
        gone = weakref.ref(projector)
        del projector
        assert gone() is None
    finally:
        gc.enable()
        store.close()
