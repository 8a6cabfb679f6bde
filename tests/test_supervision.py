"""Lights, clocks and 督办 on the fixed federation, through the network and by bundle;
the clocks across 国庆 and into 2027, which chinese-calendar does not cover."""

from __future__ import annotations

import json
from datetime import date

import pytest
from node_fixtures import ID_OK, calendar_of, run, tongban
from oversight_fixtures import COUNTY_A, COUNTY_B, REGION, at

from node import supervision, workflow
from node.home import Home
from node.store import Draft, NodeStore
from node.workdays import Calendar, ms_of_date
from ops.fedcheck import copy_federation
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

TODAY = at("2026-11-18")


@pytest.fixture
def fed(oversight_template, tmp_path):
    fed, cases = oversight_template
    copy = copy_federation(fed, tmp_path / "fed")
    yield copy, cases
    copy.stop_all()


def lights(home, *args):
    return json.loads(run(home, "supervise", "list", *args, "--json", env=TODAY).output)


def clocks_of(items, case_no):
    item = next(i for i in items if i["case_no"] == case_no)
    return item["light"], {c["name"]: (c["due"], c["remaining"], c["light"])
                           for c in item["clocks"]}


def test_lights_of_every_clock_at_the_owner(fed):
    fed, c = fed
    items = lights(fed.nodes[COUNTY_B].home)
    # 补正 asked 11-02, 10 working days: due 11-16, two working days ago.
    assert clocks_of(items, c["c10"]) == ("red", {"补正": ("2026-11-16", -2, "red")})
    # applied 11-16, acceptance limit 5: due 11-23, three working days left.
    assert clocks_of(items, c["c9"]) == ("yellow", {"受理": ("2026-11-23", 3, "yellow")})
    assert clocks_of(items, c["c8"]) == ("green", {"办结时限": ("2026-11-30", 8, "green")})
    # County A: all cases closed, but c5's 差评 (10-13) has not been verified (due 10-14).
    items = lights(fed.nodes[COUNTY_A].home)
    assert clocks_of(items, c["c5"]) == ("red", {"差评回访核实": ("2026-10-14", -25, "red")})
    assert [i["case_no"] for i in items] == [c["c5"]]      # c2's loop is closed


def test_acceptance_limit_is_configurable(fed):
    fed, c = fed
    home = Home(fed.nodes[COUNTY_B].home)
    config = home.load_config()
    config.supervision_acceptance_days = 2
    home.save_config(config)
    items = lights(home.path)
    # applied 11-16, limit 2: due 11-18, today.
    assert clocks_of(items, c["c9"]) == ("yellow", {"受理": ("2026-11-18", 0, "yellow")})
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(text.replace("acceptance_days = 2", 'acceptance_days = "five"'),
                                encoding="utf-8")
    result = run(home.path, "supervise", "list", ok=False, env=TODAY)
    assert result.exit_code != 0
    assert "[supervision] acceptance_days got 'five', want int" in result.output


def test_subtree_lists_and_counts_at_the_region_after_sync(fed):
    fed, c = fed
    fed.start(REGION)
    try:
        fed.sync(COUNTY_A)
        fed.sync(COUNTY_B)
    finally:
        fed.stop_all()
    region = fed.nodes[REGION].home
    assert lights(region) == []
    red = lights(region, "--subtree", "--light", "red")
    assert sorted(i["case_no"] for i in red) == sorted([c["c5"], c["c10"]])
    counts = lights(region, "--subtree", "--by", "county")
    assert counts == [{"county": COUNTY_B, "red": 1, "yellow": 1, "green": 1},
                      {"county": COUNTY_A, "red": 1, "yellow": 0, "green": 0}]


def test_notice_and_reply_through_the_network(fed):
    fed, c = fed
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY_B].home
    fed.start(REGION)
    try:
        fed.sync(COUNTY_B)
        out = run(region, "supervise", "notice", c["c8"], "--text", "请说明进度", "--due", "2",
                  env=TODAY).output
        notice_id = out.split()[1]
        # Red at the sender at once, whatever its due date.
        assert clocks_of(lights(region), c["c8"])[0] == "red"
        fed.sync(COUNTY_B)                                   # the notice comes down
        assert clocks_of(lights(county), c["c8"]) == ("red", {
            "办结时限": ("2026-11-30", 8, "green"), "督办": ("2026-11-20", 2, "red")})
        run(county, "supervise", "reply", notice_id, "--text", "材料齐全，本周办结", env=TODAY)
        assert clocks_of(lights(county), c["c8"])[0] == "green"
        fed.sync(COUNTY_B)                                   # the reply goes up
    finally:
        fed.stop_all()
    (notice,) = json.loads(run(region, "supervise", "notices", "--json").output)
    assert (notice["id"], notice["answered"], notice["reply_text"]) == \
        (notice_id, True, "材料齐全，本周办结")
    assert all(i["case_no"] != c["c8"] for i in lights(region))
    again = run(county, "supervise", "reply", notice_id, "--text", "x", ok=False, env=TODAY)
    assert again.exit_code == 1 and "answered already" in again.output


