"""Case (办件) operations: turn a command into a CaseEvent record, or refuse it.

Checks that need the catalogue (matter exists, materials, 容缺 allowed) live
here; the state machine itself is node.workflow and runs again inside the
projection, so an illegal transition is refused before anything is written.
Who may act (the case's owner; an active staff member with the action's role)
is node.authority's, judged on the same write. Every event records the OS
login that ran the command beside the actor (node.staff).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from node import licence_verify, licences, staff, workflow
from node.authority import case_number, case_owner
from node.clock import wall_ms
from node.ids import check_applicant
from node.matters import current_matter
from node.projection import (
    Calendars,
    cases_due_before,
    iter_cases,
    load_case,
    paused_cases,
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


def apply(store: NodeStore, *, matter_code: str, applicant: str, applicant_name: str,
          channel: str, materials: list[str], actor: str,
          licences: tuple[str, ...] = ()) -> Outcome:
    """Register an application; ``licences`` (numbers, files or QR payloads) replace papers."""
    checked = check_applicant(applicant)
    matter = current_matter(store.db, matter_code)
    cited = [_cite(store, matter, checked.id, value) for value in licences]
    materials = [*materials, *(c.material for c in cited if c.material not in materials)]
    if channel not in workflow.CHANNELS:
        raise CaseError(f"bad channel {channel!r}: want one of {', '.join(workflow.CHANNELS)}")
    known = {m.name for m in matter.materials}
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
            case_no=numbers[-1], action="apply", actor=actor, matter_code=matter.impl_code,
            matter_version=matter.version, applicant_id=checked.id,
            applicant_name=applicant_name, channel=channel, materials=materials,
            limit_days=matter.promised_limit_days, licences=cited, os_login=staff.os_login(),
        ).SerializeToString()

    store.write([Draft(record_pb2.CASE_EVENT, body)])
    return Outcome(_require(store, numbers[0]), list(checked.warnings))


def _cite(store: NodeStore, matter: record_pb2.Matter, applicant_id: str,
          value: str) -> record_pb2.CitedLicence:
    """Verify a cited licence offline and name the material it counts as (免证办)."""
    now_ms = wall_ms()
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
    if action == "accept":
        _check_acceptance(store, case, arguments.get("missing_material"),
                          arguments.get("materials") or [])
    if action == "decide" and case.reviewer == actor and staff.one_person_office(store.config):
        arguments["one_person_office"] = True  # recorded as such: one person reviewed and decided
    event = record_pb2.CaseEvent(case_no=case_no, action=action, actor=actor,
                                 os_login=staff.os_login(), **arguments)
    data = event.SerializeToString()
    store.write([Draft(record_pb2.CASE_EVENT, lambda _seq, _hlc: data)])
    outcome = Outcome(_require(store, case_no))
    if action == "conclude":
        outcome.next_steps = [step for step in [licences.offer(store, case_no)] if step]
    return outcome


def _check_acceptance(store: NodeStore, case: workflow.CaseState, missing: str | None,
                      supplied_now: list[str]) -> None:
    """Every required material must be present, or be the one 容缺 material the matter allows."""
    matter = current_matter(store.db, case.matter_code, case.matter_version, allow_retired=True)
    have = set(case.materials) | set(supplied_now)
    lacking = [m.name for m in matter.materials if m.required and m.name not in have]
    if missing:
        spec = {m.name: m for m in matter.materials}
        if missing not in spec:
            raise CaseError(f"matter {case.matter_code} has no material {missing!r}")
        if not spec[missing].deferrable:
            raise CaseError(
                f"material {missing!r} of matter {case.matter_code} does not allow 容缺受理; "
                "request a supplement (补正) instead"
            )
        lacking = [m for m in lacking if m != missing]
    if lacking:
        raise CaseError(
            f"case {case.case_no} lacks required materials: {', '.join(lacking)}; request a "
            "supplement (补正), or accept with --missing for a material that allows 容缺"
        )


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

    @property
    def due_soon(self) -> bool:
        return self.remaining is not None and 0 <= self.remaining <= workflow.DUE_SOON_DAYS

    @property
    def overdue(self) -> bool:
        return self.remaining is not None and self.remaining < 0


def _view(case: workflow.CaseState, today: date, calendars: Calendars) -> CaseView:
    """The case with its deadline, counted on its owner's calendar."""
    calendar = calendars(case_owner(case.case_no))
    return CaseView(case, workflow.due_date(case, calendar),
                    workflow.remaining_workdays(case, today, calendar))


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
    predicates of CaseView decide. So the cost follows the result, not the
    history: a national node's 10^6 closed cases are never read.
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
        candidates = {c.case_no: c for c in cases_due_before(store.db, before, since)}
        candidates.update((c.case_no, c) for c in paused_cases(store.db))
        found = []
        for case_no in sorted(candidates):
            case = candidates[case_no]
            if (after is not None and case_no <= after) or (state and case.state != state):
                continue
            view = _view(case, today, calendars)
            if (not due_soon or view.due_soon) and (not overdue or view.overdue):
                found.append(view)
    if limit is not None and len(found) > limit:
        return Page(found[:limit], True)
    return Page(found, False)


def view(store: NodeStore, case_no: str, today: date) -> CaseView:
    return _view(_require(store, case_no), today, Calendars(store.db))
