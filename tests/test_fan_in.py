"""Many children pushing at once (issue 11, bullet 6): a batch overtaken by its successor in
the parent's thread pool is resent, never fatal; every child's exchange completes.

The parent is a real `tongban serve` process; each child runs what `sync --once` runs
(node.link.exchange_once) in a thread of this process, all at the same moment, so the
parent sees as many concurrent mTLS streams as there are children without an
interpreter start per child and round.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from node_fixtures import tongban

from node import link, linkstate
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import REGION, add_events, assert_same_log, copy_federation
from pki.division import listed

#: a slow link as the pacer last measured it: batches of a few kB, pipelined two deep
SLOW_BPS = 4000.0


def _current_counties(count: int) -> list[str]:
    """Current Tibetan county codes of the shipped GB/T 2260 list, other than 540102."""
    found = []
    for code in (f"54{p:02d}{c:02d}" for p in range(1, 100) for c in range(21, 100)):
        entry = listed(code)
        if entry is not None and entry[1] is None:
            found.append(code)
    assert len(found) >= count, found
    return found[:count]


def _children(fed, count: int) -> list[str]:
    codes = _current_counties(count)
    for code in codes:
        fed.add(code, REGION)
        tongban("matter", "import", "--sample", home=fed.nodes[code].home)
    return codes


def _pretend_slow(home) -> None:
    store = NodeStore.open(Home(home))
    try:
        state = linkstate.load(store.db)
        state.throughput_bps = SLOW_BPS
        with store.transaction():
            linkstate.save(store.db, state)
    finally:
        store.close()


def _sync_once(home: Path, failures: dict[Path, str], start: threading.Barrier) -> None:
    """`tongban sync --once` for one child: one full exchange, its error kept if it fails."""
    store = NodeStore.open(Home(home))
    uplink = link.make_uplink(store, build(store))
    try:
        start.wait()
        link.exchange_once(store, uplink)
    except Exception as exc:  # every failure is reported by the test, not hidden
        failures[home] = f"{type(exc).__name__}: {exc}"
    finally:
        uplink.close()
        store.close()


def _all_at_once(homes: list[Path]) -> dict[Path, str]:
    failures: dict[Path, str] = {}
    start = threading.Barrier(len(homes))
    threads = [threading.Thread(target=_sync_once, args=(home, failures, start))
               for home in homes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads), "an exchange hung"
    return failures


def _fan_in(fed_template, tmp_path, count: int, rounds: int = 3) -> None:
    fed = copy_federation(fed_template, tmp_path / "fed")
    fed.run = tongban
    try:
        codes = _children(fed, count)
        fed.start(REGION)
        for _ in range(rounds):
            for code in codes:
                add_events(fed.nodes[code].home, 60, per_write=10)
                _pretend_slow(fed.nodes[code].home)
            failed = _all_at_once([fed.nodes[code].home for code in codes])
            assert not failed, failed
        for code in codes:
            assert_same_log(fed.nodes[code].home, fed.nodes[REGION].home, code)
    finally:
        fed.stop_all()


def test_ten_children_at_once_all_converge(fed_template, tmp_path):
    _fan_in(fed_template, tmp_path, 10)


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 40 children × 3 rounds: past the default 300 s on a busy machine
def test_forty_children_at_once_all_converge(fed_template, tmp_path):
    _fan_in(fed_template, tmp_path, 40)
