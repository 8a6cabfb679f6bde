"""电子监察: a light for every open case, the clocks behind it, and 督办 notices.

A case's light is the worst of its clocks. Each clock is a limit in working
days on the official calendar (node.workdays) with the same thresholds as case
deadlines: red when overdue, yellow with DUE_SOON_DAYS (3) or fewer left
(the "3日监察预警"), else green. The clocks:

- 办结时限: the case's own time limit, from node.workflow (pauses included).
- waiting clocks, one per state in which the node waits for someone:
  受理 (an application neither accepted nor refused within the acceptance
  limit, default 5 working days: 行政许可法 第三十二条) and 补正 (a supplement
  notice the applicant has not answered in full: it starts at the notice, and
  supplying part of it does not restart it). 受理 starts at the event that
  entered the state. Cross-region hand-over has no state yet; when one exists
  (a case handed to another node and not yet acknowledged) it is one more line
  in WAITING_CLOCKS with its limit in Limits, and lights, lists, counts and the
  report pick it up unchanged.
- 容缺: one clock per material accepted as owed, each with its own due date,
  until it is supplied (after the decision too, where the item lets a
  decision wait for no owed material).
- 核查: a 告知承诺 post-check not yet recorded, due the matter's days after the
  approval (it outlives 办结: the case's own clock has stopped).
- 督办: a supervision notice from an ancestor that the owner has not answered
  is red, at the sender and at the owner alike.
- 差评 follow-up: each step of the closed loop not yet recorded (node.evaluation).

Everything is computed from projected records and today's date; nothing is
stored, so every level computes the same lights from the same records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date

from node import evaluation, workflow
from node.authority import case_owner
from node.config_schema import Config
from node.lights import GREEN, RANK, RED, YELLOW, Clock, clock, light_of
from node.projection import load_calendar, load_case, row_to_case
from node.scope import in_scope
from node.store import Draft, NodeStore
from node.workdays import Calendar, date_of_ms
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

State = workflow.State

GROUPINGS = ("county", "body", "matter")


class SupervisionError(InputError):
    pass


@dataclass(frozen=True)
class Limits:
    """Working-day limits a province sets for itself; ``[supervision]`` in tongban.toml."""

    acceptance_days: int = 5
    supplement_answer_days: int = 10

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        return cls(acceptance_days=config.supervision_acceptance_days,
                   supplement_answer_days=config.supervision_supplement_answer_days)


#: state → (clock name, Limits field): the node waits for someone while a case is in it.
WAITING_CLOCKS: dict[State, tuple[str, str]] = {
    State.APPLIED: ("受理", "acceptance_days"),
    State.SUPPLEMENT: ("补正", "supplement_answer_days"),
}

_OPEN = frozenset(State) - {State.CONCLUDED, State.DELIVERED, State.REJECTED, State.WITHDRAWN}


@dataclass
class CaseLight:
    case_no: str
    owner: str
    matter_code: str
    body: str
    state: str
    light: str
    clocks: list[Clock] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def case_clocks(case: workflow.CaseState, today: date, calendar: Calendar,
                limits: Limits) -> list[Clock]:
    """The clocks of one case that are running today (once it is closed, only what it
    still owes: 容缺 materials and a 核查)."""
    if case.state not in _OPEN:
        return owed_clocks(case, today, calendar)
    clocks = []
    remaining = workflow.remaining_workdays(case, today, calendar)
    if remaining is not None:
        due = workflow.due_date(case, calendar, today)
        assert due is not None
        clocks.append(Clock("办结时限", due.isoformat(), remaining, light_of(remaining)))
    waiting = WAITING_CLOCKS.get(case.state)
    if waiting is not None:
        name, limit = waiting
        since = case.requested_ms if case.state is State.SUPPLEMENT else None
        due = calendar.add_workdays(date_of_ms(since or case.updated_ms), getattr(limits, limit))
        clocks.append(clock(name, due, today, calendar, "、".join(case.requested)))
    return clocks + owed_clocks(case, today, calendar)


def owed_clocks(case: workflow.CaseState, today: date, calendar: Calendar) -> list[Clock]:
    """One clock per 容缺 material still owed, and one for a 告知承诺 核查 not yet recorded;
    they run after the decision too (an item may decide while materials are owed, and
    the 核查 follows the decision)."""
    clocks = [clock("容缺", date_of_ms(due), today, calendar, name)
              for name, due in case.owed.items()]
    if case.check_due_ms is not None and case.check_result is None:
        clocks.append(clock("核查", date_of_ms(case.check_due_ms), today, calendar,
                            "、".join(case.committed)))
    return clocks


@dataclass
class Notice:
    id: str
    origin: str
    case_no: str
    owner: str
    sent_ms: int
    text: str
    due: str
    reply_id: str | None
    reply_ms: int | None
    reply_text: str | None

    @property
    def answered(self) -> bool:
        return self.reply_id is not None


def notices(store: NodeStore, *, subtree: bool = True) -> list[Notice]:
    """督办 notices this node sent, received, or holds for its subtree, oldest first."""
    calendar = load_calendar(store.db)
    rows = store.db.execute(
        "SELECT n.origin, n.seq, n.case_no, n.owner, n.at_ms, n.text, n.due_days,"
        " r.origin, r.seq, r.at_ms, r.text FROM supervision_notices n"
        " LEFT JOIN supervision_replies r ON r.notice_origin = n.origin"
        " AND r.notice_seq = n.seq AND r.origin = n.owner ORDER BY n.at_ms, n.origin, n.seq")
    out: dict[str, Notice] = {}
    for origin, seq, case_no, owner, at_ms, text, days, r_origin, r_seq, r_ms, r_text in rows:
        if not (origin == store.division or in_scope(store.division, owner, subtree)):
            continue
        notice_id = f"{origin}#{seq}"
        if notice_id in out:   # answered twice: the first answer counts
            continue
        due = calendar.add_workdays(date_of_ms(at_ms), days).isoformat()
        out[notice_id] = Notice(notice_id, origin, case_no, owner, at_ms, text, due,
                                f"{r_origin}#{r_seq}" if r_origin else None, r_ms, r_text)
    return list(out.values())


def lights(store: NodeStore, today: date, *, subtree: bool = False) -> list[CaseLight]:
    """Every case with a running clock, unanswered 督办 or open 差评 step, worst first."""
    calendar = load_calendar(store.db)
    limits = Limits.from_config(store.config)
    bodies = dict(store.db.execute("SELECT impl_code || '#' || version, json_extract(data,"
                                   " '$.body_name') FROM matters"))
    found: dict[str, CaseLight] = {}

    def entry(case: workflow.CaseState) -> CaseLight:
        if case.case_no not in found:
            found[case.case_no] = CaseLight(
                case.case_no, case_owner(case.case_no), case.matter_code,
                bodies.get(f"{case.matter_code}#{case.matter_version}") or "",
                str(case.state), GREEN)
        return found[case.case_no]

    placeholders = ", ".join("?" for _ in _OPEN)
    fields = ", ".join(workflow.CaseState.__dataclass_fields__)
    cursor = store.db.execute(f"SELECT {fields} FROM cases WHERE state IN ({placeholders})"
                              " OR owed_due_day IS NOT NULL", [str(s) for s in _OPEN])
    names = list(workflow.CaseState.__dataclass_fields__)
    for row in cursor:
        case = row_to_case(dict(zip(names, row, strict=True)))
        if not in_scope(store.division, case_owner(case.case_no), subtree):
            continue
        clocks = case_clocks(case, today, calendar, limits)
        if clocks:
            entry(case).clocks.extend(clocks)
    for notice in notices(store, subtree=subtree):
        if notice.answered:
            continue
        supervised = load_case(store.db, notice.case_no)
        if supervised is None:
            continue
        overdue_or_not = clock("督办", date.fromisoformat(notice.due), today, calendar,
                               notice.id)
        overdue_or_not.light = RED   # an unanswered 督办 is red whatever its due date
        entry(supervised).clocks.append(overdue_or_not)
    for case_no, step_clock in evaluation.follow_up_clocks(store, today, subtree=subtree):
        evaluated = load_case(store.db, case_no)
        if evaluated is not None:
            entry(evaluated).clocks.append(step_clock)
    for item in found.values():
        item.light = max((c.light for c in item.clocks), key=RANK.__getitem__)
    return sorted(found.values(), key=lambda c: (-RANK[c.light], _soonest(c), c.case_no))


def _soonest(item: CaseLight) -> int:
    return min((c.remaining for c in item.clocks if c.remaining is not None), default=10**6)


def group_counts(items: list[CaseLight], by: str) -> list[dict]:
    """Red, yellow and green cases per county (owner), implementing body or matter."""
    key = {"county": lambda c: c.owner, "body": lambda c: c.body or "(unknown body)",
           "matter": lambda c: c.matter_code}[by]
    counts: dict[str, Counter] = {}
    for item in items:
        counts.setdefault(key(item), Counter())[item.light] += 1
    return [{by: name, RED: c[RED], YELLOW: c[YELLOW], GREEN: c[GREEN]}
            for name, c in sorted(counts.items(), key=lambda kv: (-kv[1][RED], -kv[1][YELLOW],
                                                                   kv[0]))]


def send_notice(store: NodeStore, case_no: str, text: str, due_days: int) -> str:
    """Write a 督办 notice to the case's owner; returns its id (origin#seq)."""
    if not text.strip():
        raise SupervisionError("a 督办 notice needs a text")
    if due_days < 1:
        raise SupervisionError(f"--due {due_days}: want at least 1 working day")
    if load_case(store.db, case_no) is None:
        raise SupervisionError(f"no case {case_no} among the records this node holds")
    body = record_pb2.SupervisionNotice(case_no=case_no, text=text, due_days=due_days)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.SUPERVISION_NOTICE, lambda _s, _h: data, case_owner(case_no))])
    return f"{store.division}#{store.log.size(store.division) - 1}"


def reply(store: NodeStore, notice_id: str, text: str) -> str:
    """Answer a 督办 notice about one of this node's cases; returns the reply's id."""
    if not text.strip():
        raise SupervisionError("a reply needs a text")
    known = {n.id: n for n in notices(store, subtree=False) if n.owner == store.division}
    notice = known.get(notice_id)
    if notice is None:
        raise SupervisionError(f"no 督办 notice {notice_id} addressed to {store.division}; "
                               "see tongban supervise notices")
    if notice.answered:
        raise SupervisionError(f"督办 notice {notice_id} was answered already ({notice.reply_id})")
    body = record_pb2.SupervisionReply(notice_origin=notice.origin,
                                       notice_seq=int(notice_id.split("#")[1]),
                                       case_no=notice.case_no, text=text)
    data = body.SerializeToString()
    store.write([Draft(record_pb2.SUPERVISION_REPLY, lambda _s, _h: data, notice.origin)])
    return f"{store.division}#{store.log.size(store.division) - 1}"
