"""The case state machine: every legal path, every refusal, and the deadline clock."""

import contextlib
import copy
import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import event as note_event
from hypothesis import given, settings
from hypothesis import strategies as st

from node.ids import ApplicantError
from node.workdays import CHINA_TZ, Calendar, ms_of_date
from node.workflow import (
    ACTIONS,
    APPROVED,
    DENIED,
    DUE_SOON_DAYS,
    LABELS,
    CaseState,
    IllegalTransition,
    State,
    WorkflowError,
    allowed_actions,
    apply_event,
    due_date,
    remaining_workdays,
)
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

CAL = Calendar()
CASE = "540102-2026-0000012"
PERSON = "540102199003070018"  # check digit computed (GB 11643)


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> int:
    """Unix ms of a China-time moment."""
    return int(datetime(year, month, day, hour, tzinfo=CHINA_TZ).timestamp() * 1000)


def event(action: str, **fields) -> record_pb2.CaseEvent:
    return record_pb2.CaseEvent(case_no=CASE, action=action, actor="窗口01", **fields)


APPLY = dict(
    matter_code="540102-XK-001",
    matter_version=2,
    applicant_id=PERSON,
    applicant_name="扎西",
    channel="window",
    materials=["经营者身份证明"],
)


def run(steps, limit_days: int = 5, calendar: Calendar = CAL) -> CaseState | None:
    """Apply (action, time, fields) steps in order, starting from no case."""
    state = None
    for action, when, fields in steps:
        state = apply_event(
            state, event(action, **fields), when, limit_days=limit_days, calendar=calendar
        )
    return state


def step(state, action, when, **fields):
    return apply_event(state, event(action, **fields), when, limit_days=99, calendar=CAL)


def applied(when=None):
    return run([("apply", when or at(11, 2, 9), APPLY)])


# Cases in each state, for the transition table tests.
def _paths() -> dict[str, CaseState]:
    t = at(11, 2, 9)
    a = applied(t)
    supp_before = step(a, "request-supplement", t + 1, materials=["经营场所使用证明"])
    acc = step(a, "accept", t + 2)
    owing = step(a, "accept", t + 2, missing_material="经营场所使用证明", due_days=3)
    supp_after = step(acc, "request-supplement", t + 3, materials=["补充说明"])
    rev = step(acc, "review", t + 3)
    susp = step(rev, "suspend", t + 4, reason="现场勘查")
    dec = step(rev, "decide", t + 5, approve=True)
    con = step(dec, "conclude", t + 6)
    rated = step(con, "evaluate", t + 7, score=4)
    dlv = step(con, "deliver", t + 7, method="窗口领取")
    return {
        "applied": a,
        "supplement-before": supp_before,
        "accepted": acc,
        "accepted-owing": owing,
        "supplement-after": supp_after,
        "reviewing": rev,
        "suspended": susp,
        "decided": dec,
        "concluded": con,
        "concluded-rated": rated,
        "delivered": dlv,
        "delivered-rated": step(dlv, "evaluate", t + 8, score=5),
        "rejected": step(a, "reject", t + 2, reason="不属于本机关职权范围"),
        "withdrawn": step(acc, "withdraw", t + 3),
    }


PATHS = _paths()

EXPECTED_ALLOWED = {
    "applied": ["accept", "reject", "request-supplement", "withdraw"],
    "supplement-before": ["accept", "reject", "supply", "withdraw"],
    "accepted": ["request-supplement", "review", "withdraw", "suspend"],
    "accepted-owing": ["request-supplement", "supply", "review", "withdraw", "suspend"],
    "supplement-after": ["supply", "withdraw"],
    "reviewing": ["request-supplement", "decide", "withdraw", "suspend"],
    "suspended": ["withdraw", "resume"],
    "decided": ["conclude"],
    "concluded": ["deliver", "evaluate"],
    "concluded-rated": ["deliver"],
    "delivered": ["evaluate"],
    "delivered-rated": [],
    "rejected": [],
    "withdrawn": [],
}


