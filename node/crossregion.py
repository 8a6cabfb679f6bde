"""Cross-region cases: the 跨省通办 list, hand-overs (异地代收代办) and 多地联办 steps.

A case is numbered by the node that registers it (the receiving window). When
the matter is handled elsewhere, the apply names the handler (``handled_by``)
and is addressed to it: that record is the hand-over, and it reaches the
handler up through the common ancestor and down as a delivery (sync.deliver),
by network or bundle. The handler answers with case events in its own log
about the receiver's case, addressed back; the receiver authors intake, 补齐
and 送达. node.authority says who may author which event; this module checks
the catalogue side at write (the matter is on the list, the handler implements
it, the handler exists) and answers the listings.

The list is the national node's record (kind CROSS_REGION_LIST), flowing down
to every node, so a county can take applications for items it does not
implement itself: the list carries each implementer's code, limit and
materials.
"""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from node import arrivals, crossregion_list, workflow
from node.authority import STEP_SIDES
from node.crossregion_list import Listed
from node.projection import calendar_for, load_case
from node.store import Draft, NodeStore
from node.workdays import Calendar, date_of_ms
from pki.division import NATIONAL, require_known
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

#: The longest list this node accepts from a file: far above the national list's size.
MAX_ITEMS = 5000


class CrossRegionError(InputError):
    """A cross-region request this node refuses (the list's own verdicts are ListError)."""


# --- the 跨省通办 list ---------------------------------------------------------------------


def load_list_file(path: Path) -> record_pb2.CrossRegionList:
    """A list from a TOML file (version, [[items]] with implementers and optional steps)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CrossRegionError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CrossRegionError(f"{path} is not TOML: {exc}") from exc
    version, items = data.get("version"), data.get("items")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**31:
        raise CrossRegionError(f"{path}: version {version!r}: want an integer >= 1")
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        raise CrossRegionError(f"{path}: want 1-{MAX_ITEMS} [[items]]")
    out = record_pb2.CrossRegionList(version=version)
    seen: set[str] = set()
    for number, item in enumerate(items, 1):
        parsed = _item(item, f"{path}: item {number}")
        if parsed.base_code in seen:
            raise CrossRegionError(f"{path}: item {parsed.base_code} appears twice")
        seen.add(parsed.base_code)
        out.items.append(parsed)
    return out


def _text(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CrossRegionError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _item(item: object, where: str) -> record_pb2.CrossRegionItem:
    if not isinstance(item, dict):
        raise CrossRegionError(f"{where}: want a table")
    out = record_pb2.CrossRegionItem(base_code=_text(item, "base_code", where),
                                     name=_text(item, "name", where))
    where = f"{where} ({out.base_code})"
    implementers = item.get("implementers")
    if not isinstance(implementers, list) or not implementers:
        raise CrossRegionError(f"{where}: want at least one [[items.implementers]]")
    for entry in implementers:
        if not isinstance(entry, dict):
            raise CrossRegionError(f"{where}: an implementer must be a table")
        division = require_known(_text(entry, "division", where), f"{where}: division")
        limit = entry.get("promised_limit_days")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 3650:
            raise CrossRegionError(f"{where}: promised_limit_days of {division}: want 0-3650")
        materials = entry.get("materials", [])
        if not isinstance(materials, list) or not all(
                isinstance(m, str) and m.strip() for m in materials):
            raise CrossRegionError(f"{where}: materials of {division}: want a list of names")
        out.implementers.append(record_pb2.CrossRegionImplementer(
            division=division, impl_code=_text(entry, "impl_code", where),
            promised_limit_days=limit, materials=[m.strip() for m in materials]))
    for step in item.get("steps", []):
        if not isinstance(step, dict) or step.get("side") not in STEP_SIDES:
            raise CrossRegionError(f"{where}: a step needs a name and side "
                                   f"{' or '.join(STEP_SIDES)}")
        out.steps.append(record_pb2.CrossRegionStepSpec(name=_text(step, "name", where),
                                                        side=step["side"]))
    return out


def publish_list(store: NodeStore, listing: record_pb2.CrossRegionList) -> int:
    """Write the list into the national node's log; returns its version."""
    if store.division != NATIONAL:
        raise CrossRegionError(f"the 跨省通办 list is published by the national node "
                               f"{NATIONAL}; this node is {store.division}")
    newest = current_list(store.db)
    if newest is not None and listing.version <= newest.version:
        raise CrossRegionError(f"list version {listing.version} is not newer than the "
                               f"published version {newest.version}")
    data = listing.SerializeToString()
    store.write([Draft(record_pb2.CROSS_REGION_LIST, lambda _s, _h: data)])
    return listing.version


