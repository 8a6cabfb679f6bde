"""Many children pushing at once (issue 11, bullet 6): a batch overtaken by its successor in
the parent's thread pool is resent, never fatal; every child's `sync --once` exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest
from node_fixtures import tongban

from node import linkstate
from node.home import Home
from node.store import NodeStore
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
            running = [subprocess.Popen(
                [sys.executable, "-m", "node.cli", "sync", "--once", "--home",
                 str(fed.nodes[code].home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True) for code in codes]
            results = [(*p.communicate(timeout=600), p.returncode) for p in running]
            failed = [(code, err[-500:]) for code, (_, err, rc) in zip(codes, results,
                                                                        strict=True) if rc]
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
