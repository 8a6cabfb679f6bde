"""Case (办件) operations: turn a command into a CaseEvent record, or refuse it.

Checks that need the catalogue (matter exists, materials, 容缺 and 告知承诺
allowed, 补正 only for the item's materials, the service object, a theme's
members) live here; the state machine itself is node.workflow and runs again inside the
projection, so an illegal transition is refused before anything is written.
Who may act (the case's owner; an active staff member with the action's role)
is node.authority's, judged on the same write. Every event records the OS
login that ran the command beside the actor (node.staff).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from node import crossregion, staff, workflow
from node.authority import case_number, case_owner
from node.clock import wall_ms
from node.ids import NATURAL, Applicant, check_applicant
from node.matters import MatterError, current_matter
from node.projection import (
    Calendars,
    calendar_for,
    deadline_candidates,
    iter_cases,
    load_case,
    theme_members,
)
from node.store import Draft, NodeStore
from node.workdays import date_of_ms
from pki.errors import InputError
from protos.tongban.v1 import record_pb2
from sync import deliver
from sync.records import parse_body, parse_record


class CaseError(InputError):
    pass


@dataclass
class Outcome:
    case: workflow.CaseState
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    #: 一件事: the member cases opened with the theme case, one per member matter.
    members: list[workflow.CaseState] = field(default_factory=list)


#: 服务对象 values a credit code (USCC) may apply under; a resident ID needs 自然人.
_ORGANISATIONS = frozenset({"法人", "其他组织"})


def check_service_object(matter: record_pb2.Matter, applicant: Applicant) -> None:
    """Natural-person items refuse a credit code, organisation items a resident ID."""
    serves = set(matter.service_object.split(","))
    if applicant.kind == NATURAL and "自然人" not in serves:
        raise CaseError(f"matter {matter.impl_code} ({matter.name}) serves "
                        f"{matter.service_object}, not 自然人: {applicant.id} is a resident ID")
    if applicant.kind != NATURAL and not serves & _ORGANISATIONS:
        raise CaseError(f"matter {matter.impl_code} ({matter.name}) serves "
                        f"{matter.service_object} only: {applicant.id} is a credit code "
                        "(法人 or 其他组织)")


def _check_known(matter: record_pb2.Matter, names: list[str], what: str = "material") -> None:
    known = {m.name for m in matter.materials}
    unknown = [m for m in names if m not in known]
    if unknown:
        raise CaseError(
            f"matter {matter.impl_code} has no {what} {', '.join(unknown)}; "
            f"its materials are: {', '.join(sorted(known)) or 'none'}"
        )


def apply(store: NodeStore, *, matter_code: str, applicant: str, applicant_name: str,
          channel: str, materials: list[str], actor: str,
          licences: tuple[str, ...] = (), handled_by: str = "",
          joint_with: str = "") -> Outcome:
    """Register an application; ``licences`` (numbers, files or QR payloads) replace papers.

    With ``handled_by`` (代收代办) the matter comes from the 跨省通办 list, the apply
    is the hand-over and is addressed to the handler; with ``joint_with`` (多地联办)
    the case is this node's, with steps at the partner, who gets the apply too.
    """
    checked = check_applicant(applicant)
    if channel not in workflow.CHANNELS:
        raise CaseError(f"bad channel {channel!r}: want one of {', '.join(workflow.CHANNELS)}")
    if handled_by or joint_with:
        return _apply_across(store, checked, matter_code=matter_code,
                             applicant_name=applicant_name, channel=channel,
                             materials=materials, actor=actor, licences=licences,
                             handled_by=handled_by, joint_with=joint_with)
    matter = current_matter(store.db, matter_code)
    members = [current_matter(store.db, code) for code in matter.theme_members]
    for item in [matter, *members]:
        check_service_object(item, checked)
    cited = [_cite(store, matter, checked.id, value) for value in licences]
    materials = [*materials, *(c.material for c in cited if c.material not in materials)]
    _check_known(matter, materials)
    numbers: list[str] = []

    def opening(item: record_pb2.Matter, theme: bool = False) -> Callable[[int, int], bytes]:
        names = {m.name for m in item.materials}
        mine = [m for m in materials if m in names]

        def body(seq: int, hlc: int) -> bytes:
            numbers.append(case_number(store.division, seq, hlc))
            return record_pb2.CaseEvent(
                case_no=numbers[-1], action="apply", actor=actor, matter_code=item.impl_code,
                matter_version=item.version, applicant_id=checked.id,
                applicant_name=applicant_name, channel=channel, materials=mine,
                limit_days=matter.promised_limit_days,
                licences=[c for c in cited if c.material in names], os_login=staff.os_login(),
                theme=theme, theme_case=numbers[0] if item is not matter else "",
            ).SerializeToString()
        return body

    store.write([Draft(record_pb2.CASE_EVENT, opening(matter, bool(members))),
                 *(Draft(record_pb2.CASE_EVENT, opening(member)) for member in members)])
    return Outcome(_require(store, numbers[0]), list(checked.warnings),
                   members=[_require(store, number) for number in numbers[1:]])


def _apply_across(store: NodeStore, checked: Applicant, *, matter_code: str,
                  applicant_name: str, channel: str, materials: list[str], actor: str,
                  licences: tuple[str, ...], handled_by: str, joint_with: str) -> Outcome:
    """An application for a matter on the 跨省通办 list: handed over (代收代办) or joint (多地联办).

    The matter and its materials come from the list, since the handler's item need not be
    in this node's catalogue; the apply is addressed to the other node."""
    if handled_by and joint_with:
        raise CaseError("--handled-by and --joint-with: a case is handed over or handled "
                        "jointly, not both")
    other = handled_by or joint_with
    crossregion.check_handler(store, other)
    entry = crossregion.listed(store.db, matter_code, handled_by or store.division)
    if joint_with:
        crossregion.listed(store.db, matter_code, joint_with)
        if not entry.item.steps:
            raise CaseError(f"matter {matter_code} has no 联办 steps on the 跨省通办 list; "
                            "use --handled-by to hand it over")
    elif entry.item.steps:
        raise CaseError(f"matter {matter_code} is handled jointly (多地联办): use "
                        f"--joint-with {handled_by}")
    if licences:
        raise CaseError("免证办 (--licence) is checked by the handler's catalogue; hand "
                        "the papers over instead")
    known = set(entry.implementer.materials)
    unknown = [m for m in materials if m not in known]
    if unknown:
        raise CaseError(
            f"matter {matter_code} has no material {', '.join(unknown)}; "
            f"its materials are: {', '.join(sorted(known)) or 'none'}"
        )
    numbers: list[str] = []

    def body(seq: int, hlc: int) -> bytes:
        numbers.append(case_number(store.division, seq, hlc))
        return record_pb2.CaseEvent(
            case_no=numbers[-1], action="apply", actor=actor,
            matter_code=entry.implementer.impl_code, matter_version=entry.version,
            applicant_id=checked.id, applicant_name=applicant_name, channel=channel,
            materials=materials, limit_days=entry.implementer.promised_limit_days,
            os_login=staff.os_login(), handled_by=handled_by, joint_with=joint_with,
            list_version=entry.version,
        ).SerializeToString()

    store.write([Draft(record_pb2.CASE_EVENT, body, other)])
    return Outcome(_require(store, numbers[0]), list(checked.warnings))


