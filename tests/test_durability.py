"""Writes that reported success survive kill -9 (real subprocesses, real files)."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from node_fixtures import ID_OK, dump_projections, make_node, run

from node.home import Home
from node.store import NodeStore

REPO = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys
    from node.cases import apply
    from node.home import Home
    from node.store import NodeStore
    store = NodeStore.open(Home.locate(sys.argv[1]))
    while True:
        outcome = apply(store, matter_code=sys.argv[2], applicant=sys.argv[3],
                        applicant_name="卓玛", channel="window", materials=[], actor="窗口1")
        print(outcome.case.case_no, flush=True)
    """
)


def _first_matter(home):
    return json.loads(run(home, "matter", "list", "--json").output)[0]["code"]


def _check_store(home: Path, reported: list[str]) -> None:
    store = NodeStore.open(Home.locate(home))
    try:
        size = store.log.size("540102")
        seqs = [row[0] for row in store.db.execute(
            "SELECT seq FROM records WHERE origin = '540102' ORDER BY seq")]
        assert seqs == list(range(size)), "log has gaps"
        stored = {row[0] for row in store.db.execute("SELECT case_no FROM cases")}
        missing = [c for c in reported if c not in stored]
        assert not missing, f"reported but lost after kill -9: {missing}"
        # Checkpoints follow the store's cadence: the newest may leave a tail unsigned,
        # but it signs a prefix of what is stored, and the durable tail gets signed
        # the next time records are about to leave the node.
        latest = store.log.latest_checkpoint("540102")
        assert latest is not None and 0 < latest.size <= size
        assert latest.root == store.log.root("540102", latest.size)
        assert store.ensure_checkpoint() == size
        latest = store.log.latest_checkpoint("540102")
        assert latest.size == size and latest.root == store.log.root("540102", size)
    finally:
        store.close()
    before = dump_projections(home / "node.db")
    run(home, "db", "rebuild")
    assert dump_projections(home / "node.db") == before


def test_cli_success_survives_immediate_kill(tmp_path):
    home = make_node(tmp_path)
    matter = _first_matter(home)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from node.cli import main; main()", "case", "apply",
         "--matter", matter, "--applicant", ID_OK, "--name", "卓玛", "--home", str(home)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    line = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    case_no = line.split()[0]
    _check_store(home, [case_no])


def test_writer_killed_at_random_points_loses_nothing(tmp_path):
    home = make_node(tmp_path)
    matter = _first_matter(home)
    rng = random.Random(7)
    reported: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), matter, ID_OK],
            stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
        )
        for _ in range(rng.randint(1, 40)):
            reported.append(proc.stdout.readline().split()[0])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _check_store(home, reported)


def test_online_backup_is_a_complete_verifiable_copy(tmp_path):
    home = make_node(tmp_path)
    out = tmp_path / "backup.db"
    result = run(home, "db", "backup", "--out", str(out))
    assert result.output.startswith(f"backed up 540102 to {out}")
    live, copy = (sqlite3.connect(p) for p in (home / "node.db", out))
    try:
        query = "SELECT origin, seq, data FROM records ORDER BY origin, seq"
        assert copy.execute(query).fetchall() == live.execute(query).fetchall()
    finally:
        live.close()
        copy.close()
    again = run(home, "db", "backup", "--out", str(out), ok=False)
    assert again.exit_code == 1 and "already exists" in again.output
