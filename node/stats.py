"""Statistics of a node's cases, or of its whole subtree, computed where the operator sits.

Every level holds the records of its subtree, so these figures need no
network: one pass over the projected cases, joined with the two case events
that are not in the case row (the time of 办结, and whether 补正 ever
happened — a partial index keeps that join to the rows it needs).

Definitions (the sums are exact; rates are rounded to 4 places):
- a case is counted in a period by the date of its application (申请);
- accepted = ever accepted; refused = 不予受理; concluded = 办结 or 送达;
- on time (按时办结) = concluded on or before the last day of its limit,
  pauses (补正 after acceptance, 特别程序) added as in node.workflow;
- working days to conclusion = working days from acceptance to 办结, pauses
  not counted; the 90th percentile is the nearest-rank one;
- 即办件 = a case whose promised limit is 0 days; 一次办结 = a concluded case
  that never had a 补正 request; 补正 rounds = the 补正 notices given, summed
  over the cases counted (each notice lists everything: 一次告知); no visit
  (不见面) = applied online, mobile or at a self-service terminal;
- a 一件事 theme case is not counted itself: its member cases are, each as a
  case of its own matter and body;
- 好评 = 非常满意, 满意, 基本满意; 差评 = 不满意, 非常不满意; 实名差评回访整改率 =
  差评 whose three follow-up steps are all recorded, over all 差评 (every
  evaluation names its evaluator, so every one is 实名);
- 网上可办率 = current catalogue items with online depth 3 (在线预审) or 4
  (全程网办), over all current items; 全程网办率 counts depth 4 only.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from importlib.metadata import version

from node import workflow
from node.authority import case_owner
from node.clock_guard import EARLIEST_MS, LATEST_MS
from node.projection import FOLLOW_UP_STEPS, Calendars
from node.scope import in_scope
from node.store import NodeStore
from node.workdays import Calendar, date_of_ms, ms_of_date
from pki.errors import InputError

GROUPINGS = ("county", "body", "matter", "channel", "month")
NO_VISIT_CHANNELS = frozenset({"online", "mobile", "self-service"})
_CONCLUDED = frozenset({str(workflow.State.CONCLUDED), str(workflow.State.DELIVERED)})
_GOOD = frozenset({3, 4, 5})


_DAY_MS = 86_400_000
_CHINA_OFFSET_MS = 8 * 3_600_000
_EPOCH = date(1970, 1, 1)


def day_number(ms: int) -> int:
    """Days since 1970-01-01 of a unix time's China date (date_of_ms, without datetime)."""
    return (ms + _CHINA_OFFSET_MS) // _DAY_MS


class WorkdayIndex:
    """Working-day arithmetic in O(1) and O(log n) over a span of days, for many cases at once.

    Calendar counts day by day, which is right for one case and too slow for a
    million; this is the same calendar turned into a running count per day,
    with days as day_number()s so that no date object is made per case.
    """

    def __init__(self, calendar: Calendar, first: int, last: int) -> None:
        self.first = first
        self.cumulative: list[int] = []
        count = 0
        for number in range(first, last + 1):
            count += calendar.is_workday(_EPOCH + timedelta(days=number))
            self.cumulative.append(count)

    def _at(self, day: int) -> int:
        offset = day - self.first
        if not 0 <= offset < len(self.cumulative):
            raise InputError(f"day {_EPOCH + timedelta(days=day)} is outside the counted span")
        return offset

    def between(self, a: int, b: int) -> int:
        """Working days in (a, b], like Calendar.workdays_between."""
        return self.cumulative[self._at(b)] - self.cumulative[self._at(a)]

    def add(self, start: int, n: int) -> int:
        """The n-th working day after ``start``, like Calendar.add_workdays."""
        if n == 0:
            return start
        target = self.cumulative[self._at(start)] + n
        offset = bisect.bisect_left(self.cumulative, target)
        if offset >= len(self.cumulative):
            raise InputError(f"{n} working days after day {start} is outside the counted span")
        return self.first + offset