def _cite(store: NodeStore, matter: record_pb2.Matter, applicant_id: str,
          value: str) -> record_pb2.CitedLicence:
    """Verify a cited licence offline and name the material it counts as (免证办)."""
    now_ms = wall_ms()
    from node import licence_verify  # a cited licence only: its seal and log checks

    verdict = licence_verify.cite(store, value, datetime.fromtimestamp(now_ms / 1000, UTC),
                                  date_of_ms(now_ms))
    claims = verdict.claims
    if not verdict.ok:
        raise CaseError(f"licence {claims.licence_id} is {verdict.detail}")
    if claims.holder_id != applicant_id:
        raise CaseError(f"licence {claims.licence_id} is held by {claims.holder_name}, not the "
                        f"applicant {applicant_id}")
    for material in matter.materials:
        if material.licence_type == claims.type_code:
            return record_pb2.CitedLicence(
                licence_id=claims.licence_id, material=material.name,
                type_code=claims.type_code, issuer=claims.node,
                checked_by=verdict.checked_by, status_as_of_ms=verdict.status_as_of_ms or 0)
    raise CaseError(f"licence {claims.licence_id} is a {claims.type_name} ({claims.type_code}); "
                    f"no material of matter {matter.impl_code} is satisfied by that type")


def act(store: NodeStore, case_no: str, action: str, *, actor: str, **arguments) -> Outcome:
    """Any action after apply; ``arguments`` are CaseEvent fields (reason, materials, …)."""
    for key, value in arguments.items():
        if isinstance(value, int) and not 0 <= value <= workflow.MAX_LIMIT_DAYS:
            raise CaseError(f"bad {key} {value}: want 0-{workflow.MAX_LIMIT_DAYS}")
    case = _require(store, case_no)
    if action == "evaluate":     # legacy events stay readable; the domain writes no new ones
        raise CaseError(
            "an evaluation is the applicant's, not the clerk's: record it with "
            f"'tongban evaluation add {case_no} --level … --via …' (a channel, or paper-card)")
    recipient, extra = crossregion.addressing(store, case_no, action)
    if action == "conclude":
        crossregion.check_steps_done(store.db, case_no)
    if action in workflow.ACTIONS:  # legality first: the state says more than the catalogue
        workflow.require_allowed(case, action)
    if action in ("accept", "request-supplement", "supply"):
        arguments = _check_materials(store, case, action, arguments)
    if action == "decide" and case.reviewer == actor and staff.one_person_office(store.config):
        arguments["one_person_office"] = True  # recorded as such: one person reviewed and decided
    event = record_pb2.CaseEvent(case_no=case_no, action=action, actor=actor,
                                 os_login=staff.os_login(), **arguments, **extra)
    data = event.SerializeToString()
    drafts = [Draft(record_pb2.CASE_EVENT, lambda _seq, _hlc: data, recipient)]
    from node import licences  # case actions only, not listings (the CLI's start-up)
    licence = licences.licence_for_case(store.db, case_no)
    if action == "check" and not event.commitment_kept and licence is not None \
            and licences.revocation(store.db, licence, store.division) is None:
        # a false commitment revokes the decision and, in the same write, its licence
        drafts.append(licences.revocation_draft(
            licence, f"告知承诺不实（{case_no} 核查）: {event.reason.strip()}"))
    store.write(drafts)
    outcome = Outcome(_require(store, case_no))
    if action == "conclude":
        outcome.next_steps = [step for step in [licences.offer(store, case_no)] if step]
    return outcome