def current_list(db: sqlite3.Connection) -> record_pb2.CrossRegionList | None:
    """The newest version of the list this node holds, or None."""
    row = db.execute("SELECT data FROM crossregion_lists ORDER BY version DESC LIMIT 1"
                     ).fetchone()
    return None if row is None else record_pb2.CrossRegionList.FromString(row[0])


def listed(db: sqlite3.Connection, code: str, handled_by: str) -> Listed:
    """The newest list's entry for matter ``code`` (base or implementation code) at
    ``handled_by``."""
    require_known(handled_by, "handling node")
    listing = current_list(db)
    if listing is None:
        raise CrossRegionError("this node holds no 跨省通办 list yet (it comes down from "
                               f"{NATIONAL} with the next sync)")
    return crossregion_list.find(listing, code, handled_by)


def list_rows(db: sqlite3.Connection) -> list[dict]:
    """The newest list, one row per (item, implementer), for `crossregion list`."""
    listing = current_list(db)
    if listing is None:
        return []
    return [{"version": listing.version, "base_code": item.base_code, "name": item.name,
             "division": imp.division, "impl_code": imp.impl_code,
             "promised_limit_days": imp.promised_limit_days, "materials": list(imp.materials),
             "steps": [f"{s.name}({s.side})" for s in item.steps]}
            for item in listing.items for imp in item.implementers]


# --- hand-overs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    """A cross-region case as this node holds it."""

    case_no: str
    receiver: str
    role: str        # "handler" (代收代办) or "partner" (多地联办)
    other: str
    matter_code: str
    submitted_ms: int
    arrived_ms: int | None
    answered_ms: int | None
    answer: str | None
    accepted_ms: int | None


_COLUMNS = ("case_no, receiver, role, other, matter_code, submitted_ms, arrived_ms,"
            " answered_ms, answer, accepted_ms")


def crossing(db: sqlite3.Connection, case_no: str) -> Crossing | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM handovers WHERE case_no = ?",
                     (case_no,)).fetchone()
    return None if row is None else Crossing(*row)


def crossings(db: sqlite3.Connection) -> list[Crossing]:
    return [Crossing(*row) for row in db.execute(
        f"SELECT {_COLUMNS} FROM handovers ORDER BY case_no")]


def cited_list(db: sqlite3.Connection, case_no: str) -> record_pb2.CrossRegionList | None:
    """The 跨省通办 list version a cross-region case was opened with (its apply's
    ``list_version``, kept as the case's matter version), or None if not held."""
    row = db.execute("SELECT matter_version FROM cases WHERE case_no = ?", (case_no,)).fetchone()
    data = db.execute("SELECT data FROM crossregion_lists WHERE version = ?",
                      (row[0] if row else 0,)).fetchone()
    return None if data is None else record_pb2.CrossRegionList.FromString(data[0])


def handed_over_materials(db: sqlite3.Connection, case_no: str) -> list[str] | None:
    """The materials the list requires of a case handed over, or None for any other case."""
    found = crossing(db, case_no)
    if found is None or found.role != "handler":
        return None
    listing = cited_list(db, case_no)
    for item in listing.items if listing else ():
        for implementer in item.implementers:
            if implementer.impl_code == found.matter_code:
                return list(implementer.materials)
    return []