def test_allowed_actions_per_state():
    assert allowed_actions(None) == ["apply"]
    assert {name: allowed_actions(s) for name, s in PATHS.items()} == EXPECTED_ALLOWED


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_illegal_transition_names_state_and_allowed_actions(name):
    state = PATHS[name]
    allowed = allowed_actions(state)
    for action in ACTIONS:
        if action in allowed:
            continue
        with pytest.raises(IllegalTransition) as info:
            step(state, action, state.updated_ms + 1, reason="r", materials=["m"], score=3)
        message = str(info.value)
        prefix = f"case {CASE} is {LABELS[state.state]} ({state.state}); {action!r} is not allowed"
        assert message.startswith(prefix)
        assert message.endswith(f"; allowed: {', '.join(allowed) or 'none'}")
        assert isinstance(info.value, InputError)


def test_the_documented_example_message():
    with pytest.raises(IllegalTransition) as info:
        step(PATHS["concluded"], "review", at(11, 3))
    assert str(info.value) == (
        "case 540102-2026-0000012 is 办结 (concluded); 'review' is not allowed; "
        "allowed: deliver, evaluate"
    )


def test_refusals_that_depend_on_more_than_the_state_say_why():
    with pytest.raises(IllegalTransition, match=r"\(already evaluated\); allowed: deliver$"):
        step(PATHS["concluded-rated"], "evaluate", at(11, 3), score=5)
    with pytest.raises(IllegalTransition, match=r"\(no 容缺 material is owed\)"):
        step(PATHS["accepted"], "supply", at(11, 3), materials=["x"])
    with pytest.raises(IllegalTransition, match=r"\(the case was already accepted; supply"):
        step(PATHS["supplement-after"], "accept", at(11, 3))


def test_full_path_to_delivery_and_evaluation():
    s = applied(at(11, 2, 9))
    assert (s.state, s.applicant_id, s.limit_days, s.matter_version) == (
        State.APPLIED,
        PERSON,
        5,
        2,
    )
    assert s.created_ms == s.updated_ms == at(11, 2, 9) and s.accepted_ms is None
    s = step(s, "accept", at(11, 2, 11), materials=["经营场所使用证明"])
    assert s.state is State.ACCEPTED and s.accepted_ms == at(11, 2, 11)
    assert s.materials == ["经营者身份证明", "经营场所使用证明"]
    s = step(s, "review", at(11, 3))
    s = step(s, "decide", at(11, 4), approve=True)
    assert (s.state, s.decision, s.reason) == (State.DECIDED, APPROVED, None)
    s = step(s, "conclude", at(11, 5))
    assert remaining_workdays(s, date(2026, 11, 5), CAL) is None
    s = step(s, "deliver", at(11, 6), method="邮寄")
    assert (s.state, s.delivery_method) == (State.DELIVERED, "邮寄")
    s = step(s, "evaluate", at(11, 7), score=5, comment="很满意")
    assert (s.state, s.score, s.comment, s.updated_ms) == (
        State.DELIVERED,
        5,
        "很满意",
        at(11, 7),
    )


def test_denial_needs_a_reason_and_keeps_it_through_conclusion():
    rev = PATHS["reviewing"]
    with pytest.raises(WorkflowError, match=r"deny .* needs a reason"):
        step(rev, "decide", at(11, 4), approve=False)
    s = step(rev, "decide", at(11, 4), approve=False, reason="不符合法定条件")
    s = step(step(s, "conclude", at(11, 5)), "deliver", at(11, 6), method="电子送达")
    assert (s.decision, s.reason) == (DENIED, "不符合法定条件")


def test_rejection_needs_a_reason_and_is_terminal():
    with pytest.raises(WorkflowError, match="不予受理 needs a reason"):
        step(PATHS["applied"], "reject", at(11, 3), reason="  ")
    s = PATHS["rejected"]
    assert s.state is State.REJECTED and s.reason == "不属于本机关职权范围"
    assert due_date(s, CAL) is None and remaining_workdays(s, date(2026, 11, 3), CAL) is None


