"""Calendar notices count only in their publisher's subtree (issue 10), at every level.

A real five-level federation over `tongban serve` with mutual TLS: national,
Tibet 540000, the prefectures Lhasa 540100 and Shigatse 540200, and one county
under each (城关区 540102, 桑珠孜区 540202). Lhasa's holidays must move its own
county's due dates and never Shigatse's, at the counties, the prefectures, the
region and the national node; the region's notice applies to both, and where
Shigatse says otherwise for its own subtree, the nearer publisher wins.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from node_fixtures import register_staff, tongban

from node.workdays import Calendar
from ops.localfed import Federation

CLOCK = {"TONGBAN_CLOCK": "2026-12-21T10:00"}  # a Monday
LHASA, SHIGATSE = "540100", "540200"
CHENGGUAN, SAMZHUBZE = "540102", "540202"
UNDER = {CHENGGUAN: LHASA, SAMZHUBZE: SHIGATSE}


def _apply_and_accept(home) -> tuple[str, int]:
    code = json.loads(tongban("matter", "list", "--json", home=home).stdout)[0]["code"]
    matter = json.loads(tongban("matter", "show", code, "--json", home=home).stdout)
    required = [m["name"] for m in matter["materials"] if m.get("required")]
    case = tongban("case", "apply", "--matter", code, "--applicant", "540102199001010011",
                   "--name", "扎西", *[a for m in required for a in ("--material", m)],
                   home=home, env=CLOCK).stdout.split()[0]
    tongban("case", "accept", case, home=home, env=CLOCK)
    shown = json.loads(tongban("case", "show", case, "--json", home=home).stdout)
    return case, shown["limit_days"]


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    fed = Federation(tmp_path_factory.mktemp("calfed"), run=tongban)
    for code, parent in (("000000", None), ("540000", "000000"), (LHASA, "540000"),
                         (SHIGATSE, "540000"), (CHENGGUAN, LHASA), (SAMZHUBZE, SHIGATSE)):
        fed.add(code, parent)
    for county in UNDER:
        tongban("matter", "import", "--sample", home=fed.nodes[county].home)
        register_staff(fed.nodes[county].home)
    for code in ("000000", "540000", LHASA, SHIGATSE):
        fed.start(code)
    yield fed
    fed.stop_all()


def _sync_all(fed: Federation) -> None:
    for code in (CHENGGUAN, SAMZHUBZE, LHASA, SHIGATSE, "540000", LHASA, SHIGATSE,
                 CHENGGUAN, SAMZHUBZE):
        fed.sync(code)


def _due(home, case: str) -> tuple[str, str]:
    """The due date `case show` prints and the indexed cases.due_day, at one node."""
    shown = json.loads(tongban("case", "show", case, "--json", home=home).stdout)["due"]
    db = sqlite3.connect(home / "node.db")
    try:
        (indexed,) = db.execute("SELECT due_day FROM cases WHERE case_no = ?",
                                (case,)).fetchone()
    finally:
        db.close()
    return shown, indexed


def test_a_notice_counts_only_in_its_publishers_subtree_at_every_level(fed):
    homes = {code: node.home for code, node in fed.nodes.items()}
    cases = {county: _apply_and_accept(homes[county]) for county in UNDER}
    _sync_all(fed)
    before = {county: _due(homes["000000"], cases[county][0]) for county in UNDER}

    tongban("calendar", "publish", "--year", "2026", "--holiday", "2026-12-22",
            "--holiday", "2026-12-23", home=homes[LHASA])
    tongban("calendar", "publish", "--year", "2026", "--holiday", "2026-12-24",
            home=homes["540000"])
    tongban("calendar", "publish", "--year", "2026", "--workday", "2026-12-24",
            home=homes[SHIGATSE])
    _sync_all(fed)

    start = date(2026, 12, 21)
    lhasa_days = Calendar([(date(2026, 12, 22), False), (date(2026, 12, 23), False),
                           (date(2026, 12, 24), False)])
    expected = {
        CHENGGUAN: lhasa_days.add_workdays(start, cases[CHENGGUAN][1]).isoformat(),
        # Lhasa's days do not count in Shigatse; the region's 12-24 is undone by Shigatse
        SAMZHUBZE: Calendar().add_workdays(start, cases[SAMZHUBZE][1]).isoformat(),
    }
    assert expected[CHENGGUAN] > before[CHENGGUAN][0]
    assert before[SAMZHUBZE] == (expected[SAMZHUBZE], expected[SAMZHUBZE])
    for county, (case, _) in cases.items():
        for holder in (county, UNDER[county], "540000", "000000"):
            assert _due(homes[holder], case) == (expected[county], expected[county]), \
                (county, holder)

    # What each level says is in force for each county, and who said it.
    for holder in ("540000", "000000"):
        shown = {county: json.loads(tongban("calendar", "show", "--for", county, "--json",
                                            home=homes[holder]).stdout) for county in UNDER}
        assert shown[CHENGGUAN] == [
            {"day": "2026-12-22", "workday": False, "from": LHASA},
            {"day": "2026-12-23", "workday": False, "from": LHASA},
            {"day": "2026-12-24", "workday": False, "from": "540000"}]
        assert shown[SAMZHUBZE] == [{"day": "2026-12-24", "workday": True, "from": SHIGATSE}]
    own = json.loads(tongban("calendar", "show", "--json", home=homes["540000"]).stdout)
    assert own == [{"day": "2026-12-24", "workday": False, "from": "540000"}]

    # A rebuild from the log gives the same per-owner due dates.
    tongban("db", "rebuild", home=homes["000000"])
    for county, (case, _) in cases.items():
        assert _due(homes["000000"], case) == (expected[county], expected[county])