def check_handler(store: NodeStore, handled_by: str) -> None:
    """A hand-over goes to another existing division."""
    require_known(handled_by, "handling node")
    if handled_by == store.division:
        raise CrossRegionError(f"--handled-by {handled_by} is this node; register the case "
                               "without it")


def addressing(store: NodeStore, case_no: str, action: str) -> tuple[str, dict]:
    """The recipient of an event on a cross-region case, and fields the event carries.

    The receiving node addresses its events to the other node, the handler (代收代办)
    or the 联办 partner, so both ends hold the whole conversation; at the handler the
    first answer carries when the hand-over arrived here. Empty recipient for a case
    that crosses nothing (and for the partner, whose part is its steps).
    """
    found = crossing(store.db, case_no)
    if found is None:
        return "", {}
    me = store.division
    if me == found.receiver:
        return found.other, {}
    if found.role != "handler":
        return "", {}
    if me != found.other:
        raise CrossRegionError(f"case {case_no} is between {found.receiver} and {found.other}; "
                               f"{me} may not act on it")
    extra = {}
    if found.answered_ms is None:
        arrived = arrival_ms(store.db, found)
        if arrived is not None:
            extra["arrived_ms"] = arrived
    return found.receiver, extra


def arrival_ms(db: sqlite3.Connection, found: Crossing) -> int | None:
    row = db.execute("SELECT origin, seq FROM case_events WHERE case_no = ? AND"
                     " action = 'apply'", (found.case_no,)).fetchone()
    return None if row is None else arrivals.arrived_ms(db, row[0], row[1])


def direction(found: Crossing, me: str) -> str:
    """'outgoing' at the receiver, 'incoming' at the other node, 'passing' above them."""
    if me == found.receiver:
        return "outgoing"
    return "incoming" if me == found.other else "passing"


def handover_due(found: Crossing, calendar: Calendar, days: int) -> date:
    """The last day the handler may take for its first answer (受理, 不予受理 or 补正)."""
    return calendar.add_workdays(date_of_ms(found.submitted_ms), days)


# --- 多地联办 steps ----------------------------------------------------------------------


def record_step(store: NodeStore, case_no: str, *, actor: str, text: str = "") -> dict:
    """Record the next step of a 多地联办 case, if it is this node's to do."""
    found = crossing(store.db, case_no)
    if found is None or found.role != "partner":
        raise CrossRegionError(f"case {case_no} is not a 多地联办 case held here")
    spec = joint_steps_spec(store.db, found)
    done = store.db.execute("SELECT count(*) FROM joint_steps WHERE case_no = ?",
                            (case_no,)).fetchone()[0]
    if done >= len(spec):
        raise CrossRegionError(f"every step of case {case_no} is recorded already")
    step = spec[done]
    author = found.receiver if step.side == "receiver" else found.other
    if author != store.division:
        raise CrossRegionError(f"the next step of case {case_no} is {step.name}, which is "
                               f"{author}'s to do, not {store.division}'s")
    other = found.other if author == found.receiver else found.receiver
    body = record_pb2.CrossRegionStep(case_no=case_no, index=done, name=step.name,
                                      side=step.side, actor=actor, text=text)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.CROSS_REGION_STEP, lambda _s, _h: data, other)])
    return {"case_no": case_no, "index": done, "step": step.name, "by": author,
            "remaining": [s.name for s in spec[done + 1:]]}


def check_steps_done(db: sqlite3.Connection, case_no: str) -> None:
    """A 多地联办 case concludes only when every step, at both nodes, is recorded."""
    found = crossing(db, case_no)
    if found is None or found.role != "partner":
        return
    spec = joint_steps_spec(db, found)
    done = len(steps_done(db, case_no))
    if done < len(spec):
        step = spec[done]
        author = found.receiver if step.side == "receiver" else found.other
        raise CrossRegionError(f"case {case_no} is 多地联办: step {step.name} ({author}) and "
                               f"{len(spec) - done - 1} more are not recorded yet; it "
                               "concludes after the last step")


