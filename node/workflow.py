"""The case (办件) state machine: one pure function from (state, event, time) to state.

Every node rebuilds its case tables from the log and compares them byte for
byte, and a parent projects its children's cases from their logs, so the state
of a case must follow from its events and their times alone: nothing here reads
the clock, the database or the catalogue. Catalogue checks (does the matter
exist, may this material be 容缺) happen in node.cases before an event is
written; this module decides only whether the event is a legal next step and
what the case looks like afterwards.

The path: 申请 → 受理 (or 不予受理) → 审查 → 决定 (准予/不予) → 办结 → 送达, with
补正 (materials requested; before acceptance it returns to 申请, after
acceptance it pauses the clock), 容缺受理 (accepted while one material is owed,
with its own due date; approval waits for it), 特别程序 (paused; resume returns
to where the case was), 撤回 (at the applicant's request, while still open),
and one 好差评 evaluation after 办结.

The clock. Time limits are working days counted from the day after acceptance
(node.workdays). A pause — 补正 after acceptance, or 特别程序 — adds the
working days in (pause day, resume day] to the limit: the day the pause starts
was worked, the day it ends is given back, as with acceptance itself. The clock
stops for good at 办结 (the limit is a 办结时限), at 不予受理 and at 撤回.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from node.ids import check_applicant
from node.workdays import Calendar, date_of_ms, ms_of_date
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

DUE_SOON_DAYS = 3
#: The longest time limit, in working days, anywhere in a case (about fourteen years):
#: far beyond any statutory limit, and small enough that deadline arithmetic stays cheap.
MAX_LIMIT_DAYS = 3650

CHANNELS = ("window", "online", "mobile", "self-service")

APPROVED = "approved"
DENIED = "denied"


class State(StrEnum):
    APPLIED = "applied"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPPLEMENT = "supplement"
    REVIEWING = "reviewing"
    DECIDED = "decided"
    CONCLUDED = "concluded"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"
    SUSPENDED = "suspended"


LABELS: dict[State, str] = {
    State.APPLIED: "申请",
    State.ACCEPTED: "受理",
    State.REJECTED: "不予受理",
    State.SUPPLEMENT: "补正",
    State.REVIEWING: "审查",
    State.DECIDED: "决定",
    State.CONCLUDED: "办结",
    State.DELIVERED: "送达",
    State.WITHDRAWN: "撤回",
    State.SUSPENDED: "特别程序",
}

#: Every action, in the order allowed actions are listed to the operator.
ACTIONS = (
    "apply",
    "accept",
    "reject",
    "request-supplement",
    "supply",
    "review",
    "decide",
    "conclude",
    "deliver",
    "withdraw",
    "suspend",
    "resume",
    "evaluate",
)

_FROM: dict[str, frozenset[State]] = {
    "accept": frozenset({State.APPLIED, State.SUPPLEMENT}),
    "reject": frozenset({State.APPLIED, State.SUPPLEMENT}),
    "request-supplement": frozenset({State.APPLIED, State.ACCEPTED, State.REVIEWING}),
    "supply": frozenset({State.SUPPLEMENT, State.ACCEPTED, State.REVIEWING}),
    "review": frozenset({State.ACCEPTED}),
    "decide": frozenset({State.REVIEWING}),
    "conclude": frozenset({State.DECIDED}),
    "deliver": frozenset({State.CONCLUDED}),
    "withdraw": frozenset(
        {State.APPLIED, State.ACCEPTED, State.SUPPLEMENT, State.REVIEWING, State.SUSPENDED}
    ),
    "suspend": frozenset({State.ACCEPTED, State.REVIEWING}),
    "resume": frozenset({State.SUSPENDED}),
    "evaluate": frozenset({State.CONCLUDED, State.DELIVERED}),
}

#: States in which the deadline clock is running (paused states count: they resume).
_CLOCK_STATES = frozenset(
    {State.ACCEPTED, State.REVIEWING, State.DECIDED, State.SUPPLEMENT, State.SUSPENDED}
)


class WorkflowError(InputError):
    """An event whose arguments are missing or wrong for its action."""


class IllegalTransition(WorkflowError):
    """An action that the case's current state does not allow."""