def _check_materials(store: NodeStore, case: workflow.CaseState, action: str,
                     arguments: dict) -> dict:
    """Materials named by 受理, 补正 or 补齐 must be the item's; returns the event's fields.

    A case handed over (代收代办) is checked against the materials the 跨省通办 list
    names, at both ends: neither need hold the other's catalogue item."""
    listed = crossregion.handed_over_materials(store.db, case.case_no)
    if listed is None:
        matter = current_matter(store.db, case.matter_code, case.matter_version,
                                allow_retired=True)
        _check_known(matter, list(arguments.get("materials") or []))
        return _acceptance(matter, case, arguments) if action == "accept" else arguments
    named = list(arguments.get("materials") or [])
    allowed = {*listed, *case.requested, *_handler_materials(store, case)}
    unknown = [m for m in named if m not in allowed]
    if unknown:
        raise CaseError(f"case {case.case_no} was handed over with the 跨省通办 list's materials "
                        f"({', '.join(listed) or 'none'}); {', '.join(unknown)} is neither one "
                        "of them, nor requested, nor a material of the handler's item")
    if action != "accept":
        return arguments
    if _as_list(arguments.get("missing_material")) or _as_list(arguments.get("committed")):
        raise CaseError(f"case {case.case_no} was handed over: 容缺 and 告知承诺 are not "
                        "offered on cross-region cases; request a supplement (补正) instead")
    have = set(case.materials) | set(named)
    lacking = [m for m in listed if m not in have]
    if lacking:
        raise CaseError(f"case {case.case_no} lacks materials the 跨省通办 list requires: "
                        f"{', '.join(lacking)}; request a supplement (补正) from the "
                        "receiving window")
    return {key: value for key, value in arguments.items()
            if key not in ("missing_material", "due_days", "committed")}