@dataclass
class Figures:
    applications: int = 0
    accepted: int = 0
    refused: int = 0
    concluded: int = 0
    withdrawn: int = 0
    on_time: int = 0
    instant: int = 0
    one_visit: int = 0
    supplement_rounds: int = 0
    no_visit: int = 0
    evaluations: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(workflow.EVALUATION_LEVELS.values(), 0))
    poor: int = 0
    poor_closed: int = 0
    days_to_conclusion: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__
               if name != "days_to_conclusion"}
        out["evaluations"] = dict(self.evaluations)
        days = sorted(self.days_to_conclusion)
        evaluated = sum(self.evaluations.values())
        good = sum(n for level, n in ((lv, self.evaluations[name]) for lv, name in
                                      workflow.EVALUATION_LEVELS.items()) if level in _GOOD)
        out.update(
            on_time_rate=_rate(self.on_time, self.concluded),
            average_days=round(sum(days) / len(days), 2) if days else None,
            p90_days=days[math.ceil(0.9 * len(days)) - 1] if days else None,
            instant_share=_rate(self.instant, self.applications),
            one_visit_share=_rate(self.one_visit, self.concluded),
            no_visit_share=_rate(self.no_visit, self.applications),
            evaluated=evaluated,
            good_rate=_rate(good, evaluated),
            poor_closed_rate=_rate(self.poor_closed, self.poor),
        )
        return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Statistics:
    division: str
    subtree: bool
    by: str | None
    period: tuple[str | None, str | None]
    calendar: str
    total: dict
    groups: list[dict]
    catalogue: dict
    #: 异地代收代办 cases received here for another node, and handled here for another
    cross_region: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def calendar_statement(calendars: Iterable[Calendar], days: Iterable[date]) -> str:
    """Which calendars the working days came from, for every figure that counts them
    (each case counts on its owner's: node.projection.calendar_for)."""
    days = list(days)
    calendars = list(calendars)
    source = f"chinese-calendar {version('chinesecalendar')}"
    overrides = ("with calendar notices" if any(c.has_overrides for c in calendars)
                 else "no calendar notices")
    missing = sorted({y for c in calendars for y in (c.uncovered_years(days) if days else [])})
    guess = (f"; {', '.join(map(str, missing))} counted Mon–Fri (no official data)"
             if missing else "")
    return f"{source}, {overrides}{guess}"


def _parse_day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what} {text!r}: want YYYY-MM-DD") from exc


def compute(store: NodeStore, *, subtree: bool = False, by: str | None = None,
            start: str | None = None, end: str | None = None) -> Statistics:
    """The figures for this node's own cases, or its subtree's, overall and per group."""
    if by is not None and by not in GROUPINGS:
        raise InputError(f"bad grouping {by!r}: want one of {', '.join(GROUPINGS)}")
    first, last = _parse_day(start, "--from"), _parse_day(end, "--to")
    if first and last and last < first:
        raise InputError(f"--to {last} is before --from {first}")
    low = ms_of_date(first) if first else 0
    high = ms_of_date(last + timedelta(days=1)) if last else 2**62
    db, me = store.db, store.division
    calendars = Calendars(db)
    bodies = dict(db.execute("SELECT impl_code || '#' || version,"
                             " json_extract(data, '$.body_name') FROM matters"))
    span = db.execute("SELECT min(created_ms), max(updated_ms) FROM cases").fetchone()
    span_days = (0, 0)
    if span[0] is not None:
        # Times from a broken clock (year 9999) count at the sane range's ends.
        first, last = (min(max(ms, EARLIEST_MS), LATEST_MS) for ms in span)
        span_days = (day_number(first), day_number(last) + 3 * 366)
    indexes: dict[int, WorkdayIndex] = {}  # one per distinct calendar (owners share them)
    used: dict[int, Calendar] = {id(calendars(me)): calendars(me)}

    by_owner: dict[str, WorkdayIndex] = {}  # the per-case look-up: one dict probe

    def index_for(owner: str) -> WorkdayIndex:
        found = by_owner.get(owner)
        if found is None:
            calendar = calendars(owner)
            if id(calendar) not in indexes:
                indexes[id(calendar)] = WorkdayIndex(calendar, *span_days)
                used[id(calendar)] = calendar
            found = by_owner[owner] = indexes[id(calendar)]
        return found

    scope: dict[str, bool] = {}

    def counted_here(origin: str) -> bool:
        if origin not in scope:
            scope[origin] = in_scope(me, origin, subtree)
        return scope[origin]

    total = Figures()
    groups: dict[str, Figures] = {}
    counted: dict[str, list[Figures]] = {}
    # Two scans joined here: SQLite would build a temporary index for the join.
    milestones = {case_no: (concluded, supplemented) for case_no, concluded, supplemented
                  in db.execute(
                      "SELECT case_no, max(CASE WHEN action = 'conclude' THEN at_ms END),"
                      " max(action = 'request-supplement') FROM case_events"
                      " WHERE action IN ('conclude', 'request-supplement') GROUP BY case_no")}
    rows = db.execute(
        "SELECT case_no, origin, matter_code, matter_version, channel, state, created_ms,"
        " accepted_ms, limit_days, paused_workdays, supplement_rounds FROM cases"
        " WHERE created_ms >= ? AND created_ms < ? AND NOT theme", (low, high))
    for (case_no, origin, matter, matter_version, channel, state, created, accepted, limit,
         paused, rounds) in rows:
        if not counted_here(origin):
            continue
        targets = [total]
        if by is not None:
            key = _group_key(by, origin, matter, bodies.get(f"{matter}#{matter_version}"),
                             channel, created)
            targets.append(groups.setdefault(key, Figures()))
        counted[case_no] = targets
        for figures in targets:
            figures.applications += 1
            figures.accepted += accepted is not None
            figures.refused += state == "rejected"
            figures.withdrawn += state == "withdrawn"
            figures.instant += limit == 0
            figures.no_visit += channel in NO_VISIT_CHANNELS
            figures.supplement_rounds += rounds
        concluded, supplemented = milestones.get(case_no, (None, 0))
        if state in _CONCLUDED and concluded is not None and accepted is not None:
            index = index_for(origin)
            accepted_day, concluded_day = day_number(accepted), day_number(concluded)
            on_time = concluded_day <= index.add(accepted_day, limit + paused)
            days = max(0, index.between(accepted_day, concluded_day) - paused)
            for figures in targets:
                figures.concluded += 1
                figures.on_time += on_time
                figures.one_visit += not supplemented
                figures.days_to_conclusion.append(days)
    _count_evaluations(store, counted)
    group_rows = [{by: key, **figures.to_dict()} for key, figures in groups.items()]
    group_rows.sort(key=lambda row: row[by])
    if by == "county":
        _rank(group_rows)
    days_seen = [date_of_ms(span[0]), date_of_ms(span[1])] if span[0] is not None else []
    return Statistics(me, subtree, by, (start, end), calendar_statement(used.values(), days_seen),
                      total.to_dict(), group_rows, catalogue_figures(store, subtree=subtree),
                      cross_region_figures(store, subtree=subtree, low=low, high=high))


