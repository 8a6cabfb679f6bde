"""Every command fed bad arguments: one stderr line, the documented exit code, nothing changed.

Exit codes (README): 1 refused (bad input), 2 could not run. The database dump
(sqlite3's iterdump, every table) must be identical before and after.
"""

from __future__ import annotations

import sqlite3

import pytest
from node_fixtures import tongban

from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import COUNTY

CONTROL = "\x1b[31m\r\n"
NOT_UTF8 = "\udcff\udcfe"  # what Python makes of the bytes ff fe in argv

CASES = [
    (("init", "--division", "999999", "--name", "x"), 1, "unknown division code 999999"),
    (("case", "apply", "--matter", "540102-GG-001", "--applicant", "540102199001011233",
      "--name", NOT_UTF8), 1, "--name is not valid UTF-8"),
    (("case", "apply", "--matter", "540102-GG-001", "--applicant", "540102199001011233",
      "--name", CONTROL), 1, "control character U+001B"),
    (("case", "apply", "--matter", "540102-GG-001", "--applicant", "540102199002301232",
      "--name", "扎西"), 1, "bad resident ID 5401021990...: birth date 19900230"),
    (("matter", "show", "540102-GG-001", "--version", "99999999999999999999999"), 1,
     "bad version 99999999999999999999999"),
    (("matter", "import", "/dev/zero"), 1, "is not a regular file"),
    (("notice", "send", "--to", "999999", "--title", "t", "--text", "x"), 1,
     "unknown recipient 999999"),
    (("notice", "send", "--to", "540121", "--title", "\u202e名单", "--text", "x"), 1,
     "control character U+202E"),
    (("calendar", "publish", "--year", "99999999999999999999", "--holiday", "2026-01-01"), 1,
     "bad year"),
    (("pki", "init-root", "--out", "{tmp}/root", "--days", "99999999999999"), 1,
     "bad validity"),
    (("bundle", "import", "/dev/zero"), 1, "is not a regular file"),
    (("audit", "check", "/dev/zero", "--root", "/dev/zero"), 1, "is not a regular file"),
]


def dump(home) -> list[str]:
    db = sqlite3.connect(home / "node.db")
    try:
        return list(db.iterdump())
    finally:
        db.close()


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0][:2])
                                                                   for c in CASES])
def test_bad_arguments_give_one_line_and_change_nothing(fed_copy, tmp_path, args, code,
                                                        message):
    home = fed_copy.nodes[COUNTY].home
    build(NodeStore.open(Home(home))).db.close()  # files the node's own chain once
    before = dump(home)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = tongban(*argv, home=None if args[:2] == ("audit", "check") else home, check=False)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert message in lines[0]
    assert done.returncode == code, done.stderr
    assert dump(home) == before


def test_a_damaged_database_stops_every_command_with_exit_2(fed_copy):
    home = fed_copy.nodes[COUNTY].home
    data = bytearray((home / "node.db").read_bytes())
    for page in range(2, len(data) // 4096):
        data[page * 4096 + 3800:page * 4096 + 4000] = bytes(range(200))
    (home / "node.db").write_bytes(data)
    for args in (("case", "list"), ("status",), ("db", "rebuild"),
                 ("db", "backup", "--out", str(home.parent / "b.db"))):
        done = tongban(*args, home=home, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.splitlines() == [done.stderr.strip()]
        assert "is damaged" in done.stderr and "restore the newest backup" in done.stderr
    assert not (home.parent / "b.db").exists()


def test_the_home_and_its_database_are_private(fed_copy, tmp_path):
    home = tmp_path / "new"
    tongban("init", "--division", "659012", "--name", "白杨市", home=home)
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "node.db").stat().st_mode & 0o777 == 0o600
