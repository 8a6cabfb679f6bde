"""Recovery (issue 11): a county that loses its disk rejoins without a fork or a reused number.

Real homes copied from the session federation, a real `tongban serve` for the
region, and the real CLI: in this process for restore, recover, sync and audit, in
subprocesses where a process is killed mid-command.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from node_fixtures import ID_OK, dump_projections, matter_codes, register_staff
from node_fixtures import tongban as in_process
from servicer_fixtures import stub_as

from ops.fedcheck import (
    COUNTY,
    REGION,
    add_events,
    assert_same_log,
    records,
    set_parent_address,
    size,
    verify_logs,
)
from ops.localfed import Federation, tongban
from protos.tongban.v1 import federation_pb2
from sync import merkle


@functools.cache
def _apply_args() -> tuple[str, ...]:
    """One sample-catalogue matter and its required materials (the same on every copy)."""
    template = Path(os.environ["TONGBAN_RECOVERY_TEMPLATE"])
    code = matter_codes(template)[0]["code"]
    matter = json.loads(tongban("matter", "show", code, "--json", home=template).stdout)
    args = ["case", "apply", "--matter", matter["impl_code"], "--applicant", ID_OK,
            "--name", "扎西", "--actor", "窗口01"]
    for m in matter.get("materials", []):
        if m.get("required"):
            args += ["--material", m["name"]]
    return tuple(args)


def apply_case(home: Path, check: bool = True) -> subprocess.CompletedProcess:
    return tongban(*_apply_args(), home=home, check=check)


def case_numbers(home: Path) -> list[str]:
    db = sqlite3.connect(home / "node.db")
    try:
        return [n for (n,) in db.execute("SELECT case_no FROM cases ORDER BY case_no")]
    finally:
        db.close()


def rows(home: Path, table: str) -> list[tuple]:
    db = sqlite3.connect(home / "node.db")
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        db.close()


def assert_clean(county: Path, region: Path) -> None:
    """audit verify clean on both; nothing quarantined or forked at the parent."""
    for home in (county, region):
        audit = tongban("audit", "verify", str(home / "node.db"), "--root",
                        str(home / "root.crt"), check=False)
        assert audit.returncode == 0, audit.stdout + audit.stderr
    assert rows(region, "quarantine") == []
    assert rows(region, "forks") == []
    verify_logs(county)
    verify_logs(region)


@pytest.fixture
def synced(fed_copy, fed_template, monkeypatch):
    """Region serving; county synced once, with two cases written and pushed."""
    monkeypatch.setenv("TONGBAN_RECOVERY_TEMPLATE", str(fed_template.nodes[COUNTY].home))
    fed = fed_copy
    fed.start(REGION)
    county = fed.nodes[COUNTY].home
    apply_case(county)
    apply_case(county)
    tongban("sync", "--once", home=county)
    return fed


def _written_numbers(home: Path, count: int) -> list[str]:
    return [apply_case(home).stdout.split()[0] for _ in range(count)]


def test_restore_then_recover_over_the_network_and_by_bundle(synced, tmp_path):
    fed = synced
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    backup = tmp_path / "county.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    assert backup.stat().st_mode & 0o777 == 0o600
    before = case_numbers(county)
    issued = _written_numbers(county, 3)
    tongban("sync", "--once", home=county)
    lost_size = size(county, COUNTY)

    # The network path: restore asks the parent at once and resumes at the true size.
    done = tongban("db", "restore", str(backup), home=county)
    assert f"this node holds {lost_size} records" in done.stdout
    assert f"writes resume at seq {lost_size}" in done.stdout
    assert set(issued) <= set(case_numbers(county))
    fresh = _written_numbers(county, 2)
    assert not set(fresh) & set(issued + before)
    tongban("sync", "--once", home=county)
    assert_same_log(county, region, COUNTY)

    # No link at restore time: writes refused until recover (here: by bundle).
    fed.stop(REGION)
    lost_size = size(county, COUNTY)
    issued += fresh
    done = tongban("db", "restore", str(backup), home=county, check=False)
    assert done.returncode == 1 and "writes stay refused" in done.stderr
    refused = apply_case(county, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: writes refused:") and "tongban recover" in (
        refused.stderr)
    assert refused.stderr.count("\n") == 1
    assert json.loads(tongban("case", "list", "--json", home=county).stdout)  # reads work

    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"
    tongban("bundle", "export", "--for-parent", "--out", str(up), home=county)
    tongban("bundle", "import", str(up), "--reply", str(down), home=region)
    tongban("bundle", "import", str(down), home=county)
    assert size(county, COUNTY) == lost_size
    more = _written_numbers(county, 2)
    assert not set(more) & set(issued + before)
    fed.start(REGION)
    tongban("sync", "--once", home=county)
    assert_same_log(county, region, COUNTY)
    assert_clean(county, region)


def test_empty_or_tableless_db_refuses_then_recovers(synced, tmp_path):
    fed = synced
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    held = size(county, COUNTY)
    issued = case_numbers(county)
    for damage in ("empty", "tableless"):
        db = county / "node.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        if damage == "empty":
            db.write_bytes(b"")
        else:
            sqlite3.connect(db).execute("CREATE TABLE unrelated (x)").connection.close()
        refused = tongban("matter", "import", "--sample", home=county, check=False)
        assert refused.returncode == 1, refused.stdout
        assert "log-started" in refused.stderr and "tongban recover" in refused.stderr
        done = tongban("recover", home=county)
        assert f"writes resume at seq {held}" in done.stdout, done.stdout
        assert records(county, COUNTY) == records(region, COUNTY)
        fresh = _written_numbers(county, 1)
        assert fresh[0] not in issued
        issued += fresh
        tongban("sync", "--once", home=county)
        held = size(county, COUNTY)
    assert_clean(county, region)


def test_manual_copy_of_an_old_db_is_caught_at_the_next_exchange(synced, tmp_path):
    """The README used to say: put the file back as node.db. The parent's Hello catches it."""
    fed = synced
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    backup = tmp_path / "old.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    issued = _written_numbers(county, 2)
    tongban("sync", "--once", home=county)
    gc.collect()  # the commands ran in this process: close what they left for the collector
    (county / "node.db").write_bytes(backup.read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(f"{county / 'node.db'}{suffix}").unlink(missing_ok=True)
    # Before any exchange: log-started knows the log was longer, so no number is reissued.
    refused = apply_case(county, check=False)
    assert refused.returncode == 1 and "older copy" in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1
    tongban("sync", "--once", home=county)  # recovers at the start of the exchange
    assert set(issued) <= set(case_numbers(county))
    assert not set(_written_numbers(county, 1)) & set(issued)
    tongban("sync", "--once", home=county)
    assert_clean(county, region)


def test_records_no_ancestor_holds_stay_refused_until_the_operator_accepts_the_loss(
        synced, tmp_path):
    county = synced.nodes[COUNTY].home
    backup = tmp_path / "old.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    held = size(county, COUNTY)
    lost = _written_numbers(county, 2)  # never synced: only this disk had them
    (county / "node.db").write_bytes(backup.read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(f"{county / 'node.db'}{suffix}").unlink(missing_ok=True)
    refused = tongban("recover", home=county, check=False)
    assert refused.returncode == 1 and "--accept-loss" in refused.stderr, refused.stderr
    assert apply_case(county, check=False).returncode == 1
    done = tongban("recover", "--accept-loss", home=county)
    assert f"writes resume at seq {held}" in done.stdout
    assert f"records {held}..{held + 1} of this node's log were written here" in done.stderr
    assert set(_written_numbers(county, 1)) <= set(lost)  # issued again, as it warned
    tongban("sync", "--once", home=county)
    assert_clean(county, synced.nodes[REGION].home)


def test_restore_refuses_a_partial_a_foreign_and_a_newer_backup(synced, tmp_path):
    county = synced.nodes[COUNTY].home
    backup = tmp_path / "good.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    partial = tmp_path / "partial.db"
    partial.write_bytes(backup.read_bytes()[:4096])
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    newer = tmp_path / "newer.db"
    newer.write_bytes(backup.read_bytes())
    sqlite3.connect(newer).execute("PRAGMA user_version = 99").connection.close()
    before = records(county, COUNTY)
    for bad, words in ((partial, "not a readable database"), (empty, "neither"),
                       (newer, "newer tongban")):
        done = tongban("db", "restore", str(bad), home=county, check=False)
        assert done.returncode in (1, 2) and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1
    assert records(county, COUNTY) == before
    apply_case(county)  # still writable: nothing changed

    stranger = tmp_path / "stranger"
    tongban("init", "--division", COUNTY, "--name", "新", home=stranger)
    done = tongban("db", "restore", str(backup), home=stranger, check=False)
    assert done.returncode == 1 and "no node certificate" in done.stderr


def test_newer_database_is_refused_in_one_line(synced):
    county = synced.nodes[COUNTY].home
    sqlite3.connect(county / "node.db").execute("PRAGMA user_version = 99").connection.close()
    done = tongban("case", "list", home=county, check=False)
    assert done.returncode == 2 and "newer tongban (database version 99" in done.stderr
    assert done.stderr.count("\n") == 1


def test_migration_backs_up_first(synced):
    county = synced.nodes[COUNTY].home
    db = sqlite3.connect(county / "node.db")
    db.execute("DROP TABLE log_guard")
    db.execute("DROP TABLE clock_flags")
    db.execute("PRAGMA user_version = 1")
    db.close()
    done = tongban("case", "list", home=county)
    assert "from version 1 to 3: backing up to" in done.stderr
    (backup,) = county.glob("node.db.v1-*.bak")
    assert backup.stat().st_mode & 0o777 == 0o600
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone() == (1,)


def test_migration_3_drops_the_level_one_tree_nodes_and_proofs_still_verify(synced, tmp_path):
    county = synced.nodes[COUNTY].home
    db = sqlite3.connect(county / "node.db")
    with db:
        leaves = [h for (h,) in db.execute(
            "SELECT leaf_hash FROM records WHERE origin = ? ORDER BY seq", (COUNTY,))]
        db.executemany("INSERT INTO tree_nodes VALUES (?, 1, ?, ?)", [
            (COUNTY, i, merkle.node_hash(leaves[2 * i], leaves[2 * i + 1]))
            for i in range(len(leaves) // 2)])
    db.execute("PRAGMA user_version = 2")
    db.close()
    tongban("case", "list", home=county)  # opens the store: migrates
    case_no = case_numbers(county)[0]
    db = sqlite3.connect(county / "node.db")
    assert db.execute("PRAGMA user_version").fetchone() == (3,)
    assert db.execute("SELECT count(*) FROM tree_nodes WHERE level = 1").fetchone() == (0,)
    db.close()
    assert tongban("audit", "verify", str(county), home=county).returncode == 0
    proof = tmp_path / "case.proof"
    tongban("audit", "prove", "--case", case_no, "--out", str(proof), home=county)
    assert tongban("audit", "check", str(proof), "--root", str(county / "root.crt")
                   ).returncode == 0
    apply_case(county)  # appends after the dropped level continue the same tree
    assert tongban("sync", "--once", home=county).returncode == 0


def test_full_home_backup_restores_a_lost_home_with_the_encrypted_key(synced, tmp_path):
    fed = synced
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    secret = tmp_path / "pass"
    secret.write_text("correct horse\n")
    plain = tmp_path / "home.tar.gz"
    tongban("db", "backup", "--full", "--out", str(plain), home=county)
    import tarfile
    with tarfile.open(plain) as archive:
        assert "node.key" not in archive.getnames() and "node.key.enc" not in archive.getnames()
        assert {"tongban.toml", "node.crt", "node.db"} <= set(archive.getnames())
    keyed = tmp_path / "home-key.tar.gz"
    tongban("db", "backup", "--full", "--with-key", "--passphrase-file", str(secret),
            "--out", str(keyed), home=county)
    assert keyed.stat().st_mode & 0o777 == 0o600
    with tarfile.open(keyed) as archive:
        key = archive.extractfile("node.key.enc").read()
    assert b"ENCRYPTED" in key
    db = sqlite3.connect(county / "node.db")   # doctor and the metrics see both backups
    try:
        assert [path for (path,) in db.execute("SELECT path FROM backups ORDER BY at_ms")
                ][-2:] == [str(plain), str(keyed)]
    finally:
        db.close()
    issued = _written_numbers(county, 2)
    tongban("sync", "--once", home=county)

    lost = tmp_path / "new-disk"
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    bad = tongban("db", "restore", str(keyed), "--passphrase-file", str(wrong), home=lost,
                  check=False)
    assert bad.returncode == 1 and "passphrase does not open" in bad.stderr
    done = tongban("db", "restore", str(keyed), "--passphrase-file", str(secret), home=lost)
    assert "writes resume" in done.stdout
    assert (lost / "node.key").stat().st_mode & 0o777 == 0o600
    assert set(issued) <= set(case_numbers(lost))
    assert not set(_written_numbers(lost, 1)) & set(issued)
    tongban("sync", "--once", home=lost)
    assert_clean(lost, region)


def _kill_during(command: list[str], delay: float) -> int:
    process = subprocess.Popen([sys.executable, "-m", "node.cli", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait()


#: kill points per test in `make test`; the slow suite runs 25 + 2 × 25 of them
KILL_POINTS = 3


def _kill_points(count: int) -> list[float]:
    return [0.05 + 0.9 * i / max(count - 1, 1) for i in range(count)]


@pytest.mark.parametrize("points", [KILL_POINTS, pytest.param(25, marks=pytest.mark.slow)])
def test_kill_during_backup_never_leaves_a_partial_file(synced, tmp_path, points):
    county = synced.nodes[COUNTY].home
    add_events(county, 3000)
    for i, delay in enumerate(_kill_points(points)):
        target = tmp_path / f"b{i}.db"
        _kill_during(["db", "backup", "--out", str(target), "--home", str(county)], delay)
        if target.exists():
            db = sqlite3.connect(target)
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM records").fetchone()[0] > 0
            db.close()
        leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(f".b{i}.")]
        for p in leftovers:
            assert p.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("points", [KILL_POINTS, pytest.param(25, marks=pytest.mark.slow)])
def test_kill_during_restore_and_recover_then_recover_converges(synced, tmp_path, points):
    fed = synced
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    backup = tmp_path / "county.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    add_events(county, 2000)
    issued = case_numbers(county)
    tongban("sync", "--once", home=county)
    for delay in _kill_points(points):
        _kill_during(["db", "restore", str(backup), "--home", str(county)], delay)
        _kill_during(["recover", "--home", str(county)], delay / 2)
        done = tongban("recover", home=county, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert set(issued) <= set(case_numbers(county))
    fresh = _written_numbers(county, 1)
    assert fresh[0] not in issued
    tongban("sync", "--once", home=county)
    assert_clean(county, region)


@pytest.fixture
def four_levels(tmp_path):
    """National, region 540000, prefecture 540100 and county 540102, enrolled for real;
    the region and the prefecture serving over mutual TLS."""
    fed = Federation(tmp_path / "fed4", run=in_process)
    for code, parent in (("000000", None), (REGION, "000000"), ("540100", REGION),
                         (COUNTY, "540100")):
        fed.add(code, parent)
    county = fed.nodes[COUNTY].home
    in_process("matter", "import", "--sample", home=county)
    register_staff(county)
    fed.start(REGION)
    fed.start("540100")
    yield fed
    fed.stop_all()


def _county_apply(home: Path) -> str:
    code = json.loads(in_process("matter", "list", "--json", home=home).stdout)[0]["code"]
    matter = json.loads(in_process("matter", "show", code, "--json", home=home).stdout)
    required = [m["name"] for m in matter.get("materials", []) if m.get("required")]
    return in_process("case", "apply", "--matter", code, "--applicant", ID_OK, "--name", "扎西",
                   *[a for m in required for a in ("--material", m)],
                   home=home).stdout.split()[0]


def test_a_county_whose_parent_is_gone_too_recovers_from_the_grandparent(four_levels, tmp_path):
    fed = four_levels
    county = fed.nodes[COUNTY].home
    prefecture, region = fed.nodes["540100"].home, fed.nodes[REGION].home
    _county_apply(county)
    fed.sync(COUNTY)
    backups = {code: tmp_path / f"{code}.db" for code in (COUNTY, "540100")}
    for code, path in backups.items():
        in_process("db", "backup", "--out", str(path), home=fed.nodes[code].home)
    issued = [_county_apply(county) for _ in range(3)]
    fed.sync(COUNTY)
    fed.sync("540100")  # the region now holds the county's log too
    held = size(county, COUNTY)
    assert size(region, COUNTY) == held

    # Both disks are lost: the prefecture is down, the county restores its old backup.
    fed.stop("540100")
    restored = tongban("db", "restore", str(backups[COUNTY]), home=county, check=False)
    assert restored.returncode == 1 and "writes stay refused" in restored.stderr
    assert json.loads(in_process("case", "list", "--json", home=county).stdout)  # reads work
    assert fed.sync(COUNTY, check=False).returncode != 0  # the parent is gone

    # Recovery from the nearest ancestor that holds the log: parent_address at the region.
    prefecture_address = fed.nodes["540100"].address
    set_parent_address(county, fed.nodes[REGION].address)
    not_named = tongban("recover", home=county, check=False)
    assert not_named.returncode == 2, not_named.stdout + not_named.stderr
    assert not_named.stderr.count("\n") == 1
    done = tongban("recover", "--ancestor", REGION, home=county)
    assert f"recovered from {REGION}" in done.stdout
    assert f"writes resume at seq {held}" in done.stdout
    assert records(county, COUNTY) == records(region, COUNTY)
    fresh = _county_apply(county)
    assert fresh not in issued and size(county, COUNTY) == held + 1

    # The prefecture comes back from its own backup and recovers from the region; the
    # county syncs to it again and everything converges, with no fork anywhere.
    tongban("db", "restore", str(backups["540100"]), home=prefecture, check=False)
    tongban("recover", home=prefecture)
    fed.start("540100")
    set_parent_address(county, prefecture_address)
    fed.sync(COUNTY)
    fed.sync("540100")
    for home in (prefecture, region):
        assert_same_log(county, home, COUNTY)
    for home in (county, prefecture, region):
        audit = in_process("audit", "verify", str(home / "node.db"), "--root",
                        str(home / "root.crt"), check=False)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert rows(home, "quarantine") == [] and rows(home, "forks") == []


NATIONAL = "000000"


def _publish(home: Path, year: int) -> None:
    """One calendar notice of the national node: a record of its own log, signed at once."""
    tongban("calendar", "publish", "--year", str(year), "--holiday", f"{year}-02-07", home=home)


@pytest.fixture
def national_synced(fed_copy, tmp_path):
    """The national node serving, one notice published and pulled down by the region; a
    backup of the national node.db taken then (returned with the federation)."""
    fed = fed_copy
    national, region = fed.nodes[NATIONAL].home, fed.nodes[REGION].home
    fed.start(NATIONAL)
    _publish(national, 2027)
    fed.sync(REGION)
    assert_same_log(national, region, NATIONAL)
    backup = tmp_path / "national.db"
    tongban("db", "backup", "--out", str(backup), home=national)
    return fed, backup


def _restore_national(fed: Federation, backup: Path) -> None:
    """The national node's serve stopped and its old backup put back: writes refused, and
    both lines name the command that works for a node without a parent."""
    national = fed.nodes[NATIONAL].home
    fed.stop(NATIONAL)
    done = tongban("db", "restore", str(backup), home=national, check=False)
    assert done.returncode == 1 and "writes stay refused" in done.stderr, done.stderr
    assert "tongban recover --from-child DIVISION --address HOST:PORT" in done.stderr
    assert done.stderr.count("\n") == 1
    refused = tongban("calendar", "publish", "--year", "2031", "--holiday", "2031-02-07",
                      home=national, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: writes refused:")
    assert "'tongban recover --from-child DIVISION --address HOST:PORT'" in refused.stderr
    assert refused.stderr.count("\n") == 1


def _recover_from_region(fed: Federation, *extra: str, check: bool = True
                         ) -> subprocess.CompletedProcess:
    return tongban("recover", "--from-child", REGION, "--address", fed.nodes[REGION].address,
                   *extra, home=fed.nodes[NATIONAL].home, check=check)


def test_the_national_node_recovers_its_log_from_a_child_after_a_restore(national_synced):
    fed, backup = national_synced
    national, region = fed.nodes[NATIONAL].home, fed.nodes[REGION].home
    backed_up = size(national, NATIONAL)
    _publish(national, 2028)
    _publish(national, 2029)
    fed.sync(REGION)  # the region now holds all three notices, and pushed its own log up
    held = size(region, NATIONAL)
    assert held == size(national, NATIONAL) == backed_up + 2

    _restore_national(fed, backup)
    assert size(national, NATIONAL) == backed_up
    fed.start(REGION)
    done = _recover_from_region(fed)
    assert f"recovered from {REGION}" in done.stdout, done.stdout
    assert f"writes resume at seq {held}" in done.stdout
    assert_same_log(national, region, NATIONAL)
    assert_same_log(national, region, REGION)  # what the region had pushed comes back too
    _publish(national, 2030)
    assert size(national, NATIONAL) == held + 1  # no sequence number used twice

    fed.start(NATIONAL)
    fed.sync(REGION)
    assert_same_log(national, region, NATIONAL)
    for home in (national, region):
        audit = tongban("audit", "verify", str(home / "node.db"), "--root",
                        str(home / "root.crt"), check=False)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert rows(home, "quarantine") == [] and rows(home, "forks") == []
        verify_logs(home)


def test_a_child_that_holds_less_than_the_national_key_signed_keeps_writes_refused(
        national_synced):
    fed, backup = national_synced
    national, region = fed.nodes[NATIONAL].home, fed.nodes[REGION].home
    _publish(national, 2028)  # never pulled by the region: only this disk had it
    signed = size(national, NATIONAL)
    held = size(region, NATIONAL)
    assert held < signed

    _restore_national(fed, backup)
    fed.start(REGION)
    refused = _recover_from_region(fed, check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.splitlines()[-1].startswith("error: writes still refused:")
    assert "--accept-loss" in refused.stderr
    assert tongban("calendar", "publish", "--year", "2031", "--holiday", "2031-02-07",
                   home=national, check=False).returncode == 1
    done = _recover_from_region(fed, "--accept-loss")
    assert f"writes resume at seq {held}" in done.stdout
    assert f"records {held}..{signed - 1} of this node's log were written here" in done.stderr


def test_a_child_refuses_a_recovery_pull_from_an_ancestor_that_is_not_its_parent(
        national_synced):
    """The county's certificate was issued by the region: the national node, certified as it
    is, may not pull from it, by the CLI (Hello refused) or by a bare PullLogs."""
    fed, _ = national_synced
    national = fed.nodes[NATIONAL].home
    county = fed.start(COUNTY)
    refused = tongban("recover", "--from-child", COUNTY, "--address", county.address,
                      home=national, check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1
    assert (f"child {COUNTY} at {county.address} refused: PERMISSION_DENIED: {NATIONAL} is "
            f"not this node's parent") in refused.stderr, refused.stderr
    with (stub_as(national, COUNTY, county.address) as stub,
          pytest.raises(grpc.RpcError) as err):
        stub.PullLogs(federation_pb2.PullRequest(recover={NATIONAL: 0}), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details() == (f"{NATIONAL} is not this node's parent: our certificate "
                                   f"was issued by CN={REGION}")


def test_restore_copies_a_large_backup_in_constant_memory(synced, tmp_path):
    """The staged copy streams in chunks: a backup padded with 160 MB (a table this version
    does not know, which the checks ignore) restores with a peak far below its size."""
    fed = synced
    county = fed.nodes[COUNTY].home
    backup = tmp_path / "county.db"
    tongban("db", "backup", "--out", str(backup), home=county)
    db = sqlite3.connect(backup)
    try:
        with db:
            db.execute("CREATE TABLE padding (chunk BLOB)")
            db.executemany("INSERT INTO padding VALUES (?)",
                           ((os.urandom(1 << 20),) for _ in range(160)))
    finally:
        db.close()
    assert backup.stat().st_size > 160 << 20
    command = [sys.executable, "-c", "import resource, subprocess, sys; subprocess.run(sys.argv"
               "[1:], check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
               sys.executable, "-m", "node.cli", "db", "restore", str(backup), "--home",
               str(county)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 120, f"db restore of a {backup.stat().st_size >> 20} MB backup: {peak_mb} MB"


def test_a_damaged_home_backup_is_one_line_and_changes_nothing(synced, tmp_path):
    """A home backup with bytes changed inside its compressed node.db is refused in one line
    naming it, whether the damage shows while it streams or in the checks after, and the
    home keeps its database and leaves no staged file."""
    county = synced.nodes[COUNTY].home
    archive = tmp_path / "home.tar.gz"
    tongban("db", "backup", "--full", "--out", str(archive), home=county)
    data = bytearray(archive.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    archive.write_bytes(bytes(data))
    before = dump_projections(county / "node.db")
    done = tongban("db", "restore", str(archive), home=county, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert str(archive) in done.stderr and "damaged" in done.stderr, done.stderr
    assert dump_projections(county / "node.db") == before
    assert not [p.name for p in county.iterdir() if p.name.endswith(".tmp")]
