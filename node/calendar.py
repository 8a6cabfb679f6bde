"""Official working-day calendar notices: publishing them and reading what is in force.

chinese-calendar knows the national holidays only for years already announced,
and no regional holidays (藏历新年, 雪顿节, 肉孜节, 古尔邦节). A national or
regional operator publishes them as a calendar notice: a record in its own log
that flows down to every node below, where deadlines start counting with it.
A notice applies only to cases owned in its publisher's own subtree: the
projection keeps the latest notice per publisher and day in calendar_overrides,
and ``node.projection.calendar_for(db, division)`` answers the calendar of one
division (its own and its ancestors' notices, the nearest winning).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from node.projection import calendar_for, overrides_for
from node.store import Draft, NodeStore
from pki.division import require_known
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

#: ``calendar_for(db, division)`` lives with the projection it reads; it is named here too,
#: since this is where callers look for the calendar.
__all__ = ["Published", "calendar_for", "in_force", "publish"]


@dataclass(frozen=True)
class Published:
    year: int
    holidays: list[str]
    working_days: list[str]


def _dates(values: list[str], what: str, year: int) -> list[str]:
    out = []
    for value in values:
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise InputError(f"bad {what} date {value!r}: want YYYY-MM-DD") from exc
        if day.year != year:
            raise InputError(f"{what} date {value} is not in {year}")
        out.append(day.isoformat())
    return sorted(set(out))


def publish(store: NodeStore, year: int, holidays: list[str], working_days: list[str]
            ) -> Published:
    """Write one calendar notice for ``year``; refuses empty notices and contradictions."""
    if not 1900 <= year <= 9999:
        raise InputError(f"bad year {year}: want 1900-9999")
    off = _dates(holidays, "holiday", year)
    on = _dates(working_days, "working", year)
    if not off and not on:
        raise InputError("nothing to publish: give --holiday and/or --workday dates")
    both = sorted(set(off) & set(on))
    if both:
        raise InputError(f"{', '.join(both)} given both as holiday and as working day")
    body = record_pb2.CalendarNotice(year=year, holidays=off, working_days=on
                                     ).SerializeToString()
    store.write([Draft(record_pb2.CALENDAR_NOTICE, lambda _s, _h: body)])
    return Published(year, off, on)


def in_force(store: NodeStore, division: str | None = None) -> list[dict]:
    """Every day the notices applying to ``division`` (default: this node's) set, in date
    order: day, workday (bool) and the publishing node. A notice applies only in its
    publisher's own subtree; the nearest publisher wins (node.projection.calendar_for)."""
    code = require_known(division or store.division)
    return [{"day": day, "workday": workday, "from": origin}
            for day, (workday, origin) in sorted(overrides_for(store.db, code).items())]