def _acceptance(matter: record_pb2.Matter, case: workflow.CaseState,
                arguments: dict) -> dict:
    """Every required material present, owed (容缺, where the item allows it) or committed to
    (告知承诺, where the item allows it); returns the accept event's fields.

    ``missing_material`` and ``due_days`` may be one value or lists: one due for all owed
    materials, or one due per owed material, in order.
    """
    fields = dict(arguments)
    owed_names = _as_list(fields.pop("missing_material", None))
    dues = _as_list(fields.pop("due_days", None))
    committed = _as_list(fields.pop("committed", None))
    if owed_names and len(dues) not in (1, len(owed_names)):
        raise CaseError(f"{len(owed_names)} materials owed (--missing) with {len(dues)} due "
                        "dates (--due): give one for all, or one for each")
    if dues and not owed_names:
        raise CaseError("--due given without a material owed (--missing)")
    for days in dues:
        if isinstance(days, bool) or not isinstance(days, int) \
                or not 1 <= days <= workflow.MAX_LIMIT_DAYS:
            raise CaseError(f"bad --due {days!r}: want 1-{workflow.MAX_LIMIT_DAYS} working days")
    spec = {m.name: m for m in matter.materials}
    _check_known(matter, [*owed_names, *committed])
    for name in owed_names:
        if not spec[name].deferrable:
            raise CaseError(f"material {name!r} of matter {case.matter_code} does not allow "
                            "容缺受理; request a supplement (补正) instead")
    for name in committed:
        if not spec[name].commitment:
            raise CaseError(f"material {name!r} of matter {case.matter_code} does not allow "
                            "告知承诺; request a supplement (补正) instead")
    have = set(case.materials) | set(fields.get("materials") or []) | set(owed_names) \
        | set(committed)
    lacking = [m.name for m in matter.materials if m.required and m.name not in have]
    if lacking:
        raise CaseError(
            f"case {case.case_no} lacks required materials: {', '.join(lacking)}; request a "
            "supplement (补正), or accept with --missing for a material that allows 容缺"
            " or --commit for one that allows 告知承诺"
        )
    if owed_names:
        days = dues * len(owed_names) if len(dues) == 1 else dues
        fields["owed"] = [record_pb2.OwedMaterial(name=name, due_days=day)
                          for name, day in zip(owed_names, days, strict=True)]
        fields["decide_with_owed"] = matter.decide_with_owed
    if committed:
        fields["committed"], fields["check_days"] = committed, matter.commitment_check_days
    return fields


def _handler_materials(store: NodeStore, case: workflow.CaseState) -> list[str]:
    """The materials of the handler's own item, where this node holds it (at the handler)."""
    try:  # the case's version is the list's, not the item's: the newest item applies
        matter = current_matter(store.db, case.matter_code, allow_retired=True)
    except MatterError:
        return []
    return [m.name for m in matter.materials]


def _as_list(value: object) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def notice(store: NodeStore, case_no: str) -> str:
    """The 补正 notice (一次性告知书) of a case: printable text listing everything needed.

    One notice per round names every material the applicant still has to supply
    (行政许可法 第三十二条: 一次告知); it is printed from the case's records, so it
    can be printed again at any time and says the same.
    """
    case = _require(store, case_no)
    if not case.requested:
        raise CaseError(f"case {case_no} has no 补正 outstanding (state "
                        f"{workflow.LABELS[case.state]}); nothing to notify")
    matter = current_matter(store.db, case.matter_code, case.matter_version, allow_retired=True)
    assert case.requested_ms is not None
    limits = store.config.supervision_supplement_answer_days  # [supervision] in tongban.toml
    calendar = calendar_for(store.db, case_owner(case_no))  # the owner's calendar
    asked = date_of_ms(case.requested_ms)
    answer_by = calendar.add_workdays(asked, limits)
    spec = {m.name: m for m in matter.materials}
    lines = [
        "补正材料一次性告知书",
        "",
        f"编号: {case.case_no}（第 {case.supplement_rounds} 次补正）",
        f"申请人: {case.applicant_name}（{case.applicant_id}）",
        f"事项: {matter.name}（{matter.impl_code}，第 {matter.version} 版）",
        f"实施机关: {matter.body_name}",
        f"告知日期: {asked.isoformat()}",
        "",
        "您提交的申请材料不齐全或者不符合法定形式，请补正以下全部材料"
        "（《中华人民共和国行政许可法》第三十二条）:",
    ]
    for number, name in enumerate(case.requested, 1):
        required = "必要" if spec.get(name) is not None and spec[name].required else "非必要"
        lines.append(f"  {number}. {name}（{required}）")
    if case.reason:
        lines.append(f"说明: {case.reason}")
    lines += ["",
              f"请于 {answer_by.isoformat()} 前（{limits} 个工作日内）补正。"
              "本告知书列明需补正的全部材料，不再另行要求其他材料。",
              f"已提交: {'、'.join(case.materials) or '无'}"]
    return "\n".join(lines) + "\n"


def _require(store: NodeStore, case_no: str) -> workflow.CaseState:
    case = load_case(store.db, case_no)
    if case is None:
        raise CaseError(f"no case {case_no} on this node")
    return case


def records_of(db: sqlite3.Connection, case_no: str) -> list[tuple[str, int]]:
    """(origin, seq) of every record of the case, in log order: what a case proof covers."""
    return db.execute("SELECT origin, seq FROM case_events WHERE case_no = ?"
                      " ORDER BY origin, seq", (case_no,)).fetchall()


