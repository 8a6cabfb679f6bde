"""Case workflow through the real CLI on a real node database."""

import json

import pytest
from node_fixtures import ID_OK, dump_projections, make_node, run

from node import cases
from node.cases import CaseError
from node.home import Home
from node.store import NodeStore


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return make_node(tmp_path_factory.mktemp("county"))


def _matter_with(home, predicate):
    for item in json.loads(run(home, "matter", "list", "--json").output):
        detail = json.loads(run(home, "matter", "show", item["code"], "--json").output)
        if predicate(detail):
            return detail
    raise AssertionError("sample catalogue lacks a matter for this test")


def _required(matter):
    return [m["name"] for m in matter.get("materials", []) if m.get("required")]


def _apply(home, matter, materials=None, env=None):
    args = ["case", "apply", "--matter", matter["impl_code"], "--applicant", ID_OK,
            "--name", "扎西", "--actor", "窗口01"]
    for m in _required(matter) if materials is None else materials:
        args += ["--material", m]
    out = run(home, *args, env=env).output
    case_no = out.split()[0]
    assert case_no.startswith(matter["impl_code"].split("-")[0] + "-")  # the node's own number
    return case_no


def _state(home, case_no):
    return json.loads(run(home, "case", "show", case_no, "--json").output)


def test_full_path_to_delivery_and_evaluation(county):
    matter = _matter_with(county, lambda m: _required(m))
    case = _apply(county, matter)
    assert _state(county, case)["state"] == "applied"
    for action, *extra in [("accept",), ("review",), ("decide", "--approve"), ("conclude",),
                           ("deliver", "--method", "窗口领取")]:
        run(county, "case", action, case, *extra, "--actor", "窗口02")
    run(county, "evaluation", "add", case, "--level", "非常满意", "--via", "mobile")
    data = _state(county, case)
    assert data["state"] == "delivered"
    history = json.loads(run(county, "case", "show", case, "--history", "--json").output)
    assert [e["action"] for e in history["history"]] == [
        "apply", "accept", "review", "decide", "conclude", "deliver"]
    assert [e["actor"] for e in history["history"]] == ["窗口01"] + ["窗口02"] * 5
    (given,) = json.loads(run(county, "evaluation", "list", "--json").output)
    assert (given["case_no"], given["level"], given["evaluator_kind"], given["channel"],
            given["evaluator"]) == (case, 5, "applicant", "mobile", ID_OK)


def test_rejection_is_terminal(county):
    matter = _matter_with(county, lambda m: _required(m))
    case = _apply(county, matter)
    run(county, "case", "reject", case, "--reason", "不属于本机关职权范围")
    result = run(county, "case", "accept", case, ok=False)
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"error: case {case} is 不予受理 (rejected)")


def test_illegal_transition_names_state_and_allowed_actions_and_writes_nothing(county):
    matter = _matter_with(county, lambda m: _required(m))
    case = _apply(county, matter)
    before = dump_projections(county / "node.db")
    result = run(county, "case", "conclude", case, ok=False)
    assert result.exit_code == 1
    message = result.output.strip()
    assert case in message and "申请 (applied)" in message and "'conclude'" in message
    assert "accept" in message and "reject" in message
    assert dump_projections(county / "node.db") == before


def test_supplement_pauses_and_supply_returns(county):
    matter = _matter_with(county, lambda m: len(_required(m)) >= 2)
    required = _required(matter)
    case = _apply(county, matter, materials=required[:1])
    refused = run(county, "case", "accept", case, ok=False)
    assert refused.exit_code == 1
    assert f"lacks required materials: {', '.join(required[1:])}" in refused.output
    owed = [arg for m in required[1:] for arg in ("--material", m)]
    run(county, "case", "request-supplement", case, *owed)
    assert _state(county, case)["state"] == "supplement"
    run(county, "case", "supply", case, *owed)
    assert _state(county, case)["state"] == "applied"
    run(county, "case", "accept", case)
    assert _state(county, case)["state"] == "accepted"


def test_deferred_material_acceptance(county):
    matter = _matter_with(county, lambda m: any(x.get("deferrable") and x.get("required")
                                                for x in m.get("materials", [])))
    deferrable = next(x["name"] for x in matter["materials"]
                      if x.get("deferrable") and x.get("required"))
    case = _apply(county, matter, [m for m in _required(matter) if m != deferrable])
    run(county, "case", "accept", case, "--missing", deferrable, "--due", "5")
    data = _state(county, case)
    assert data["state"] == "accepted"
    assert list(data["owed_due"]) == [deferrable]
    run(county, "case", "review", case)
    refused = run(county, "case", "decide", case, "--approve", ok=False)
    assert refused.exit_code == 1 and deferrable in refused.output
    run(county, "case", "supply", case, "--material", deferrable)
    run(county, "case", "decide", case, "--approve")
    assert _state(county, case)["owed"] == {}


def test_special_procedure_and_withdrawal(county):
    matter = _matter_with(county, lambda m: True)
    case = _apply(county, matter)
    run(county, "case", "accept", case)
    run(county, "case", "suspend", case, "--reason", "现场勘查")
    assert _state(county, case)["state"] == "suspended"
    run(county, "case", "resume", case)
    assert _state(county, case)["state"] == "accepted"
    run(county, "case", "withdraw", case, "--reason", "申请人主动撤回")
    assert _state(county, case)["state"] == "withdrawn"