def cross_region_figures(store: NodeStore, *, subtree: bool, low: int, high: int) -> dict:
    """Hand-overs received here (this node's window) and handled here (another's window),
    in the period, and of those handled how many are concluded."""
    me = store.division
    received = handled = concluded = 0
    for receiver, handler, state in store.db.execute(
            "SELECT h.receiver, h.other, c.state FROM handovers h JOIN cases c"
            " ON c.case_no = h.case_no WHERE h.role = 'handler' AND h.submitted_ms >= ?"
            " AND h.submitted_ms < ?", (low, high)):
        received += in_scope(me, receiver, subtree)
        if in_scope(me, handler, subtree):
            handled += 1
            concluded += state in _CONCLUDED
    return {"received": received, "handled": handled, "handled_concluded": concluded}


def _group_key(by: str, origin: str, matter: str, body: str | None, channel: str,
               created_ms: int) -> str:
    if by == "county":
        return origin
    if by == "body":
        return body or "(unknown body)"
    if by == "matter":
        return matter
    if by == "channel":
        return channel
    return _month(day_number(created_ms))


@functools.lru_cache(maxsize=4096)
def _month(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m")


def _rank(rows: list[dict]) -> None:
    """Rank counties by on-time rate, then by volume (绩效考核's league table)."""
    ordered = sorted(rows, key=lambda r: (-(r["on_time_rate"] or 0), -r["applications"],
                                          r["county"]))
    for place, row in enumerate(ordered, 1):
        row["rank"] = place


def _count_evaluations(store: NodeStore, counted: dict[str, list[Figures]]) -> None:
    closed: dict[tuple[str, int], set[str]] = {}
    for origin, seq, step in store.db.execute(
            "SELECT DISTINCT evaluation_origin, evaluation_seq, step FROM evaluation_follow_ups"):
        closed.setdefault((origin, seq), set()).add(step)
    everything = set(FOLLOW_UP_STEPS)
    for origin, seq, case_no, level in store.db.execute(
            "SELECT origin, seq, case_no, level FROM evaluations"):
        targets = counted.get(case_no)
        if targets is None or origin != case_owner(case_no):
            continue
        name = workflow.EVALUATION_LEVELS[level]
        poor = level in workflow.POOR_LEVELS
        done = poor and closed.get((origin, seq), set()) >= everything
        for figures in targets:
            figures.evaluations[name] += 1
            figures.poor += poor
            figures.poor_closed += done


def catalogue_figures(store: NodeStore, *, subtree: bool) -> dict:
    """网上可办率 and 全程网办率 of the current (newest, not retired) catalogue items."""
    newest: dict[str, tuple[int, int, int]] = {}
    for code, item_version, origin, retired, data in store.db.execute(
            "SELECT impl_code, version, origin, retired, data FROM matters"):
        if not in_scope(store.division, origin, subtree):
            continue
        if code not in newest or item_version > newest[code][0]:
            newest[code] = (item_version, retired, int(json.loads(data).get("online_depth", 0)))
    current = [depth for _v, retired, depth in newest.values() if not retired]
    online = sum(depth >= 3 for depth in current)
    full = sum(depth == 4 for depth in current)
    return {"items": len(current), "online_capable": online, "fully_online": full,
            "online_rate": _rate(online, len(current)), "fully_online_rate":
            _rate(full, len(current))}
