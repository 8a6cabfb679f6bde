"""The case (办件) state machine: one pure function from (state, event, time) to state.

Every node rebuilds its case tables from the log and compares them byte for
byte, and a parent projects its children's cases from their logs, so the state
of a case must follow from its events and their times alone: nothing here reads
the clock, the database or the catalogue. Catalogue checks (does the matter
exist, may this material be 容缺) happen in node.cases before an event is
written; this module decides only whether the event is a legal next step and
what the case looks like afterwards.

The path: 申请 → 受理 (or 不予受理) → 审查 → 决定 (准予/不予) → 办结 → 送达, with
补正 (materials requested, all in one notice: 一次告知; the case stays in 补正
until every one is supplied, then returns to 申请 before acceptance, or to
where it was after acceptance, when the clock was paused; each request is one
round, counted), 容缺受理 (accepted while materials are owed, each with its own
due date; approval waits for all of them unless the matter says otherwise),
告知承诺 (accepted on the applicant's written commitment for named materials;
an approval then owes a 核查 within the matter's days, and a commitment found
false revokes the decision: 撤销), 特别程序 (paused; resume returns to where
the case was), 撤回 (at the applicant's request, while still open), and one
好差评 evaluation after 办结.

一件事一次办: a theme case (one application for several matters) takes no
actions of its own; its member cases, each opened with the theme's number,
are handled in parallel, and ``theme_progress`` derives the theme's state from
theirs (all in the owner's one log, so every node derives the same).

The clock. Time limits are working days counted from the day after acceptance
(node.workdays). A pause — 补正 after acceptance, or 特别程序 — adds the
working days in (pause day, resume day] to the limit: the day the pause starts
was worked, the day it ends is given back, as with acceptance itself. The clock
stops for good at 办结 (the limit is a 办结时限), at 不予受理 and at 撤回.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    REVOKED = "revoked"


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
    State.REVOKED: "撤销",
}

#: States a case does not leave (but for evaluation, delivery and 核查): its outcome is known.
CLOSED = frozenset({State.CONCLUDED, State.DELIVERED, State.REJECTED, State.WITHDRAWN,
                    State.REVOKED})

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
    "check",
)

_KNOWN = frozenset(ACTIONS)

_FROM: dict[str, frozenset[State]] = {
    "accept": frozenset({State.APPLIED, State.SUPPLEMENT}),
    "reject": frozenset({State.APPLIED, State.SUPPLEMENT}),
    "request-supplement": frozenset({State.APPLIED, State.ACCEPTED, State.REVIEWING}),
    "supply": frozenset({State.SUPPLEMENT, State.ACCEPTED, State.REVIEWING, State.DECIDED,
                         State.CONCLUDED, State.DELIVERED}),
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
    "check": frozenset({State.DECIDED, State.CONCLUDED, State.DELIVERED}),
}
COMMITMENT_KEPT, COMMITMENT_FALSE = "kept", "false"
#: After the decision: an action here keeps the decision's reason.
_DECIDED = frozenset({State.DECIDED, State.CONCLUDED, State.DELIVERED})
REVOKED = "revoked"

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
    #: 容缺: every material still owed → 00:00 UTC+8 of the day it is due, in the order owed.
    owed: dict[str, int] = field(default_factory=dict)
    #: 容缺: the matter lets a decision be made while materials are owed.
    decide_with_owed: bool = False
    #: 补正: the materials of the current notice not yet supplied, and when it was given.
    requested: list[str] = field(default_factory=list)
    requested_ms: int | None = None
    #: 补正 notices given so far (一次办结 means none).
    supplement_rounds: int = 0
    #: 告知承诺: materials accepted on the applicant's written commitment, the working days
    #: after an approval for the 核查, its due day (00:00 UTC+8) and result (kept/false).
    committed: list[str] = field(default_factory=list)
    check_days: int = 0
    check_due_ms: int | None = None
    check_result: str | None = None
    #: 一件事: a theme case (True), or the theme case this member case belongs to.
    theme: bool = False
    theme_case: str | None = None


def allowed_actions(state: CaseState | None) -> list[str]:
    """The actions the case accepts now, in ACTIONS order."""
    if state is None:
        return ["apply"]
    if state.theme:
        return []
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
    if action not in _KNOWN:
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
    require_allowed(state, action)
    new = _copy(state)  # its containers are the state's: see _copy
    new.updated_ms = at_ms
    if action not in ("conclude", "deliver", "evaluate", "check") and not (
            action == "supply" and state.state in _DECIDED):
        new.reason = _optional_text(event.reason)
    _HANDLERS[action](new, event, at_ms, calendar)
    if new.state is not State.SUPPLEMENT:  # accepted, refused or withdrawn out of 补正
        new.requested, new.requested_ms = [], None
    return new


def _copy(state: CaseState) -> CaseState:
    """A shallow copy, as copy.copy makes it but without its reduce protocol (over a
    quarter of apply_event's time on a rebuild); dataclasses.replace re-runs __init__,
    slower still. The containers are shared, so a handler replaces a list rather than
    change it (materials, requested, committed) and copies ``owed`` before it pops or sets
    a material (accept, supply): copying three for every event cost 0.2 µs of it."""
    new = object.__new__(CaseState)
    new.__dict__ = state.__dict__.copy()  # half the time of update() into the new one's
    return new


def require_allowed(state: CaseState, action: str) -> None:
    """Raise IllegalTransition naming state and allowed actions unless ``action`` may follow."""
    blocker = _blocker(state, action)
    if blocker is not None:
        hint = f" ({blocker})" if blocker else ""
        allowed = allowed_actions(state)
        raise IllegalTransition(
            f"case {state.case_no} is {LABELS[state.state]} ({state.state}); {action!r} is not "
            f"allowed{hint}; allowed: {', '.join(allowed) or 'none'}"
        )


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
    if state.theme:
        return "a 一件事 case moves with its member cases: act on those"
    if action not in _FROM or state.state not in _FROM[action]:
        return ""
    in_supplement = state.state is State.SUPPLEMENT
    if (
        action in ("accept", "reject")
        and in_supplement
        and state.previous_state is not State.APPLIED
    ):
        return "the case was already accepted; supply the materials to continue"
    if action == "supply" and not in_supplement and not state.owed:
        return "no 容缺 material is owed"
    if action == "check" and (state.check_due_ms is None or state.check_result is not None):
        return ("no 告知承诺 核查 is due" if state.check_result is None
                else f"the 核查 was recorded already ({state.check_result})")
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
        materials=_merge([], _names(event, where)),
        decision=None,
        reason=None,
        delivery_method=None,
        score=None,
        comment=None,
        theme=event.theme,
        theme_case=_optional_text(event.theme_case),
    )


def _accept(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    where = f"case {case.case_no}"
    case.materials = _merge(case.materials, _names(event, where))
    case.owed = dict(case.owed)  # shared with the state before (_copy)
    owed = [(item.name.strip(), item.due_days) for item in event.owed]
    legacy = _optional_text(event.missing_material)  # one 容缺 material, as events once said
    if legacy is not None:
        owed.append((legacy, event.due_days))
    elif event.due_days:
        raise WorkflowError(f"{where}: due_days {event.due_days} given without a missing material")
    for name, days in owed:
        if not name:
            raise WorkflowError(f"{where}: a 容缺 material name is empty")
        if days < 1:
            raise WorkflowError(
                f"{where}: 容缺受理 of {name!r} needs due_days >= 1 (working days to supply it)")
        if days > MAX_LIMIT_DAYS:
            raise WorkflowError(f"{where}: due_days {days}: want at most "
                                f"{MAX_LIMIT_DAYS} working days")
        if name in case.materials:
            raise WorkflowError(f"{where}: {name!r} is owed (容缺) but was also handed in")
        if name in case.owed:
            raise WorkflowError(f"{where}: {name!r} is owed twice")
        case.owed[name] = ms_of_date(calendar.add_workdays(date_of_ms(at_ms), days))
    committed = _names_of(list(event.committed), where)
    for name in committed:
        if name in case.materials or name in case.owed:
            raise WorkflowError(f"{where}: {name!r} is committed to (告知承诺) but was also "
                                "handed in or owed")
    if committed and not 1 <= event.check_days <= MAX_LIMIT_DAYS:
        raise WorkflowError(f"{where}: 告知承诺 needs check_days 1-{MAX_LIMIT_DAYS} (working "
                            "days after the decision for the 核查)")
    if not committed and event.check_days:
        raise WorkflowError(f"{where}: check_days given without committed materials")
    case.committed, case.check_days = _merge([], committed), event.check_days
    case.decide_with_owed = event.decide_with_owed
    case.state, case.previous_state = State.ACCEPTED, None
    case.accepted_ms = at_ms


def _reject(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    if case.reason is None:
        raise WorkflowError(f"case {case.case_no}: 不予受理 needs a reason")
    case.state, case.previous_state = State.REJECTED, None


def _request_supplement(
    case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar
) -> None:
    requested = _merge([], _names(event, f"case {case.case_no}"))
    if not requested:
        raise WorkflowError(f"case {case.case_no}: 补正 needs the materials to supply")
    case.previous_state, case.state = case.state, State.SUPPLEMENT
    case.requested, case.requested_ms = requested, at_ms
    case.supplement_rounds += 1
    if case.accepted_ms is not None:
        case.paused_since_ms = at_ms


def _supply(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    """Part of a 补正 notice keeps the rest outstanding; 容缺 materials settle one by one."""
    where = f"case {case.case_no}"
    supplied = _names(event, where)
    case.owed = dict(case.owed)  # shared with the state before (_copy)
    if case.state is State.SUPPLEMENT:
        if not supplied:
            raise WorkflowError(f"{where}: name the materials supplied for 补正 "
                                f"(requested: {', '.join(case.requested)})")
        answered = [name for name in supplied if name in case.requested or name in case.owed]
        if not answered:
            raise WorkflowError(f"{where}: supplied {', '.join(supplied)} answers nothing "
                                f"requested (补正: {', '.join(case.requested)})")
        case.requested = [name for name in case.requested if name not in supplied]
        for name in supplied:
            case.owed.pop(name, None)
        case.materials = _merge(case.materials, supplied)
        if case.requested:
            return
        case.requested_ms = None
        _end_pause(case, at_ms, calendar)
        assert case.previous_state is not None
        case.state, case.previous_state = case.previous_state, None
        return
    if not supplied:
        if len(case.owed) > 1:
            raise WorkflowError(f"{where} owes {', '.join(case.owed)} (容缺); name the "
                                "materials supplied")
        supplied = list(case.owed)
    stray = [name for name in supplied if name not in case.owed]
    if stray:
        raise WorkflowError(f"{where}: {', '.join(stray)} is not owed; owed (容缺): "
                            f"{', '.join(case.owed)}")
    for name in supplied:   # a material named twice settles once
        case.owed.pop(name, None)
    case.materials = _merge(case.materials, supplied)


def _review(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    case.state = State.REVIEWING
    case.reviewer = _optional_text(event.actor)


def _decide(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    where = f"case {case.case_no}"
    if event.approve:
        if case.owed and not case.decide_with_owed:
            owed = ", ".join(f"{name} (due {date_of_ms(due).isoformat()})"
                             for name, due in case.owed.items())
            raise WorkflowError(
                f"{where}: cannot approve while 容缺 materials are owed: {owed}; supply them "
                "first, or decide to deny with a reason"
            )
        case.decision = APPROVED
        if case.committed:
            due = calendar.add_workdays(date_of_ms(at_ms), case.check_days)
            case.check_due_ms = ms_of_date(due)
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


def _check(case: CaseState, event: record_pb2.CaseEvent, at_ms: int, calendar: Calendar) -> None:
    """核查 of a 告知承诺: kept, or false, which revokes the decision (撤销)."""
    if event.commitment_kept:
        case.check_result = COMMITMENT_KEPT
        return
    reason = _optional_text(event.reason)
    if reason is None:
        raise WorkflowError(f"case {case.case_no}: a commitment found false needs a reason "
                            "(what the 核查 found)")
    case.reason = reason
    case.check_result = COMMITMENT_FALSE
    case.decision = REVOKED
    case.state, case.previous_state = State.REVOKED, None


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
    "check": _check,
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
    # most events name no material, and copying an empty repeated field costs 0.4 µs
    return _names_of(list(event.materials), where) if event.materials else []


def _names_of(values: list[str], where: str) -> list[str]:
    names = [name.strip() for name in values]
    if "" in names:
        raise WorkflowError(f"{where}: a material name is empty")
    return names


def theme_progress(theme: CaseState, members: list[CaseState]) -> CaseState:
    """A theme case (一件事) as its members make it: 申请 until one is accepted, 受理 from
    the first acceptance (the theme's limit counts from there), 办结 once every member
    has its outcome (办结, 送达, 不予受理, 撤回 or 撤销)."""
    new = _copy(theme)
    accepted = [m.accepted_ms for m in members if m.accepted_ms is not None]
    new.accepted_ms = min(accepted) if accepted else None
    new.updated_ms = max([theme.updated_ms, *(m.updated_ms for m in members)])
    if members and all(m.state in CLOSED for m in members):
        new.state = State.CONCLUDED
        approved = sum(m.decision == APPROVED for m in members)
        new.decision = APPROVED if approved == len(members) else None
        new.reason = f"{approved}/{len(members)} 准予"
    else:
        new.state = State.ACCEPTED if accepted else State.APPLIED
        new.decision = new.reason = None
    return new


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
