"""A region's calendar notice flows down and moves the county's deadlines."""

import json
from datetime import date

from node_fixtures import tongban

from node.workdays import Calendar
from ops.fedcheck import COUNTY, REGION

CLOCK = {"TONGBAN_CLOCK": "2026-12-21T10:00"}  # a Monday


def test_regional_holiday_reaches_the_county_and_shifts_deadlines(fed_copy):
    fed = fed_copy
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    code = json.loads(tongban("matter", "list", "--json", home=county).stdout)[0]["code"]
    required = [m["name"] for m in json.loads(tongban(
        "matter", "show", code, "--json", home=county).stdout)["materials"] if m.get("required")]
    case = tongban("case", "apply", "--matter", code, "--applicant", "540102199001010011",
                   "--name", "扎西", *[a for m in required for a in ("--material", m)],
                   home=county, env=CLOCK).stdout.split()[0]
    tongban("case", "accept", case, home=county, env=CLOCK)
    before = json.loads(tongban("case", "show", case, "--json", home=county).stdout)["due"]
    out = tongban("calendar", "publish", "--year", "2026", "--holiday", "2026-12-22",
                  "--holiday", "2026-12-23", home=region)
    assert out.stdout.startswith("published 2 holidays and 0 working days for 2026 from 540000")
    fed.start(REGION)
    try:
        fed.sync(COUNTY)
    finally:
        fed.stop_all()
    shown = json.loads(tongban("calendar", "show", "--json", home=county).stdout)
    assert shown == [{"day": "2026-12-22", "workday": False, "from": REGION},
                     {"day": "2026-12-23", "workday": False, "from": REGION}]
    after = json.loads(tongban("case", "show", case, "--json", home=county).stdout)["due"]
    calendar = Calendar([(date(2026, 12, 22), False), (date(2026, 12, 23), False)])
    limit = json.loads(tongban("case", "show", case, "--json", home=county).stdout)["limit_days"]
    assert after == calendar.add_workdays(date(2026, 12, 21), limit).isoformat()
    assert after > before


def test_bad_calendar_input_is_refused(fed_copy):
    region = fed_copy.nodes[REGION].home
    wrong = tongban("calendar", "publish", "--year", "2027", "--holiday", "2026-12-22",
                    home=region, check=False)
    assert wrong.returncode == 1 and "holiday date 2026-12-22 is not in 2027" in wrong.stderr
    both = tongban("calendar", "publish", "--year", "2027", "--holiday", "2027-02-07",
                   "--workday", "2027-02-07", home=region, check=False)
    assert both.returncode == 1 and "both as holiday and as working day" in both.stderr