def test_notice_and_reply_by_bundle(fed, tmp_path):
    fed, c = fed
    region, county = fed.nodes[REGION].home, fed.nodes[COUNTY_B].home
    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"

    def carry():
        tongban("bundle", "export", "--for-parent", "--out", str(up), home=county)
        tongban("bundle", "import", str(up), "--reply", str(down), home=region)
        tongban("bundle", "import", str(down), home=county)

    carry()
    out = run(region, "supervise", "notice", c["c9"], "--text", "为何未受理", "--due", "1",
              env=TODAY).output
    notice_id = out.split()[1]
    carry()
    (received,) = json.loads(run(county, "supervise", "notices", "--json").output)
    assert (received["id"], received["answered"]) == (notice_id, False)
    run(county, "supervise", "reply", notice_id, "--text", "今日受理", env=TODAY)
    carry()
    (answered,) = json.loads(run(region, "supervise", "notices", "--json").output)
    assert answered["answered"] and answered["reply_text"] == "今日受理"


def test_only_ancestors_send_notices_and_only_owners_reply_or_evaluate(fed):
    fed, c = fed
    county_a, county_b = fed.nodes[COUNTY_A].home, fed.nodes[COUNTY_B].home
    own = run(county_a, "supervise", "notice", c["c1"], "--text", "x", "--due", "1", ok=False)
    assert own.exit_code == 1 and "only its ancestors may send" in own.output
    # A county writing another county's evaluation is refused before anything is written.
    store = NodeStore.open(Home(county_b))
    size = store.log.size(COUNTY_B)
    body = record_pb2.Evaluation(case_no=c["c7"].replace(COUNTY_B, COUNTY_A), level=5,
                                 evaluator_kind="applicant", channel="online",
                                 evaluator=ID_OK).SerializeToString()
    with pytest.raises(InputError, match=f"belongs to {COUNTY_A}; {COUNTY_B} may not record"):
        store.write([Draft(record_pb2.EVALUATION, lambda _s, _h: body)])
    assert store.log.size(COUNTY_B) == size
    store.close()


def test_evaluations_one_per_evaluator_and_the_loop_in_order(fed):
    fed, c = fed
    county = fed.nodes[COUNTY_A].home
    twice = run(county, "evaluation", "add", c["c1"], "--level", "3", "--via", "online",
                ok=False)
    assert twice.exit_code == 1 and "one evaluation per case per evaluator" in twice.output
    run(county, "evaluation", "add", c["c1"], "--level", "3", "--via", "online",
        "--evaluator", "540102198001010014")     # someone else (an agent) may evaluate too
    assert len([e for e in json.loads(run(county, "evaluation", "list", "--json").output)
                if e["case_no"] == c["c1"]]) == 2
    loops = json.loads(run(county, "evaluation", "list", "--poor", "--json").output)
    open_loop = next(lp for lp in loops if lp["case_no"] == c["c5"])
    early = run(county, "evaluation", "follow-up", open_loop["evaluation_id"], "--step",
                "rectify", "--text", "x", ok=False)
    assert early.exit_code == 1 and "record 回访核实 before 整改" in early.output


def _accepted(day: date, limit: int, calendar: Calendar) -> workflow.CaseState:
    apply = record_pb2.CaseEvent(case_no="540102-2026-0000001", action="apply",
                                 matter_code="540102-GG-004", matter_version=1,
                                 applicant_id=ID_OK, applicant_name="扎西", channel="window",
                                 limit_days=limit)
    state = workflow.apply_event(None, apply, ms_of_date(day) + 3_600_000,
                                 limit_days=limit, calendar=calendar)
    accept = record_pb2.CaseEvent(case_no=state.case_no, action="accept")
    return workflow.apply_event(state, accept, ms_of_date(day) + 7_200_000, limit_days=limit,
                                calendar=calendar)


def test_clocks_across_national_day_and_into_2027():
    limits = supervision.Limits()
    plain = Calendar()
    # Accepted Mon 2026-09-28, limit 5: 09-29, 09-30, 10-08, 10-09, 10-10 (worked Saturday).
    case = _accepted(date(2026, 9, 28), 5, plain)
    (clock,) = supervision.case_clocks(case, date(2026, 9, 30), plain, limits)
    assert (clock.due, clock.remaining, clock.light) == ("2026-10-10", 3, "yellow")
    # Into 2027, where chinese-calendar has no data: Mon–Fri is counted, so 01-01 works.
    case = _accepted(date(2026, 12, 28), 5, plain)
    (clock,) = supervision.case_clocks(case, date(2026, 12, 28), plain, limits)
    assert clock.due == "2027-01-04"
    assert plain.uncovered_years([date(2026, 12, 28), date(2027, 1, 4)]) == [2027]
    # With the 2027 calendar notice (元旦 off), the same case is due a day later.
    notice = calendar_of([record_pb2.CalendarNotice(year=2027,
                                                              holidays=["2027-01-01"])])
    case = _accepted(date(2026, 12, 28), 5, notice)
    (clock,) = supervision.case_clocks(case, date(2027, 1, 5), notice, limits)
    assert (clock.due, clock.remaining, clock.light) == ("2027-01-05", 0, "yellow")
    (clock,) = supervision.case_clocks(case, date(2027, 1, 6), notice, limits)
    assert (clock.remaining, clock.light) == (-1, "red")