def test_deferred_material_acceptance_blocks_approval_until_supplied():
    # Accepted Tue 29 Sep with 3 working days for the material: 30 Sep, 8 Oct, 9 Oct.
    s = step(
        applied(at(9, 29, 9)), "accept", at(9, 29, 10), missing_material="营业执照", due_days=3
    )
    assert s.owed == {"营业执照": ms_of_date(date(2026, 10, 9))}
    s = step(s, "review", at(10, 8))
    with pytest.raises(WorkflowError) as info:
        step(s, "decide", at(10, 9), approve=True)
    assert str(info.value) == (
        f"case {CASE}: cannot approve while 容缺 materials are owed: 营业执照 (due 2026-10-09); "
        "supply them first, or decide to deny with a reason"
    )
    with pytest.raises(WorkflowError, match=r"别的材料 is not owed; owed \(容缺\): 营业执照"):
        step(s, "supply", at(10, 9), materials=["别的材料"])
    supplied = step(s, "supply", at(10, 9))
    assert supplied.owed == {}
    assert supplied.materials[-1] == "营业执照" and supplied.state is State.REVIEWING
    assert step(supplied, "decide", at(10, 9, 11), approve=True).decision == APPROVED
    denied = step(s, "decide", at(10, 12), approve=False, reason="逾期未补齐容缺材料")
    assert denied.decision == DENIED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"due_days": 3}, "due_days 3 given without a missing material"),
        ({"missing_material": "营业执照"}, "needs due_days >= 1"),
        (
            {"missing_material": "营业执照", "due_days": 2, "materials": ["营业执照"]},
            "is owed (容缺) but was also handed in",
        ),
        ({"materials": ["ok", " "]}, "a material name is empty"),
    ],
)
def test_bad_deferred_acceptance_arguments(fields, message):
    with pytest.raises(WorkflowError, match=re.escape(message)):
        step(PATHS["applied"], "accept", at(11, 3), **fields)


def test_supplement_before_acceptance_returns_to_applied_without_a_clock():
    s = PATHS["supplement-before"]
    assert (s.state, s.previous_state, s.paused_since_ms) == (
        State.SUPPLEMENT,
        State.APPLIED,
        None,
    )
    with pytest.raises(WorkflowError, match="name the materials supplied"):
        step(s, "supply", at(11, 3))
    back = step(s, "supply", at(11, 3), materials=["经营场所使用证明"])
    assert (back.state, back.previous_state, back.paused_workdays) == (State.APPLIED, None, 0)
    assert back.materials == ["经营者身份证明", "经营场所使用证明"]
    assert step(s, "accept", at(11, 3)).state is State.ACCEPTED
    assert step(s, "reject", at(11, 3), reason="材料虚假").state is State.REJECTED


def test_supplement_request_needs_materials():
    with pytest.raises(WorkflowError, match="补正 needs the materials"):
        step(PATHS["accepted"], "request-supplement", at(11, 3))


def test_supplement_after_acceptance_pauses_the_clock():
    # Accepted Mon 2 Nov, limit 5: due Mon 9 Nov.
    s = run([("apply", at(11, 2, 9), APPLY), ("accept", at(11, 2, 10), {})], limit_days=5)
    assert due_date(s, CAL) == date(2026, 11, 9)
    assert remaining_workdays(s, date(2026, 11, 3), CAL) == 4
    s = step(s, "request-supplement", at(11, 3, 15), materials=["补充说明"])
    assert s.paused_since_ms == at(11, 3, 15) and s.previous_state is State.ACCEPTED
    assert due_date(s, CAL) is None
    assert due_date(s, CAL, today=date(2026, 11, 5)) == date(2026, 11, 11)
    # Frozen while paused: the 4 days left when the pause began.
    assert remaining_workdays(s, date(2026, 11, 5), CAL) == 4
    assert remaining_workdays(s, date(2026, 11, 20), CAL) == 4
    s = step(s, "supply", at(11, 6, 9), materials=["补充说明"])
    assert (s.state, s.paused_since_ms, s.paused_workdays) == (State.ACCEPTED, None, 3)
    assert due_date(s, CAL) == date(2026, 11, 12)
    assert remaining_workdays(s, date(2026, 11, 6), CAL) == 4


def test_special_procedure_over_national_day_and_resume_to_review():
    # Accepted Mon 28 Sep, limit 10; 特别程序 from Wed 30 Sep to Fri 9 Oct.
    s = run(
        [("apply", at(9, 28, 9), APPLY), ("accept", at(9, 28, 10), {}), ("review", at(9, 29), {})],
        limit_days=10,
    )
    assert due_date(s, CAL) == date(2026, 10, 16)
    with pytest.raises(WorkflowError, match="特别程序 needs a reason"):
        step(s, "suspend", at(9, 30))
    s = step(s, "suspend", at(9, 30), reason="专家评审")
    assert (s.state, s.previous_state) == (State.SUSPENDED, State.REVIEWING)
    s = step(s, "resume", at(10, 9))
    # Paused working days: 8 Oct and 9 Oct (the holiday week costs nothing).
    assert (s.state, s.paused_workdays, s.reason) == (State.REVIEWING, 2, None)
    assert due_date(s, CAL) == date(2026, 10, 20) == CAL.add_workdays(date(2026, 9, 28), 12)


