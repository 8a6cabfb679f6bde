"""One uplink kept open across exchanges, as `tongban serve` runs it, and a new process's
uplink seeded with what the parent held after the last exchange (`tongban sync --once`)."""

from __future__ import annotations

import shutil

import pytest

from node import link, linkstate
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import COUNTY, REGION, add_events, size
from sync.uplink import LinkDown


@pytest.fixture
def session(fed_copy):
    fed = fed_copy
    fed.start(REGION)
    store = NodeStore.open(Home(fed.nodes[COUNTY].home))
    uplink = link.make_uplink(store, build(store))
    yield fed, store, uplink
    uplink.close()
    store.close()


def test_later_exchanges_push_without_waiting_for_hello(session):
    fed, store, uplink = session
    link.exchange_once(store, uplink)
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
    first = size(region, COUNTY)
    add_events(county, 120)
    lines: list[str] = []
    uplink.progress = lines.append
    report = link.exchange_once(store, uplink)
    assert report.started_from[COUNTY] == first
    assert report.pushed[COUNTY] == 120
    assert size(region, COUNTY) == size(county, COUNTY)
    assert lines[0].startswith("push"), lines  # the push went out before Hello's answer


def _restore_parent_behind(fed, store: NodeStore, uplink) -> int:
    """Back the parent up, sync 60 more events, restore the backup: the parent's size."""
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
    link.exchange_once(store, uplink)
    fed.stop(REGION)
    backup = region.parent / "backup.db"
    shutil.copy(region / "node.db", backup)
    fed.start(REGION)
    add_events(county, 60)
    link.exchange_once(store, uplink)
    fed.stop(REGION)
    for suffix in ("-wal", "-shm"):
        (region / f"node.db{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, region / "node.db")
    fed.start(REGION)
    behind = size(region, COUNTY)
    assert behind < size(county, COUNTY)
    return behind


def test_a_parent_restored_from_backup_is_caught_up_again(session):
    fed, store, uplink = session
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
    behind = _restore_parent_behind(fed, store, uplink)
    add_events(county, 10)
    with pytest.raises(LinkDown) as refused:
        link.exchange_once(store, uplink)
    assert f"this node holds {behind} records: send from {behind}" in str(refused.value)
    report = link.exchange_once(store, uplink)
    assert report.started_from[COUNTY] == behind
    assert size(region, COUNTY) == size(county, COUNTY)


def _new_process_uplink(store: NodeStore):
    """What `tongban sync --once` builds: a new channel, seeded from the database."""
    return link.make_uplink(store, build(store))


def test_a_new_process_pushes_without_waiting_for_hello(session):
    fed, store, uplink = session
    link.exchange_once(store, uplink)
    uplink.close()
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
    first = size(region, COUNTY)
    assert linkstate.load_parent_held(store.db)[COUNTY] == first
    add_events(county, 120)
    fresh = _new_process_uplink(store)
    lines: list[str] = []
    fresh.progress = lines.append
    try:
        report = link.exchange_once(store, fresh)
    finally:
        fresh.close()
    assert report.started_from[COUNTY] == first and report.pushed[COUNTY] == 120
    assert size(region, COUNTY) == size(county, COUNTY)
    assert lines[0].startswith("push"), lines  # the push went out before Hello's answer
    assert linkstate.load_parent_held(store.db)[COUNTY] == size(county, COUNTY)


def test_a_new_process_finds_a_restored_parent_behind_its_seed_and_catches_it_up(session):
    fed, store, uplink = session
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY].home
    behind = _restore_parent_behind(fed, store, uplink)
    uplink.close()
    assert behind < linkstate.load_parent_held(store.db)[COUNTY]
    add_events(county, 10)
    fresh = _new_process_uplink(store)
    try:
        report = link.exchange_once(store, fresh)  # one exchange: no error, no retry
    finally:
        fresh.close()
    assert report.started_from[COUNTY] == behind
    assert size(region, COUNTY) == size(county, COUNTY)


def test_after_a_failed_exchange_a_new_process_asks_hello_first(session):
    """The parent may hold a batch whose answer was lost: no resend from the stale guess."""
    fed, store, uplink = session
    link.exchange_once(store, uplink)
    uplink.close()
    fed.stop(REGION)
    add_events(fed.nodes[COUNTY].home, 30)
    with pytest.raises(LinkDown):
        link.exchange_once(store, _new_process_uplink(store))
    fed.start(REGION)
    fresh = _new_process_uplink(store)
    lines: list[str] = []
    fresh.progress = lines.append
    try:
        link.exchange_once(store, fresh)
    finally:
        fresh.close()
    assert lines[0].startswith("hello"), lines