@dataclass
class CaseState:
    case_no: str
    matter_code: str
    matter_version: int
    applicant_id: str
    applicant_name: str
    channel: str
    state: State
    #: The state 补正 or 特别程序 returns to; None in every other state.
    previous_state: State | None
    #: Promised limit (working days) of the matter version at apply.
    limit_days: int
    created_ms: int
    updated_ms: int
    accepted_ms: int | None
    #: Start of the ongoing pause (补正 after acceptance, 特别程序), else None.
    paused_since_ms: int | None
    #: Working days added to the limit by pauses that have ended.
    paused_workdays: int
    #: 容缺: the one material still owed, and 00:00 UTC+8 of the day it is due.
    missing_material: str | None
    missing_due_ms: int | None
    materials: list[str]
    #: "approved" or "denied" once decided.
    decision: str | None
    #: The reason given with the action that produced the current state; 办结,
    #: 送达 and evaluation keep the decision's reason.
    reason: str | None
    delivery_method: str | None
    score: int | None
    comment: str | None
    #: Staff ID of the latest 审查 (review): the approver must be someone else
    #: (node.authority, rule review-and-decide).
    reviewer: str | None = None


def allowed_actions(state: CaseState | None) -> list[str]:
    """The actions the case accepts now, in ACTIONS order."""
    if state is None:
        return ["apply"]
    return [action for action in ACTIONS if _blocker(state, action) is None]


def apply_event(
    state: CaseState | None,
    event: record_pb2.CaseEvent,
    at_ms: int,
    *,
    limit_days: int,
    calendar: Calendar,
) -> CaseState:
    """The case after ``event`` at ``at_ms``; ``state`` is not modified.

    ``limit_days`` is used by apply only (later events keep the limit the case
    was opened with, even if the matter has since changed). Raises
    IllegalTransition when the state does not allow the action and
    WorkflowError when the action's arguments are wrong.
    """
    action = event.action
    case_no = event.case_no
    if action not in ACTIONS:
        raise WorkflowError(
            f"unknown action {action!r} for case {case_no or '(no number)'}; "
            f"known: {', '.join(ACTIONS)}"
        )
    if state is None:
        if action != "apply":
            raise IllegalTransition(
                f"case {case_no or '(no number)'} does not exist; {action!r} is not allowed; "
                "allowed: apply"
            )
        return _apply(event, at_ms, limit_days)
    if case_no != state.case_no:
        raise WorkflowError(f"event for case {case_no!r} applied to case {state.case_no}")
    if at_ms < state.updated_ms:
        raise WorkflowError(
            f"case {case_no}: event time {at_ms} is before the case's last change "
            f"{state.updated_ms}"
        )
    blocker = _blocker(state, action)
    if blocker is not None:
        hint = f" ({blocker})" if blocker else ""
        allowed = allowed_actions(state)
        raise IllegalTransition(
            f"case {case_no} is {LABELS[state.state]} ({state.state}); {action!r} is not "
            f"allowed{hint}; allowed: {', '.join(allowed) or 'none'}"
        )
    # A shallow copy without copy.copy's reduce protocol (dataclasses.replace re-runs
    # __init__): this runs for every case event of every rebuild and ingest.
    new = object.__new__(CaseState)
    new.__dict__.update(state.__dict__)
    new.materials = list(state.materials)
    new.updated_ms = at_ms
    if action not in ("conclude", "deliver", "evaluate"):
        new.reason = _optional_text(event.reason)
    _HANDLERS[action](new, event, at_ms, calendar)
    return new


