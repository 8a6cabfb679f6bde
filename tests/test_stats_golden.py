"""Statistics on the fixed federation (tests/oversight_fixtures.py) against hand-worked figures.

Every number below is worked out from the dates in the fixture:
county 540102: c1 2 days on time; c2 7-3=4 days on time, 补正; c6 即办件 0 days
on time; c5 due 10-10 (国庆, and the worked Saturday), concluded 10-12 after 6
working days: late; c3 refused; c4 withdrawn. County 540121: c7 14 days, due
03-16: late; c8 accepted, c9 applied, c10 in 补正 — all open.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from node_fixtures import run
from oversight_fixtures import COUNTY_A, COUNTY_B, REGION, at

LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")


@pytest.fixture(scope="module")
def fed(oversight_synced):
    return oversight_synced


def stats(home, *args):
    return json.loads(run(home, "stats", *args, "--json", env=at("2026-11-18")).output)


def test_county_own_figures(fed):
    fed, _ = fed
    got = stats(fed.nodes[COUNTY_A].home)
    t = got["total"]
    assert (t["applications"], t["accepted"], t["refused"], t["concluded"], t["withdrawn"]) \
        == (6, 4, 1, 4, 1)
    assert (t["on_time"], t["on_time_rate"]) == (3, 0.75)
    assert (t["average_days"], t["p90_days"]) == (3.0, 6)          # days 0, 2, 4, 6
    assert (t["instant_share"], t["one_visit_share"], t["no_visit_share"]) \
        == (0.1667, 0.75, 0.5)
    assert t["evaluations"] == dict(zip(LEVELS, (1, 0, 0, 1, 1), strict=True))
    assert (t["evaluated"], t["good_rate"], t["poor"], t["poor_closed"], t["poor_closed_rate"]) \
        == (3, 0.3333, 2, 1, 0.5)
    # 18 of the 28 sample items have online depth 3 or 4, five have depth 4.
    assert got["catalogue"] == {"items": 28, "online_capable": 18, "fully_online": 5,
                                "online_rate": 0.6429, "fully_online_rate": 0.1786}
    assert t["supplement_rounds"] == 1                              # c2's one 补正
    assert "chinese-calendar" in got["calendar"]


def test_region_subtree_figures_and_county_ranking(fed):
    fed, _ = fed
    region = fed.nodes[REGION].home
    assert stats(region)["total"]["applications"] == 0            # the region owns no case
    got = stats(region, "--subtree", "--by", "county")
    t = got["total"]
    assert (t["applications"], t["accepted"], t["refused"], t["concluded"], t["withdrawn"]) \
        == (10, 6, 1, 5, 1)
    assert (t["on_time_rate"], t["average_days"], t["p90_days"]) == (0.6, 5.2, 14)
    assert (t["instant_share"], t["one_visit_share"], t["no_visit_share"]) == (0.1, 0.8, 0.4)
    assert (t["evaluated"], t["good_rate"], t["poor_closed_rate"]) == (4, 0.5, 0.5)
    assert t["supplement_rounds"] == 2                              # c2's and c10's
    counties = {g["county"]: g for g in got["groups"]}
    assert (counties[COUNTY_A]["rank"], counties[COUNTY_B]["rank"]) == (1, 2)
    assert (counties[COUNTY_B]["applications"], counties[COUNTY_B]["on_time_rate"],
            counties[COUNTY_B]["p90_days"]) == (4, 0.0, 14)


def test_grouping_by_month_channel_and_a_period(fed):
    fed, _ = fed
    region = fed.nodes[REGION].home
    months = {g["month"]: g["applications"]
              for g in stats(region, "--subtree", "--by", "month")["groups"]}
    assert months == {"2026-03": 3, "2026-04": 2, "2026-05": 1, "2026-09": 1, "2026-11": 3}
    channels = {g["channel"]: g["applications"]
                for g in stats(region, "--subtree", "--by", "channel")["groups"]}
    assert channels == {"window": 6, "online": 2, "mobile": 1, "self-service": 1}
    march = stats(region, "--subtree", "--from", "2026-03-01", "--to", "2026-03-31")["total"]
    assert (march["applications"], march["concluded"], march["on_time_rate"]) == (3, 3, 0.6667)
    bodies = stats(region, "--subtree", "--by", "body")["groups"]
    assert {g["body"]: g["applications"] for g in bodies} == {
        "拉萨市公安局城关分局": 8, "拉萨市城关区人力资源和社会保障局": 1, "拉萨市城关区民政局": 1}


def test_csv_has_a_total_row_and_one_row_per_county(fed):
    fed, _ = fed
    out = run(fed.nodes[REGION].home, "stats", "--subtree", "--by", "county", "--csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["county"] for r in rows] == ["total", COUNTY_A, COUNTY_B]
    assert [r["applications"] for r in rows] == ["10", "6", "4"]


def test_bad_period_is_refused(fed):
    fed, _ = fed
    result = run(fed.nodes[REGION].home, "stats", "--from", "2026-05-01", "--to", "2026-04-01",
                 ok=False)
    assert result.exit_code == 1 and "before --from" in result.output
