"""Property: whatever nodes write and in whatever order they sync, authority holds everywhere.

A three-level federation in one process — region 540000 → prefecture 540100 →
counties 540102 and 540121, each a real home with its own key — gets random
commands at random nodes: honest case work and catalogue items through the
domain, and forbidden records (a higher level withdrawing a county's case, a
county retiring the region's item, publishing a sibling's code, publishing a
calendar, acting as someone not on its staff register) written raw into the
origin's log with its real key. Logs move up and down in random order through
the real Receiver (the path network pushes, pulls and bundle imports share).
Afterwards every node that holds an object projects it identically, no
forbidden effect is visible anywhere, and audit verify flags exactly the
injected violations that node holds.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from audit_fixtures import NOW, START, make_home, pinned_clock, receiver_for
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from node_fixtures import append_signed
from pki_fixtures import enrol, make_root
from test_authority import Forbidden

from node import cases, matters, staff
from node.audits import audit
from node.authority import case_owner, code_namespace
from node.catalogue_file import parse_matter, sample_catalogue
from node.home import Home
from node.store import NodeStore
from pki.division import in_subtree, is_ancestor
from pki.errors import InputError
from protos.tongban.v1 import record_pb2 as K
from sync.batches import make_batch
from sync.certstore import CertStore

REGION, PREFECTURE = "540000", "540100"
COUNTIES = ("540102", "540121")
NODES = (REGION, PREFECTURE, *COUNTIES)
PARENT = {PREFECTURE: REGION, COUNTIES[0]: PREFECTURE, COUNTIES[1]: PREFECTURE}
ID_OK = "540102199001010011"
STAFF = (("窗口1", ["clerk"]), ("审1", ["reviewer"]), ("批1", ["approver"]))
ACTOR = {"accept": "窗口1", "review": "审1", "decide": "批1", "conclude": "批1",
         "withdraw": "窗口1"}


class World:
    def __init__(self, base: Path, root) -> None:
        self.base, self.root = base, root
        self.injected: set[tuple[str, int, str]] = set()

    def home(self, code: str) -> Home:
        return Home(self.base / f"node-{code}")

    def open(self, code: str) -> NodeStore:
        return NodeStore.open(self.home(code))


def _build(base: Path):
    root = make_root(START, 3650)
    region = enrol(REGION, root, START, 365)
    prefecture = enrol(PREFECTURE, region, START, 365)
    make_home(base, region, [], root)
    make_home(base, prefecture, [region.cert], root)
    for code in COUNTIES:
        make_home(base, enrol(code, prefecture, START, 365), [prefecture.cert, region.cert], root)
    world = World(base, root)
    for code in NODES:
        store = world.open(code)
        try:
            matters.publish(store, sample_catalogue(code)[:2])
            if code in COUNTIES:
                for staff_id, roles in STAFF:
                    staff.add(store, staff_id, staff_id, roles)
        finally:
            store.close()
    return root


def _push(world: World, sender: str, receiver: str, origins) -> None:
    source, target = world.open(sender), world.open(receiver)
    try:
        source.ensure_checkpoint()  # as the uplink and bundle export do before records leave
        incoming = receiver_for(target, world.root)
        certs = CertStore(source.db)
        for origin in origins(source.log.sizes()):
            start = target.log.size(origin)
            while (batch := make_batch(source.log, certs, origin, start, 1 << 16)):
                start = incoming.receive(batch, sender, lambda _o: True).stored_size
    finally:
        source.close()
        target.close()


def sync_up(world: World, child: str) -> None:
    _push(world, child, PARENT[child], lambda held: [o for o in held if in_subtree(child, o)])


def sync_down(world: World, child: str) -> None:
    parent = PARENT[child]
    _push(world, parent, child, lambda held: [o for o in held if o == parent or
                                              is_ancestor(o, parent)])


def raw(world: World, forbidden: Forbidden, rule: str) -> None:
    """Write a record straight into its origin's log, signed with the origin's key."""
    store = world.open(forbidden.origin)
    origin = forbidden.origin
    try:
        seq = append_signed(store, origin, forbidden.kind, forbidden.body, forbidden.recipient,
                            int(NOW.timestamp() * 1000))
    finally:
        store.close()
    world.injected.add((origin, seq, rule))


def _held_cases(world: World, code: str) -> list[str]:
    store = world.open(code)
    try:
        return [r[0] for r in store.db.execute("SELECT case_no FROM cases ORDER BY case_no")]
    finally:
        store.close()


def run_command(world: World, command: tuple, pick: int) -> None:
    what, where = command
    if what == "apply":
        store = world.open(where)
        try:
            code = sample_catalogue(where)[0]["impl_code"]
            names = [m.name for m in matters.current_matter(store.db, code).materials
                     if m.required]
            cases.apply(store, matter_code=code, applicant=ID_OK, applicant_name="扎西",
                        channel="window", materials=names, actor="窗口1")
        finally:
            store.close()
    elif what in ACTOR:
        own = [c for c in _held_cases(world, where) if case_owner(c) == where]
        if not own:
            return
        store = world.open(where)
        try:
            extra = {"approve": True} if what == "decide" else {}
            extra |= {"reason": "申请人撤回"} if what == "withdraw" else {}
            cases.act(store, own[pick % len(own)], what, actor=ACTOR[what], **extra)
        except InputError:
            pass  # an illegal transition now: refused, nothing written
        finally:
            store.close()
    elif what == "up":
        sync_up(world, where)
    elif what == "down":
        sync_down(world, where)
    elif what == "withdraw-others":
        theirs = [c for c in _held_cases(world, where) if case_owner(c) != where]
        if theirs:
            raw(world, Forbidden(where, K.CASE_EVENT, K.CaseEvent(
                case_no=theirs[pick % len(theirs)], action="withdraw", actor="窗口1",
                reason="上级撤回").SerializeToString()), "case-owner")
    elif what == "retire-region":
        code = sample_catalogue(REGION)[pick % 2]["impl_code"]
        raw(world, Forbidden(where, K.MATTER_RETIRED, K.MatterRetired(
            impl_code=code, version=1, reason="越权").SerializeToString()),
            "catalogue-publisher")
    elif what == "publish-sibling":
        sibling = COUNTIES[1 - COUNTIES.index(where)]
        body = parse_matter(sample_catalogue(sibling)[pick % 2]).SerializeToString()
        raw(world, Forbidden(where, K.MATTER_PUBLISHED, body), "catalogue-namespace")
    elif what == "calendar":
        raw(world, Forbidden(where, K.CALENDAR_NOTICE, K.CalendarNotice(
            year=2026, holidays=["2026-12-01"]).SerializeToString()), "calendar-level")
    elif what == "stranger":
        own = [c for c in _held_cases(world, where) if case_owner(c) == where]
        if own:
            raw(world, Forbidden(where, K.CASE_EVENT, K.CaseEvent(
                case_no=own[pick % len(own)], action="withdraw", actor="无名",
                reason="x").SerializeToString()), "staff-active")


county = st.sampled_from(COUNTIES)
child = st.sampled_from((PREFECTURE, *COUNTIES))
upper = st.sampled_from((REGION, PREFECTURE))
commands = st.one_of(
    st.tuples(st.just("apply"), county),
    st.tuples(st.sampled_from(sorted(ACTOR)), county),
    st.tuples(st.sampled_from(("up", "down")), child),
    st.tuples(st.just("withdraw-others"), upper),
    st.tuples(st.sampled_from(("retire-region", "publish-sibling", "calendar", "stranger")),
              county),
)


def _rows(world: World, code: str, query: str) -> set[tuple]:
    store = world.open(code)
    try:
        return set(store.db.execute(query).fetchall())
    finally:
        store.close()


def _converge(world: World) -> None:
    for _ in range(2):
        for code in (*COUNTIES, PREFECTURE):
            sync_up(world, code)
        for code in (PREFECTURE, *COUNTIES):
            sync_down(world, code)


def _check(world: World) -> None:
    case_rows = {code: _rows(world, code, "SELECT * FROM cases") for code in NODES}
    event_rows = {code: _rows(world, code, "SELECT * FROM case_events") for code in NODES}
    matter_rows = {code: _rows(world, code, "SELECT * FROM matters") for code in NODES}
    for code in NODES:
        # no forbidden effect: every event by the case's owner, every item in its namespace,
        # nothing of the region retired, no calendar from a county
        assert all(case_owner(row[2]) == row[0] for row in event_rows[code])
        assert all(code_namespace(row[0]) == row[2] for row in matter_rows[code])
        assert not [r for r in matter_rows[code] if r[2] == REGION and r[9]]
        assert not _rows(world, code, "SELECT * FROM calendar_overrides")
    for owner in COUNTIES:
        # one county's objects look the same at every node that holds them
        holders = [owner, PREFECTURE, REGION]
        views = [{r for r in case_rows[h] if case_owner(r[0]) == owner} for h in holders]
        assert views[0] == views[1] == views[2]
        events = [{r for r in event_rows[h] if r[0] == owner} for h in holders]
        assert events[0] == events[1] == events[2]
        items = [{r for r in matter_rows[h] if r[2] == owner} for h in holders]
        assert items[0] == items[1] == items[2]
    for code in NODES:
        store = world.open(code)
        try:
            held = set(store.log.sizes())
            kept = set(store.db.execute("SELECT origin, seq, rule FROM authority_violations"))
        finally:
            store.close()
        expected = {v for v in world.injected if v[0] in held}
        assert kept == {v for v in expected if v[0] != code}  # own raw records were never read
        report = audit(world.home(code).path, None).report
        flagged = {(f.origin, f.seq, f.check.removeprefix("authority:"))
                   for f in report.problems if f.check.startswith("authority:")}
        assert flagged == expected, report.text()


@pytest.fixture(scope="module")
def template_world(tmp_path_factory):
    """The enrolled, staffed federation (built once), and the root that signed it."""
    base = tmp_path_factory.mktemp("world-template") / "fed"
    base.mkdir(parents=True)
    with pinned_clock(START + timedelta(days=1)):
        root = _build(base)
    return base, root


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(commands, st.integers(0, 50)), min_size=6, max_size=18))
def test_authority_holds_whatever_the_order(template_world, tmp_path_factory, script):
    template, root = template_world
    base = tmp_path_factory.mktemp("world") / "fed"
    shutil.copytree(template, base)
    world = World(base, root)
    with pinned_clock(NOW - timedelta(hours=1)):
        for command, pick in script:
            run_command(world, command, pick)
    _converge(world)
    _check(world)
    event(f"violations injected: {min(len(world.injected), 3)}{'+' if world.injected else ''}")
    target(float(len(world.injected)))