def due_date(state: CaseState, calendar: Calendar, today: date | None = None) -> date | None:
    """The last day of the time limit, or None when there is none to show.

    None before acceptance and after 不予受理. During a pause the date is not
    known yet (it moves with every paused working day): None, unless ``today``
    is given, in which case it is the date as if the pause ended today — the
    earliest it can still be.
    """
    if state.accepted_ms is None:
        return None
    extra = state.paused_workdays
    if state.paused_since_ms is not None:
        if today is None:
            return None
        extra += max(0, calendar.workdays_between(date_of_ms(state.paused_since_ms), today))
    return calendar.add_workdays(date_of_ms(state.accepted_ms), state.limit_days + extra)


def clock_runs(state: CaseState) -> bool:
    """True while the case has a deadline clock (running or paused): accepted and open."""
    return state.state in _CLOCK_STATES and state.accepted_ms is not None


def remaining_workdays(state: CaseState, today: date, calendar: Calendar) -> int | None:
    """Working days left after today until the deadline; negative when overdue.

    0 means due today. Once past the due date it is at least -1 even if no
    working day has passed since (due Friday, asked on Saturday: -1). None
    when no clock runs: before acceptance, and after 办结, 不予受理 or 撤回.
    During a pause the count is frozen at its value when the pause began.
    """
    if not clock_runs(state):
        return None
    due = due_date(state, calendar, today)
    if due is None:
        return None
    if due >= today:
        return calendar.workdays_between(today, due)
    return min(-1, -calendar.workdays_between(due, today))


def _blocker(state: CaseState, action: str) -> str | None:
    """None when ``action`` is allowed now; otherwise why not ("" when the state says it all)."""
    if action not in _FROM or state.state not in _FROM[action]:
        return ""
    in_supplement = state.state is State.SUPPLEMENT
    if (
        action in ("accept", "reject")
        and in_supplement
        and state.previous_state is not State.APPLIED
    ):
        return "the case was already accepted; supply the materials to continue"
    if action == "supply" and not in_supplement and not state.missing_material:
        return "no 容缺 material is owed"
    if action == "evaluate" and state.score is not None:
        return "already evaluated"
    return None


def _apply(event: record_pb2.CaseEvent, at_ms: int, limit_days: int) -> CaseState:
    case_no = event.case_no.strip()
    if not case_no:
        raise WorkflowError("apply: case number is empty")
    where = f"case {case_no}"
    if not event.matter_code.strip():
        raise WorkflowError(f"{where}: matter code is empty")
    if event.matter_version < 1:
        raise WorkflowError(f"{where}: matter version {event.matter_version}: want >= 1")
    applicant = check_applicant(event.applicant_id)
    name = _optional_text(event.applicant_name)
    if name is None:
        raise WorkflowError(f"{where}: applicant name is empty")
    if event.channel not in CHANNELS:
        raise WorkflowError(
            f"{where}: bad channel {event.channel!r}: want one of {', '.join(CHANNELS)}"
        )
    if isinstance(limit_days, bool) or not isinstance(limit_days, int) or not (
            0 <= limit_days <= MAX_LIMIT_DAYS):
        raise WorkflowError(f"{where}: limit_days {limit_days!r}: want an integer "
                            f"0-{MAX_LIMIT_DAYS}")
    return CaseState(
        case_no=case_no,
        matter_code=event.matter_code.strip(),
        matter_version=event.matter_version,
        applicant_id=applicant.id,
        applicant_name=name,
        channel=event.channel,
        state=State.APPLIED,
        previous_state=None,
        limit_days=limit_days,
        created_ms=at_ms,
        updated_ms=at_ms,
        accepted_ms=None,
        paused_since_ms=None,
        paused_workdays=0,
        missing_material=None,
        missing_due_ms=None,
        materials=_merge([], _names(event, where)),
        decision=None,
        reason=None,
        delivery_method=None,
        score=None,
        comment=None,
    )