def history(store: NodeStore, case_no: str) -> list[dict]:
    """Every event of the case in hybrid-logical-clock order across origins; equal times
    are ordered by (origin, seq), so every node prints the same history."""
    _require(store, case_no)
    rows = store.db.execute(
        "SELECT origin, seq, at_ms, action, actor, os_login, state_after FROM case_events"
        " WHERE case_no = ? ORDER BY hlc, origin, seq", (case_no,)
    ).fetchall()
    records = deliver.held_records(store.log, store.db, [(row[0], row[1]) for row in rows])
    return [
        {"origin": origin, "seq": seq, "at_ms": at_ms, "action": action, "actor": actor,
         "os_login": login, "state": state, "details": _details(data)}
        for (origin, seq, at_ms, action, actor, login, state), data
        in zip(rows, records, strict=True)
    ]


def _details(record_bytes: bytes) -> dict:
    """The event's arguments for display (everything but number, action and actor),
    read from the record itself: the projection keeps no second copy."""
    event = parse_body(record_pb2.CaseEvent, parse_record(record_bytes).body, "case event body")
    return {field.name: value if isinstance(value, str | int) else list(value)
            for field, value in event.ListFields()
            if field.name not in ("case_no", "action", "actor", "os_login")}


@dataclass
class CaseView:
    case: workflow.CaseState
    due: date | None
    remaining: int | None
    #: What else is past its due day: 容缺 materials still owed, a 告知承诺 核查 not recorded.
    late: list[str] = field(default_factory=list)

    @property
    def due_soon(self) -> bool:
        return self.remaining is not None and 0 <= self.remaining <= workflow.DUE_SOON_DAYS

    @property
    def overdue(self) -> bool:
        return (self.remaining is not None and self.remaining < 0) or bool(self.late)


def _view(case: workflow.CaseState, today: date, calendars: Calendars) -> CaseView:
    """The case with its deadline, counted on its owner's calendar."""
    calendar = calendars(case_owner(case.case_no))
    late = [f"容缺 {name}" for name, due in case.owed.items() if date_of_ms(due) < today]
    if case.check_result is None and case.check_due_ms is not None \
            and date_of_ms(case.check_due_ms) < today:
        late.append("核查")
    return CaseView(case, workflow.due_date(case, calendar),
                    workflow.remaining_workdays(case, today, calendar), late)


@dataclass(frozen=True)
class Page:
    views: list[CaseView]
    more: bool  # more cases match after the last one here: pass its number as ``after``


def listing(store: NodeStore, today: date, *, state: str | None = None,
            due_soon: bool = False, overdue: bool = False, limit: int | None = None,
            after: str | None = None) -> Page:
    """One page of cases in case-number order, after case ``after``, at most ``limit``.

    Deadline filters read only candidate rows: the due_day index bounds them
    (overdue: due before today; due soon: before the day the DUE_SOON_DAYS+1-th
    working day ends), paused cases come from their own index, and the exact
    predicates of CaseView decide, row by row in case-number order until the page
    is full. So the cost follows the page, not the history: a national node's 10^6
    closed cases are never read, nor its open ones past the page.
    """
    calendars = Calendars(store.db)
    if not (due_soon or overdue):
        rows = iter_cases(store.db, state, after=after,
                          limit=None if limit is None else limit + 1)
        found = [_view(case, today, calendars) for case in rows]
    else:
        # the index bound must hold for every owner's calendar: the latest of them
        before = (max(c.add_workdays(today, workflow.DUE_SOON_DAYS + 1)
                      for c in calendars.distinct()) if due_soon else today)
        since = today if due_soon and not overdue else None
        found = []
        for case_no in deadline_candidates(store.db, before, since,
                                           today if overdue else None):
            if after is not None and case_no <= after:
                continue
            case = load_case(store.db, case_no)
            if case is None or (state and case.state != state):
                continue
            view = _view(case, today, calendars)
            if (not due_soon or view.due_soon) and (not overdue or view.overdue):
                found.append(view)
                if limit is not None and len(found) > limit:
                    break
    if limit is not None and len(found) > limit:
        return Page(found[:limit], True)
    return Page(found, False)


def members(store: NodeStore, case_no: str) -> list[workflow.CaseState]:
    """The member cases of a 一件事 theme case, each with its own state."""
    return theme_members(store.db, _require(store, case_no).case_no)


def view(store: NodeStore, case_no: str, today: date) -> CaseView:
    return _view(_require(store, case_no), today, Calendars(store.db))
