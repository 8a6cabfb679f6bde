"""Shared helpers for node tests: a real node home, CLI invocation, table dumps."""

from __future__ import annotations

import getpass
import json
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

from click.testing import CliRunner, Result

from node.cli import cli
from node.home import Home
from node.projection import PROJECTION_TABLES
from node.workdays import Calendar
from protos.tongban.v1 import record_pb2
from sync.records import build_record

ID_OK = "540102199001010011"  # Lhasa Chengguan, born 1990-01-01, valid check digit
USCC_OK = "91540100MA6T000006"


def run(home: Path, *args: str, ok: bool = True, env: dict | None = None) -> Result:
    result = CliRunner().invoke(cli, [*args, "--home", str(home)], env=env or {})
    if ok:
        assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def tongban(*args: str, home: Path | None = None, check: bool = True,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """``ops.localfed.tongban`` in this process: the same CLI, arguments and result.

    Setup and checks run here; a subprocess stays where the process is the
    point (``serve``, kill -9, concurrent writers). An exception the CLI does
    not turn into an exit code is raised, never hidden in an exit status.
    """
    argv = [*args, *(["--home", str(home)] if home is not None else [])]
    result = CliRunner().invoke(cli, argv, env=env, prog_name="tongban")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    done = subprocess.CompletedProcess(["tongban", *argv], result.exit_code, result.stdout,
                                       result.stderr)
    if check and done.returncode != 0:
        raise RuntimeError(f"tongban {' '.join(args)} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return done


#: Staff IDs the suites act as: the OS login (the --actor default) and the window IDs the
#: tests name. Each holds every case role, and test homes declare a one-person office,
#: so a test may take a case through every step as one person; tests/test_authority.py
#: checks roles and the separation of review and decision on homes without it.
TEST_STAFF = (getpass.getuser(), "窗口01", "窗口02", "窗口03", "窗口1", "科长")
CASE_ROLES = ("clerk", "reviewer", "approver", "supervisor")


def register_staff(home: Path, env: dict | None = None, *, one_person_office: bool = True,
                   staff: tuple[str, ...] = TEST_STAFF) -> None:
    """Put the test staff on a home's register (records in its log, like any node's)."""
    for staff_id in staff:
        run(home, "staff", "add", "--id", staff_id, "--name", f"测试{staff_id}",
            *[a for role in CASE_ROLES for a in ("--role", role)], env=env)
    if one_person_office:
        config = Home(home).load_config()
        config.staff_one_person_office = True
        Home(home).save_config(config)


def make_node(tmp_path: Path, division: str = "540102", sample: bool = True,
              env: dict | None = None, staff: bool = True) -> Path:
    home = tmp_path / f"node-{division}"
    run(home, "init", "--division", division, "--name", "测试节点", env=env)
    if sample:
        run(home, "matter", "import", "--sample", env=env)
    if staff:
        register_staff(home, env)
    return home


def matter_codes(home: Path) -> list[dict]:
    return json.loads(run(home, "matter", "list", "--json").output)


def dump_projections(db_path: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(db_path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in PROJECTION_TABLES}
    finally:
        db.close()


def calendar_of(notices: list[record_pb2.CalendarNotice]) -> Calendar:
    """The calendar these notices make, applied in order (a later notice wins for a date)."""
    return Calendar([(date.fromisoformat(day), working) for notice in notices
                     for day, working in [(d, False) for d in notice.holidays]
                     + [(d, True) for d in notice.working_days]])


def append_signed(store, origin: str, kind: int, body: bytes, recipient: str, at_ms: int) -> int:
    """Append a record to ``origin``'s log in ``store`` and sign a checkpoint over it with the
    store's real key, skipping every check (what a node running other software could do);
    returns its seq. The caller opens and closes ``store``."""
    with store.transaction():
        seq = store.log.size(origin)
        data = build_record(origin, seq, store.clock.tick(at_ms), kind, body, recipient)
        store.log.append(origin, seq, [data])
        store.db.execute("INSERT INTO arrivals (origin, seq) VALUES (?, ?)", (origin, seq))
        size = seq + 1
        previous = store.log.latest_checkpoint(origin)
        note = store.signer().sign(size, store.log.root(origin, size),
                                   (previous.size, previous.root),
                                   store.log.root(origin, previous.size))
        store.log.add_checkpoint(origin, size, store.log.root(origin, size), note)
    return seq