def test_evaluation_only_after_conclusion(county):
    matter = _matter_with(county, lambda m: True)
    case = _apply(county, matter)
    result = run(county, "evaluation", "add", case, "--level", "4", "--via", "online", ok=False)
    assert result.exit_code == 1 and "an evaluation needs an outcome" in result.output
    result = run(county, "evaluation", "add", case, "--level", "9", "--via", "online", ok=False)
    assert result.exit_code == 1 and "bad level '9'" in result.output
    result = run(county, "case", "evaluate", case, "--score", "4", ok=False)
    assert result.exit_code == 2 and "No such command 'evaluate'" in result.output
    store = NodeStore.open(Home(county))
    with pytest.raises(CaseError, match="record it with 'tongban evaluation add"):
        cases.act(store, case, "evaluate", actor="窗口01", score=4)
    store.close()


def test_bad_applicant_and_unknown_matter_are_refused(county):
    matter = _matter_with(county, lambda m: True)
    before = dump_projections(county / "node.db")
    bad = run(county, "case", "apply", "--matter", matter["impl_code"], "--applicant",
              ID_OK[:-1] + "9", "--name", "x", ok=False)
    assert bad.exit_code == 1 and "check digit" in bad.output
    unknown = run(county, "case", "apply", "--matter", "NOPE", "--applicant", ID_OK,
                  "--name", "x", ok=False)
    assert unknown.exit_code == 1
    assert "unknown matter NOPE" in unknown.output
    assert dump_projections(county / "node.db") == before


def test_deadlines_and_due_soon_filter(tmp_path):
    applied = {"TONGBAN_CLOCK": "2026-11-02T10:00"}  # a Monday
    county = make_node(tmp_path, env=applied)
    matter = _matter_with(county, lambda m: m["impl_code"] == "540102-QR-001")
    assert matter["promised_limit_days"] == 5
    case = _apply(county, matter, env=applied)
    run(county, "case", "accept", case, env=applied)

    def listed(day: str, *flags: str) -> list[str]:
        out = run(county, "case", "list", *flags, "--json", env={"TONGBAN_CLOCK": day})
        return [c["case_no"] for c in json.loads(out.output)]

    shown = json.loads(run(county, "case", "show", case, "--json", env=applied).output)
    # Five working days after Monday 2 November: Tuesday to Friday, then Monday 9 November.
    assert (shown["due"], shown["remaining_workdays"]) == ("2026-11-09", 5)
    assert listed("2026-11-02T10:00") == [case]
    assert listed("2026-11-02T10:00", "--due-soon") == []
    assert listed("2026-11-02T10:00", "--overdue") == []
    # Thursday: Friday and Monday are left, within the three-day warning.
    assert listed("2026-11-05T10:00", "--due-soon") == [case]
    assert listed("2026-11-05T10:00", "--overdue") == []
    # Monday 9 November is the last day; Tuesday it is overdue and no longer "soon".
    assert listed("2026-11-09T17:00", "--due-soon") == [case]
    assert listed("2026-11-10T09:00", "--overdue") == [case]
    assert listed("2026-11-10T09:00", "--due-soon") == []


def test_case_numbers_are_unique_and_embed_the_division(county):
    matter = _matter_with(county, lambda m: True)
    numbers = {_apply(county, matter) for _ in range(3)}
    assert len(numbers) == 3
    assert all(n.startswith("540102-") for n in numbers)


def test_rebuild_reproduces_every_table(county):
    before = dump_projections(county / "node.db")
    out = run(county, "db", "rebuild").output
    assert out.strip().endswith("records")
    assert dump_projections(county / "node.db") == before


def test_deadline_lists_follow_calendar_notices_paused_cases_and_pages(tmp_path):
    """The due_day index answers --overdue/--due-soon; a calendar notice moves it."""
    applied = {"TONGBAN_CLOCK": "2026-11-02T10:00"}  # a Monday
    county = make_node(tmp_path, division="540100", env=applied)  # a prefecture: it
    # both takes cases and publishes calendars
    matter = _matter_with(county, lambda m: m["impl_code"] == "540100-QR-001")
    first, paused = (_apply(county, matter, env=applied) for _ in range(2))
    for case in (first, paused):
        run(county, "case", "accept", case, env=applied)  # both due Monday 9 November

    def listed(day: str, *flags: str) -> list[str]:
        out = run(county, "case", "list", *flags, "--json", env={"TONGBAN_CLOCK": day})
        return [c["case_no"] for c in json.loads(out.output)]

    assert listed("2026-11-10T09:00", "--overdue") == [first, paused]
    # 特别程序 while overdue: the paused case is no longer in the due_day index, still listed
    run(county, "case", "suspend", paused, "--reason", "现场勘查",
        env={"TONGBAN_CLOCK": "2026-11-10T09:30"})
    assert listed("2026-11-10T09:40", "--overdue") == [first, paused]
    run(county, "calendar", "publish", "--year", "2026", "--holiday", "2026-11-09",
        "--holiday", "2026-11-10", env={"TONGBAN_CLOCK": "2026-11-10T10:00"})
    # the notice moved both last days to Wednesday 11 November
    assert listed("2026-11-10T11:00", "--overdue") == []
    assert listed("2026-11-10T11:00", "--due-soon") == [first, paused]
    # Thursday: the running case is overdue; the paused one gained the paused days
    assert listed("2026-11-12T09:00", "--overdue") == [first]
    before = dump_projections(county / "node.db")
    run(county, "db", "rebuild")
    assert dump_projections(county / "node.db") == before  # due_day included

    more = [_apply(county, matter, env=applied) for _ in range(3)]
    everything = sorted([first, paused, *more])
    page = run(county, "case", "list", "--limit", "2", env=applied).output
    assert page.rstrip().endswith(f"2 cases; more: --after {everything[1]}")
    assert listed("2026-11-02T10:00", "--limit", "2", "--after", everything[1]) == everything[2:4]
    assert listed("2026-11-02T10:00", "--after", everything[3]) == everything[4:]