def test_withdrawal_from_every_open_state_and_it_ends_a_pause():
    for name in ("applied", "supplement-before", "accepted", "reviewing", "suspended"):
        s = step(PATHS[name], "withdraw", at(11, 20), reason="申请人主动撤回")
        assert (s.state, s.previous_state, s.paused_since_ms) == (State.WITHDRAWN, None, None)
        assert remaining_workdays(s, date(2026, 11, 20), CAL) is None
    paused = step(PATHS["suspended"], "withdraw", at(11, 6))
    assert paused.paused_workdays == 4  # Tue 3 .. Fri 6 Nov
    assert paused.reason is None


def test_evaluation_rules():
    with pytest.raises(IllegalTransition, match="'evaluate' is not allowed; allowed: accept"):
        step(PATHS["applied"], "evaluate", at(11, 3), score=4)
    for score in (0, 6):
        with pytest.raises(WorkflowError, match=f"score {score}: want 1 to 5"):
            step(PATHS["concluded"], "evaluate", at(11, 3), score=score)
    rated = PATHS["concluded-rated"]
    assert (rated.state, rated.score, rated.comment) == (State.CONCLUDED, 4, None)
    assert step(rated, "deliver", at(11, 9), method="窗口领取").score == 4


def test_delivery_needs_a_method():
    with pytest.raises(WorkflowError, match="送达 needs a method"):
        step(PATHS["concluded"], "deliver", at(11, 9))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"channel": "fax"}, WorkflowError, "bad channel 'fax': want one of window"),
        ({"applicant_name": " "}, WorkflowError, "applicant name is empty"),
        ({"applicant_id": PERSON[:-1] + "9"}, ApplicantError, "check digit is 9, want 8"),
        ({"matter_version": 0}, WorkflowError, "matter version 0: want >= 1"),
        ({"matter_code": ""}, WorkflowError, "matter code is empty"),
    ],
)
def test_apply_validates_its_arguments(change, error, message):
    with pytest.raises(error, match=message):
        run([("apply", at(11, 2), {**APPLY, **change})])


def test_apply_normalises_the_applicant_and_refuses_a_second_apply():
    s = run([("apply", at(11, 2), {**APPLY, "applicant_id": "11010519491231002x"})])
    assert s.applicant_id == "11010519491231002X"
    with pytest.raises(IllegalTransition, match="'apply' is not allowed; allowed: accept"):
        step(s, "apply", at(11, 3), **APPLY)
    with pytest.raises(WorkflowError, match="limit_days -1: want an integer 0-3650"):
        run([("apply", at(11, 2), APPLY)], limit_days=-1)


def test_events_on_a_missing_case_and_malformed_events():
    with pytest.raises(IllegalTransition, match=f"case {CASE} does not exist; 'accept' .* apply$"):
        run([("accept", at(11, 2), {})])
    with pytest.raises(WorkflowError, match="unknown action 'approve'"):
        step(PATHS["reviewing"], "approve", at(11, 9))
    other = record_pb2.CaseEvent(case_no="540102-2026-0000013", action="review")
    with pytest.raises(WorkflowError, match="applied to case 540102-2026-0000012"):
        apply_event(PATHS["accepted"], other, at(11, 9), limit_days=5, calendar=CAL)
    with pytest.raises(WorkflowError, match="is before the case's last change"):
        step(PATHS["accepted"], "review", PATHS["accepted"].updated_ms - 1)
    with pytest.raises(WorkflowError, match="apply: case number is empty"):
        apply_event(None, record_pb2.CaseEvent(action="apply"), 0, limit_days=1, calendar=CAL)


def test_apply_event_never_modifies_its_input():
    """The new state shares the old one's containers (workflow._copy): no action, applied
    or refused, may change them in place."""
    before = copy.deepcopy(PATHS["accepted-owing"])
    step(PATHS["accepted-owing"], "supply", at(11, 9), materials=["经营场所使用证明"])
    step(PATHS["accepted-owing"], "request-supplement", at(11, 9), materials=["x"])
    assert PATHS["accepted-owing"] == before
    fields = dict(materials=["经营场所使用证明", "补充说明"], missing_material="新材料", due_days=2,
                  reason="r", approve=True, method="邮寄", score=3)
    for name, state in PATHS.items():
        before = copy.deepcopy(state)
        for action in ACTIONS:
            with contextlib.suppress(InputError):
                step(state, action, at(11, 9), **fields)
        assert state == before, name


