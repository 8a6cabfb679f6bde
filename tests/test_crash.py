"""kill -9 at random points during network sync and bundle import, then restart and converge.

After every crash the node restarts from its SQLite file alone. In the end both
sides must hold every record once, at its own sequence number, with the same
bytes, and every stored checkpoint must match the root recomputed from the
record bytes.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from ops.fedcheck import (
    COUNTY,
    REGION,
    add_events,
    assert_same_log,
    copy_federation,
    verify_logs,
)

KINDS = ("child-sync", "parent-serve", "parent-import", "child-import")


def _popen(*args: str, home) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "node.cli", *args, "--home", str(home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_after(process: subprocess.Popen, delay: float) -> None:
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def crash_rounds(fed, rounds: int, rng: random.Random, tmp_path) -> None:
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"
    for i in range(rounds):
        kind = KINDS[i % len(KINDS)]
        add_events(county, rng.randrange(50, 400), per_write=rng.choice((1, 10, 50)))
        delay = rng.uniform(0.3, 1.5)
        if kind == "child-sync":
            _kill_after(_popen("sync", "--once", home=county), delay)
        elif kind == "parent-serve":
            syncing = _popen("sync", "--once", home=county)
            time.sleep(delay)
            fed.stop(REGION, kill=True)
            syncing.wait(timeout=120)
            fed.start(REGION)
        elif kind == "parent-import":
            subprocess.run([sys.executable, "-m", "node.cli", "bundle", "export", "--for-parent",
                            "--out", str(up), "--home", str(county)], check=True,
                           capture_output=True)
            _kill_after(_popen("bundle", "import", str(up), "--reply", str(down), home=region),
                        delay)
        else:
            if not down.exists():
                continue
            _kill_after(_popen("bundle", "import", str(down), home=county), delay * 0.5)
        verify_logs(county)
        verify_logs(region)


def converge_and_check(fed) -> None:
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    for _ in range(2):
        fed.sync(COUNTY)
    assert_same_log(county, region, COUNTY)
    assert_same_log(county, region, REGION)
    verify_logs(county)
    verify_logs(region)


def _run(template, tmp_path, rounds: int, seed: int) -> None:
    fed = copy_federation(template, tmp_path / "fed")
    fed.start(REGION)
    try:
        crash_rounds(fed, rounds, random.Random(seed), tmp_path)
        converge_and_check(fed)
    finally:
        fed.stop_all()


def test_kill_nine_at_a_handful_of_points(fed_template, tmp_path):
    _run(fed_template, tmp_path, rounds=4, seed=11)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_kill_nine_at_fifty_points(fed_template, tmp_path):
    _run(fed_template, tmp_path, rounds=52, seed=12)