def _accept(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    where = f"case {case.case_no}"
    case.materials = _merge(case.materials, _names(event, where))
    missing = _optional_text(event.missing_material)
    if missing is None and event.due_days:
        raise WorkflowError(f"{where}: due_days {event.due_days} given without a missing material")
    if missing is not None:
        if event.due_days < 1:
            raise WorkflowError(
                f"{where}: 容缺受理 of {missing!r} needs due_days >= 1 (working days to supply it)"
            )
        if event.due_days > MAX_LIMIT_DAYS:
            raise WorkflowError(f"{where}: due_days {event.due_days}: want at most "
                                f"{MAX_LIMIT_DAYS} working days")
        if missing in case.materials:
            raise WorkflowError(f"{where}: {missing!r} is owed (容缺) but was also handed in")
        due = calendar.add_workdays(date_of_ms(at_ms), event.due_days)
        case.missing_material, case.missing_due_ms = missing, ms_of_date(due)
    case.state, case.previous_state = State.ACCEPTED, None
    case.accepted_ms = at_ms


def _reject(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    if case.reason is None:
        raise WorkflowError(f"case {case.case_no}: 不予受理 needs a reason")
    case.state, case.previous_state = State.REJECTED, None


def _request_supplement(
    case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar
) -> None:
    if not _names(event, f"case {case.case_no}"):
        raise WorkflowError(f"case {case.case_no}: 补正 needs the materials to supply")
    case.previous_state, case.state = case.state, State.SUPPLEMENT
    if case.accepted_ms is not None:
        case.paused_since_ms = at_ms


def _supply(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    where = f"case {case.case_no}"
    supplied = _names(event, where)
    if case.state is State.SUPPLEMENT:
        if not supplied:
            raise WorkflowError(f"{where}: name the materials supplied for 补正")
        if case.missing_material in supplied:
            case.missing_material = case.missing_due_ms = None
        case.materials = _merge(case.materials, supplied)
        _end_pause(case, at_ms, calendar)
        assert case.previous_state is not None
        case.state, case.previous_state = case.previous_state, None
        return
    owed = case.missing_material
    assert owed is not None
    if supplied and owed not in supplied:
        raise WorkflowError(
            f"{where} owes {owed!r} (容缺); supplied {', '.join(supplied)} does not include it"
        )
    case.materials = _merge(case.materials, supplied or [owed])
    case.missing_material = case.missing_due_ms = None


def _review(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    case.state = State.REVIEWING
    case.reviewer = _optional_text(event.actor)


def _decide(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    where = f"case {case.case_no}"
    if event.approve:
        if case.missing_material is not None:
            assert case.missing_due_ms is not None
            due = date_of_ms(case.missing_due_ms).isoformat()
            raise WorkflowError(
                f"{where}: cannot approve while 容缺 material {case.missing_material!r} "
                f"(due {due}) is owed; supply it first, or decide to deny with a reason"
            )
        case.decision = APPROVED
    else:
        if case.reason is None:
            raise WorkflowError(f"{where}: a decision to deny (不予) needs a reason")
        case.decision = DENIED
    case.state = State.DECIDED


def _conclude(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    case.state = State.CONCLUDED


def _deliver(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    method = _optional_text(event.method)
    if method is None:
        raise WorkflowError(f"case {case.case_no}: 送达 needs a method (e.g. 窗口领取, 邮寄)")
    case.delivery_method = method
    case.state = State.DELIVERED


def _withdraw(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    _end_pause(case, at_ms, calendar)
    case.state, case.previous_state = State.WITHDRAWN, None


def _suspend(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    if case.reason is None:
        raise WorkflowError(f"case {case.case_no}: 特别程序 needs a reason")
    case.previous_state, case.state = case.state, State.SUSPENDED
    case.paused_since_ms = at_ms


def _resume(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    _end_pause(case, at_ms, calendar)
    assert case.previous_state is not None
    case.state, case.previous_state = case.previous_state, None


def _evaluate(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    if not 1 <= event.score <= 5:
        raise WorkflowError(f"case {case.case_no}: score {event.score}: want 1 to 5")
    case.score = event.score
    case.comment = _optional_text(event.comment)


_HANDLERS = {
    "accept": _accept,
    "reject": _reject,
    "request-supplement": _request_supplement,
    "supply": _supply,
    "review": _review,
    "decide": _decide,
    "conclude": _conclude,
    "deliver": _deliver,
    "withdraw": _withdraw,
    "suspend": _suspend,
    "resume": _resume,
    "evaluate": _evaluate,
}


def _end_pause(case: CaseState, at_ms: int, calendar: Calendar) -> None:
    if case.paused_since_ms is None:
        return
    start, end = date_of_ms(case.paused_since_ms), date_of_ms(at_ms)
    case.paused_workdays += calendar.workdays_between(start, end)
    case.paused_since_ms = None


def _optional_text(value: str) -> str | None:
    """Free text from an event, None when blank (the field was left out)."""
    value = value.strip()
    return value or None


def _names(event: record_pb2.CaseEvent, where: str) -> list[str]:
    names = [name.strip() for name in event.materials]
    if any(not name for name in names):
        raise WorkflowError(f"{where}: a material name is empty")
    return names


def _merge(have: list[str], more: list[str]) -> list[str]:
    """Materials in the order first handed in, each once."""
    out = list(have)
    for name in more:
        if name not in out:
            out.append(name)
    return out


#: 好差评 levels as 国办发〔2019〕51号 names them, best first; the number is what is stored.
EVALUATION_LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意",
                                     1: "非常不满意"}
#: 差评: the two levels that open a follow-up (回访核实, 整改, 反馈).
POOR_LEVELS = frozenset({1, 2})
#: Who gave an evaluation, and through what: the applicant through a channel, or staff
#: typing in a paper card the applicant filled in (never the clerk's own opinion).
EVALUATOR_CHANNELS: dict[str, tuple[str, ...]] = {
    "applicant": ("self-service", "online", "mobile", "sms"),
    "paper-card": ("window",),
}
#: A service can be evaluated once it has an outcome: concluded, delivered, or refused
#: (a refused applicant is the one most likely to have something to say).
_EVALUABLE = frozenset({State.CONCLUDED, State.DELIVERED, State.REJECTED})


def check_evaluation(case: CaseState | None, evaluation: record_pb2.Evaluation) -> None:
    """Refuse an evaluation that the case's state or the evaluator fields do not allow.

    One evaluation per case per evaluator is kept by the projection's key, not here:
    this is a pure check of one record against the case it is about.
    """
    where = f"evaluation of case {evaluation.case_no}"
    if case is None:
        raise WorkflowError(f"{where}: no such case")
    if case.state not in _EVALUABLE:
        raise IllegalTransition(
            f"{where}: case is {LABELS[case.state]} ({case.state}); an evaluation needs "
            "an outcome (办结, 送达 or 不予受理)")
    if evaluation.level not in EVALUATION_LEVELS:
        raise WorkflowError(
            f"{where}: level {evaluation.level}: want 1 (非常不满意) to 5 (非常满意)")
    channels = EVALUATOR_CHANNELS.get(evaluation.evaluator_kind)
    if channels is None:
        raise WorkflowError(f"{where}: evaluator kind {evaluation.evaluator_kind!r}: want "
                            f"{' or '.join(EVALUATOR_CHANNELS)}")
    if evaluation.channel not in channels:
        raise WorkflowError(f"{where}: channel {evaluation.channel!r} for "
                            f"{evaluation.evaluator_kind}: want {', '.join(channels)}")
    if not evaluation.evaluator.strip():
        raise WorkflowError(f"{where}: the evaluator (ID or credit code) is empty")
    if (evaluation.evaluator_kind == "paper-card") != bool(evaluation.entered_by.strip()):
        raise WorkflowError(f"{where}: a paper card names the staff who entered it, and only "
                            "a paper card does")
