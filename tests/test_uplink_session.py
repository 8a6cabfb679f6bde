"""One uplink kept open across exchanges, as `tongban serve` runs it."""

from __future__ import annotations

import shutil

import pytest

from node import link
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


def test_a_parent_restored_from_backup_is_caught_up_again(session):
    fed, store, uplink = session
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
    add_events(county, 10)
    with pytest.raises(LinkDown) as refused:
        link.exchange_once(store, uplink)
    assert f"this node holds {behind} records: send from {behind}" in str(refused.value)
    report = link.exchange_once(store, uplink)
    assert report.started_from[COUNTY] == behind
    assert size(region, COUNTY) == size(county, COUNTY)