def test_remaining_days_due_today_overdue_and_weekend_after_due():
    # Accepted Wed 30 Sep, limit 3: due Sat 10 Oct (an adjusted working day).
    s = run([("apply", at(9, 30, 9), APPLY), ("accept", at(9, 30, 10), {})], limit_days=3)
    assert due_date(s, CAL) == date(2026, 10, 10)
    assert remaining_workdays(s, date(2026, 9, 30), CAL) == 3
    assert remaining_workdays(s, date(2026, 10, 3), CAL) == 3  # holidays cost nothing
    assert remaining_workdays(s, date(2026, 10, 8), CAL) == 2
    assert remaining_workdays(s, date(2026, 10, 10), CAL) == 0  # due today
    assert remaining_workdays(s, date(2026, 10, 11), CAL) == -1  # Sunday after: overdue
    assert remaining_workdays(s, date(2026, 10, 12), CAL) == -1
    assert remaining_workdays(s, date(2026, 10, 14), CAL) == -3
    assert DUE_SOON_DAYS == 3


def test_immediate_item_is_due_the_day_it_is_accepted():
    s = run([("apply", at(11, 2, 9), APPLY), ("accept", at(11, 2, 10), {})], limit_days=0)
    assert due_date(s, CAL) == date(2026, 11, 2)
    assert remaining_workdays(s, date(2026, 11, 2), CAL) == 0
    assert remaining_workdays(s, date(2026, 11, 3), CAL) == -1


def test_a_regional_holiday_notice_moves_the_deadline():
    steps = [("apply", at(8, 10, 9), APPLY), ("accept", at(8, 10, 10), {})]
    plain = run(steps, limit_days=5)
    with_holiday = Calendar([(date(2026, 8, 12), False), (date(2026, 8, 13), False)])
    assert due_date(plain, CAL) == date(2026, 8, 17)
    assert due_date(plain, with_holiday) == date(2026, 8, 19)


def test_the_same_events_read_back_from_bytes_give_the_same_exact_state():
    steps = [
        ("apply", at(9, 28, 9), APPLY),
        ("accept", at(9, 28, 10), {"missing_material": "营业执照", "due_days": 2}),
        ("suspend", at(9, 29), {"reason": "检验检测"}),
        ("resume", at(10, 12), {}),
        ("supply", at(10, 13), {}),
    ]
    live = run(steps)
    # A rebuild folds the events read back from the log's bytes: the same state.
    replayed = None
    for action, when, fields in steps:
        stored = event(action, **fields).SerializeToString()
        replayed = apply_event(replayed, record_pb2.CaseEvent.FromString(stored), when,
                               limit_days=5, calendar=CAL)
    assert replayed == live
    # Paused Tuesday 29 September to Monday 12 October: 30 Sep, 8, 9, 10 (an adjusted
    # Saturday) and 12 October are the working days that pass, so 5 + 5 days from
    # acceptance on 28 September runs to Friday 16 October.
    assert live == CaseState(
        case_no=CASE, matter_code="540102-XK-001", matter_version=2, applicant_id=PERSON,
        applicant_name="扎西", channel="window", state=State.ACCEPTED, previous_state=None,
        limit_days=5, created_ms=at(9, 28, 9), updated_ms=at(10, 13),
        accepted_ms=at(9, 28, 10), paused_since_ms=None, paused_workdays=5,
        materials=["经营者身份证明", "营业执照"],
        decision=None, reason=None, delivery_method=None, score=None, comment=None)
    assert due_date(live, CAL) == date(2026, 10, 16)


# --- random sequences -------------------------------------------------------

_ARGUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "reason": st.sampled_from(["", "理由", " "]),
        "materials": st.lists(st.sampled_from(["A", "B", "营业执照", ""]), max_size=2),
        "missing_material": st.sampled_from(["", "营业执照", "A"]),
        "due_days": st.integers(0, 4),
        "approve": st.booleans(),
        "score": st.integers(0, 6),
        "comment": st.sampled_from(["", "好"]),
        "method": st.sampled_from(["", "邮寄"]),
    },
)
_ANY_ACTION = st.sampled_from([*ACTIONS, "bogus"])
_GAP_MS = st.integers(0, 4 * 24 * 3600 * 1000)

