"""Clock bounds (issue 11): a wrong clock is refused or flagged; no stored time crashes readers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from node_fixtures import ID_OK, make_node, run, tongban

from node import cases, clock_guard, problems
from node.cli.common import format_ms
from node.clock_guard import flags
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from node.workdays import CHINA_TZ
from ops.fedcheck import COUNTY, REGION
from sync import bundle as bundles
from sync.records import LOGICAL_BITS, hlc_ms, show_ms


def _apply(store: NodeStore) -> cases.Outcome:
    matter = store.db.execute("SELECT impl_code, data FROM matters LIMIT 1").fetchone()
    materials = [m["name"] for m in json.loads(matter[1]).get("materials", [])
                 if m.get("required")]
    return cases.apply(store, matter_code=matter[0], applicant=ID_OK, applicant_name="扎西",
                       channel="window", materials=materials, actor="窗口01")


def _far_future_case(home: Path, year: int = 9999) -> str:
    """A case written by a version without clock bounds: its clock was already at ``year``."""
    store = NodeStore.open(Home(home))
    try:
        store.clock.last = int(datetime(year, 12, 31, 12, tzinfo=UTC).timestamp() * 1000
                               ) << LOGICAL_BITS
        return _apply(store).case.case_no
    finally:
        store.close()


def _apply_cli(home: Path, env: dict) -> object:
    store = NodeStore.open(Home(home))
    code, data = store.db.execute("SELECT impl_code, data FROM matters LIMIT 1").fetchone()
    store.close()
    args = ["case", "apply", "--matter", code, "--applicant", ID_OK, "--name", "扎西"]
    for m in json.loads(data).get("materials", []):
        if m.get("required"):
            args += ["--material", m["name"]]
    return run(home, *args, ok=False, env=env)


def test_a_year_9999_home_stays_readable(tmp_path):
    home = make_node(tmp_path)
    case_no = _far_future_case(home)
    assert "-9999-" in case_no
    for args, env in ((("case", "list"), {}), (("case", "list", "--json"), {}),
                      (("case", "show", case_no, "--history"), {}),
                      (("case", "show", case_no), {"TONGBAN_CLOCK": "0001-01-01T10:00"}),
                      (("case", "list"), {"TONGBAN_CLOCK": "0001-01-01T10:00"}),
                      (("stats",), {})):
        result = run(home, *args, env=env, ok=False)
        assert result.exit_code == 0, (args, result.output, result.exception)
    # and writes on the real clock refuse, naming both times, instead of reissuing year 9999
    refused = _apply_cli(home, {"TONGBAN_CLOCK": ""})
    assert refused.exit_code == 1
    assert "clock refused" in refused.output and "9999-12-31" in refused.output


def test_implausible_wall_clocks_are_refused_in_one_line(tmp_path):
    home = make_node(tmp_path, env={"TONGBAN_CLOCK": "2026-11-02T10:00"})
    for clock in ("2300-01-01T00:00", "1999-12-31T23:00", "0001-01-01T10:00"):
        refused = _apply_cli(home, {"TONGBAN_CLOCK": clock})
        assert refused.exit_code == 1 and "clock refused" in refused.output, refused.output
        assert refused.output.count("\n") == 1
    # a drill at 2150 on a home without a parent receipt, then the system clock again
    assert _apply_cli(home, {"TONGBAN_CLOCK": "2150-01-01T10:00"}).exit_code == 0
    earlier = _apply_cli(home, {"TONGBAN_CLOCK": ""})
    assert earlier.exit_code == 1 and "newest record is from 2150-01-01" in earlier.output
    config = (home / "tongban.toml").read_text()
    (home / "tongban.toml").write_text(config + "\n[clock]\ntolerance_minutes = 100000000\n")
    assert _apply_cli(home, {"TONGBAN_CLOCK": ""}).exit_code == 0


def test_a_drill_clock_is_refused_on_a_real_home(fed_copy):
    fed = fed_copy
    county = fed.nodes[COUNTY].home
    config = (county / "tongban.toml").read_text()
    (county / "tongban.toml").write_text(config.replace("drill = true", "drill = false"))
    fed.start(REGION)
    tongban("sync", "--once", home=county)
    refused = _apply_cli(county, {"TONGBAN_CLOCK": "2100-06-01T10:00"})
    assert refused.exit_code == 1 and "$TONGBAN_CLOCK is set" in refused.output
    with sqlite3.connect(county / "node.db") as db:
        assert not db.execute("SELECT 1 FROM cases WHERE case_no LIKE '%-2100-%'").fetchall()
    (county / "tongban.toml").write_text(config)  # the local federation's drill marking
    assert _apply_cli(county, {"TONGBAN_CLOCK": "2027-01-04T10:00"}).exit_code == 0


def test_a_far_future_record_is_stored_flagged_and_does_not_drag_the_clock(fed_copy, tmp_path):
    fed = fed_copy
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    _far_future_case(county, 2150)
    up = tmp_path / "up.tbb"
    tongban("bundle", "export", "--for-parent", "--out", str(up), home=county)
    store = NodeStore.open(Home(region))
    try:
        replica = build(store)
        bundles.import_bundle(replica, up.read_bytes(), "bundle")
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        assert hlc_ms(store.clock.last) <= now_ms + 6 * 60_000
        (flag,) = flags(store.db)
        assert flag.origin == COUNTY and "2150-12-31" in flag.reason
        (problem,) = [p for p in problems.listed(store.db) if p.source == "clock"]
        assert problem.id == f"clock:{COUNTY}#{flag.seq}" and problem.rule == "future-time"
        assert store.db.execute("SELECT count(*) FROM records WHERE origin = ?",
                                (COUNTY,)).fetchone()[0] > flag.seq  # stored all the same
    finally:
        store.close()


def test_stored_times_past_the_calendar_format_as_its_ends():
    end_of_9999 = int(datetime(9999, 12, 31, 23, 0, tzinfo=UTC).timestamp() * 1000)
    start_of_0001 = int(datetime(1, 1, 1, 0, 30, tzinfo=UTC).timestamp() * 1000)
    assert show_ms(end_of_9999) == "9999-12-31 23:00"
    assert show_ms(end_of_9999, CHINA_TZ) == "after 9999"     # +8 h is year 10000
    assert show_ms(start_of_0001, timezone(timedelta(hours=-8))) == "before 0001"
    assert show_ms(2**64 - 1) == "after 9999" and show_ms(-(2**63)) == "before 0001"
    assert format_ms(2**64 - 1) == "after 9999"
    assert clock_guard.show(2**64 - 1) == "after 9999"


def test_the_report_of_a_year_9999_home_renders(tmp_path):
    home = make_node(tmp_path)
    _far_future_case(home)
    for env in ({}, {"TONGBAN_CLOCK": "0001-01-01T10:00"},
                {"TONGBAN_CLOCK": "9999-12-31T23:00+00:00"}):
        out = tmp_path / "report.html"
        result = run(home, "report", "--out", str(out), env=env, ok=False)
        assert result.exit_code == 0, (result.output, result.exception)
        assert "<html" in out.read_text()