def joint_steps_spec(db: sqlite3.Connection, found: Crossing
                     ) -> list[record_pb2.CrossRegionStepSpec]:
    """The steps of a 联办 case as the list version it was opened with names them: a later
    version that drops or changes the item does not change a case already under way."""
    listing = cited_list(db, found.case_no)
    if listing is not None:
        for item in listing.items:
            if found.matter_code in {i.impl_code for i in item.implementers}:
                return list(item.steps)
    raise CrossRegionError(f"matter {found.matter_code} of case {found.case_no} is not on the "
                           "跨省通办 list this node holds")


def steps_done(db: sqlite3.Connection, case_no: str) -> list[dict]:
    return [{"index": idx, "step": name, "side": side, "by": origin, "at_ms": at_ms,
             "actor": actor, "text": text}
            for idx, name, side, origin, at_ms, actor, text in db.execute(
                "SELECT idx, name, side, origin, at_ms, actor, text FROM joint_steps"
                " WHERE case_no = ? ORDER BY idx", (case_no,))]


# --- listings ------------------------------------------------------------------------------

DIRECTIONS = ("incoming", "outgoing", "waiting-handover")


def listing(store: NodeStore, today: date, which: str) -> list[dict]:
    """Cross-region cases at this node: handed in here, handed out, or waiting an answer.

    ``waiting-handover``: hand-overs (either way, or passing below this node) that the
    handler has not answered yet, with the day the answer is due and whether it is late.
    """
    if which not in DIRECTIONS:
        raise CrossRegionError(f"bad listing {which!r}: want one of {', '.join(DIRECTIONS)}")
    days = store.config.supervision_handover_answer_days
    out = []
    for found in crossings(store.db):
        way = direction(found, store.division)
        if which == "waiting-handover":
            if found.role != "handler" or found.answered_ms is not None:
                continue
        elif way != which:
            continue
        case = load_case(store.db, found.case_no)
        if case is None:
            continue
        out.append(view(store.db, found, case, today, days) | {"direction": way})
    return out


def view(db: sqlite3.Connection, found: Crossing, case: workflow.CaseState, today: date,
         days: int) -> dict:
    """What both ends show of a cross-region case: who, where, when, and the due dates."""
    calendar = calendar_for(db, found.other if found.role == "handler" else found.receiver)
    due = workflow.due_date(case, calendar)
    answer_due = handover_due(found, calendar, days)
    return {"case_no": found.case_no, "kind": "代收代办" if found.role == "handler" else "多地联办",
            "receiver": found.receiver, "handler" if found.role == "handler" else "partner":
            found.other, "matter_code": found.matter_code, "state": str(case.state),
            "state_label": workflow.LABELS[case.state], "applicant_name": case.applicant_name,
            "submitted_ms": found.submitted_ms, "arrived_ms": found.arrived_ms,
            "answered_ms": found.answered_ms, "answer": found.answer,
            "accepted_ms": found.accepted_ms, "due": due.isoformat() if due else None,
            "answer_due": answer_due.isoformat() if found.answered_ms is None else None,
            "answer_late": found.answered_ms is None and today > answer_due}


def case_view(store: NodeStore, case_no: str, today: date) -> dict | None:
    """The cross-region part of `case show`, or None for a case that crosses nothing."""
    found = crossing(store.db, case_no)
    case = load_case(store.db, case_no)
    if found is None or case is None:
        return None
    shown = view(store.db, found, case, today, store.config.supervision_handover_answer_days)
    if found.role == "partner":
        shown["steps_done"] = steps_done(store.db, case_no)
        shown["steps"] = [f"{s.name}({s.side})" for s in joint_steps_spec(store.db, found)]
    return shown