_OPEN_WITH_CLOCK = {State.ACCEPTED, State.REVIEWING, State.DECIDED, State.SUSPENDED}


def check_consistent(s: CaseState) -> None:
    paused_states = {State.SUPPLEMENT, State.SUSPENDED}
    assert (s.previous_state is not None) == (s.state in paused_states)
    if s.state is State.SUSPENDED:
        assert s.previous_state in {State.ACCEPTED, State.REVIEWING}
    if s.state is State.SUPPLEMENT:
        assert s.previous_state in {State.APPLIED, State.ACCEPTED, State.REVIEWING}
        assert (s.accepted_ms is None) == (s.previous_state is State.APPLIED)
    if s.state in _OPEN_WITH_CLOCK | {State.CONCLUDED, State.DELIVERED}:
        assert s.accepted_ms is not None
    if s.state in {State.APPLIED, State.REJECTED}:
        assert s.accepted_ms is None
    pausing = s.state is State.SUSPENDED or (
        s.state is State.SUPPLEMENT and s.accepted_ms is not None
    )
    assert (s.paused_since_ms is not None) == pausing
    assert s.paused_workdays >= 0
    if s.owed:
        assert s.accepted_ms is not None and s.decision != APPROVED
    assert (s.state is State.SUPPLEMENT) == bool(s.requested)
    assert s.supplement_rounds >= (1 if s.requested else 0)
    assert (s.decision is not None) == (
        s.state in {State.DECIDED, State.CONCLUDED, State.DELIVERED}
    )
    if s.decision == DENIED:
        assert s.reason
    if s.score is not None:
        assert s.state in {State.CONCLUDED, State.DELIVERED} and 1 <= s.score <= 5
    assert (s.delivery_method is not None) == (s.state is State.DELIVERED)
    assert s.created_ms <= s.updated_ms
    assert s.accepted_ms is None or s.created_ms <= s.accepted_ms <= s.updated_ms
    assert s.paused_since_ms is None or s.paused_since_ms <= s.updated_ms
    assert len(set(s.materials)) == len(s.materials) and all(s.materials)
    assert all(a in ACTIONS for a in allowed_actions(s))
    today = date(2026, 6, 1) + timedelta(days=s.updated_ms % 400)
    clock = s.state in _OPEN_WITH_CLOCK or (
        s.state is State.SUPPLEMENT and s.accepted_ms is not None
    )
    assert (remaining_workdays(s, today, CAL) is None) == (not clock)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(0, 30))
def test_random_sequences_raise_only_input_errors_and_stay_consistent(data, limit):
    when = at(9, 20)
    state = apply_event(None, event("apply", **APPLY), when, limit_days=limit, calendar=CAL)
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        allowed = allowed_actions(state)
        # Mostly actions that move the case on, so that long paths are explored;
        # also any allowed action, and anything at all.
        onward = [a for a in allowed if a not in ("withdraw", "reject")] or allowed
        choice = (
            st.one_of(st.sampled_from(onward), st.sampled_from(allowed), _ANY_ACTION)
            if allowed
            else _ANY_ACTION
        )
        action = data.draw(choice, label="action")
        fields = data.draw(_ARGUMENTS, label="fields")
        when += data.draw(_GAP_MS, label="gap")
        try:
            new = apply_event(state, event(action, **fields), when, limit_days=99, calendar=CAL)
        except IllegalTransition:
            assert action not in allowed
            continue
        except WorkflowError:
            assert action in allowed or action == "bogus"
            continue
        assert action in allowed
        check_consistent(new)
        assert new.limit_days == limit and new.updated_ms == when
        state = new
        note_event(f"reached {state.state}")


def test_a_material_owed_and_supplied_twice_in_one_event_settles_once():
    """Found by the random sequences: 补齐 naming one owed material twice must not crash."""
    accepted = step(applied(), "accept", at(11, 3),
                    owed=[record_pb2.OwedMaterial(name="营业执照", due_days=5),
                          record_pb2.OwedMaterial(name="场所证明", due_days=5)])
    supplied = step(accepted, "supply", at(11, 4), materials=["营业执照", "营业执照"])
    assert list(supplied.owed) == ["场所证明"]
    assert supplied.materials.count("营业执照") == 1
