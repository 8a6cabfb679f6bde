"""Disk full, a file-size limit and a read-only medium, for real (issue 12).

A full disk and a read-only medium need a filesystem of their own: a tiny
tmpfs mounted for the test. Mounting needs root (CAP_SYS_ADMIN); elsewhere
these tests skip and say so. The file-size limit (RLIMIT_FSIZE, EFBIG) needs
nothing special. Each command runs as a real subprocess and must print one
line, exit 2 and leave the database as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from node_fixtures import ID_OK, dump_projections, tongban

from node.home import Home
from node.store import NodeStore
from ops.fedcheck import COUNTY, records


@pytest.fixture
def tiny_fs(tmp_path):
    """A 2 MiB tmpfs at tmp_path/fs, unmounted afterwards."""
    where = tmp_path / "fs"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


def _cli(home: Path, *args: str, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "node.cli", *args, "--home", str(home)],
                          capture_output=True, text=True, preexec_fn=preexec,
                          cwd=Path(__file__).resolve().parents[1])


def _apply(home: Path, preexec=None) -> subprocess.CompletedProcess:
    code = json.loads((home / "matter.json").read_text())[0]["code"]
    return _cli(home, "case", "apply", "--matter", code, "--applicant", ID_OK,
                "--name", "次仁", preexec=preexec)


def _copy_home(fed_copy, into: Path) -> Path:
    home = into / COUNTY
    shutil.copytree(fed_copy.nodes[COUNTY].home, home)
    (home / "matter.json").write_text(
        tongban("matter", "list", "--json", home=home).stdout)  # read before the disk fills
    return home


def _assert_refused_unchanged(result, home: Path, before, held, words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "Traceback" not in result.stderr
    # read a copy made elsewhere: on a full disk SQLite cannot even open its -shm file here
    elsewhere = Path(tempfile.mkdtemp()) / COUNTY
    shutil.copytree(home, elsewhere)
    assert dump_projections(elsewhere / "node.db") == before
    assert records(elsewhere, COUNTY) == held


def test_a_full_disk_is_one_line_and_changes_nothing(fed_copy, tiny_fs):
    home = _copy_home(fed_copy, tiny_fs)
    assert _apply(home).returncode == 0  # the WAL and -shm exist before the disk fills
    before, held = dump_projections(home / "node.db"), records(home, COUNTY)
    with open(tiny_fs / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:
            pass
    result = _apply(home)
    _assert_refused_unchanged(result, home, before, held, "the disk is full")


def test_a_file_size_limit_is_one_line_and_changes_nothing(fed_copy, tmp_path):
    """RLIMIT_FSIZE makes writes fail with EFBIG, which SQLite reports as an I/O error
    (not as "full"): the message says the database failed, exit 2, nothing changed."""
    home = _copy_home(fed_copy, tmp_path)
    assert _apply(home).returncode == 0
    before, held = dump_projections(home / "node.db"), records(home, COUNTY)
    # An empty WAL: the write must grow a file. The connection stays open, so the WAL and
    # -shm stay in place (closing the last connection would delete them, and whether it is
    # the last depends on when this process collects connections its in-process CLI left).
    keeper = sqlite3.connect(home / "node.db")
    keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    limit = 4096  # below one WAL frame (24-byte header + a 4 KiB page)

    def limited() -> None:
        import resource
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = None
    for _ in range(40):  # until the WAL reaches the limit
        result = _apply(home, preexec=limited)
        if result.returncode != 0:
            break
        before, held = dump_projections(home / "node.db"), records(home, COUNTY)
    try:
        _assert_refused_unchanged(result, home, before, held, "the node database failed")
    finally:
        keeper.close()


def test_a_read_only_home_is_refused_in_one_line_and_audited_immutable(fed_copy, tiny_fs):
    """On a read-only mount root cannot write either, so SQLite's immutable=1 path is the
    one audit verify takes; case apply says it cannot write the database."""
    home = _copy_home(fed_copy, tiny_fs)
    assert _apply(home).returncode == 0
    store = NodeStore.open(Home(home))  # sign the cadence's tail, as an exchange would
    store.ensure_checkpoint()
    # a second connection stays open, as a running serve's would: closing the store is then
    # not the last close, which would checkpoint the WAL into node.db (when it fits)
    keeper = sqlite3.connect(home / "node.db")
    keeper.execute("SELECT count(*) FROM records").fetchone()
    store.close()
    assert (home / "node.db-wal").stat().st_size > 0
    before, held = dump_projections(home / "node.db"), records(home, COUNTY)
    seen = tiny_fs.parent / "read-only"  # the same files through a read-only bind mount
    seen.mkdir()
    subprocess.run(["mount", "--bind", str(tiny_fs), str(seen)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(seen)], check=True)
        copy = seen / COUNTY
        assert not os.access(copy, os.W_OK)
        _assert_refused_unchanged(_apply(copy), copy, before, held, "node database")
        audit = [sys.executable, "-m", "node.cli", "audit", "verify", str(copy), "--json"]
        refused = subprocess.run(audit, capture_output=True, text=True)
        assert refused.returncode == 2 and "holds writes not yet in node.db" in refused.stderr
        keeper.close()
        subprocess.run(["mount", "-o", "remount,rw,bind", str(seen)], check=True)
        db = sqlite3.connect(copy / "node.db")  # what stopping tongban does to the WAL
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        subprocess.run(["mount", "-o", "remount,ro,bind", str(seen)], check=True)
        audited = subprocess.run(audit, capture_output=True, text=True)
        assert audited.returncode == 0, audited.stderr
        report = json.loads(audited.stdout)
        assert report["ok"] and report["origins"][COUNTY]["records"] == len(held) > 0
    finally:
        keeper.close()
        subprocess.run(["umount", "-l", str(seen)], check=True)
