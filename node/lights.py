"""Traffic lights for anything with a limit in working days (电子监察's 红黄绿灯).

The thresholds are the case deadlines' own (node.workflow): red when overdue,
yellow with DUE_SOON_DAYS or fewer working days left — the "3日监察预警" —
green otherwise. Case clocks (node.supervision) and 差评 follow-up clocks
(node.evaluation) share them, so one light means one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from node.workdays import Calendar
from node.workflow import DUE_SOON_DAYS

RED, YELLOW, GREEN = "red", "yellow", "green"
RANK = {GREEN: 0, YELLOW: 1, RED: 2}


@dataclass
class Clock:
    name: str
    due: str                 # ISO date of the last day
    remaining: int | None    # working days left after today; negative when overdue
    light: str
    ref: str = ""            # what the clock belongs to: a 督办 notice, a 差评, a 容缺 material


def light_of(remaining: int | None) -> str:
    if remaining is None or remaining > DUE_SOON_DAYS:
        return GREEN
    return YELLOW if remaining >= 0 else RED


def remaining_until(due: date, today: date, calendar: Calendar) -> int:
    """Working days left after today (0: due today); at least -1 once past the due date,
    counted like workflow.remaining_workdays."""
    if due >= today:
        return calendar.workdays_between(today, due)
    return min(-1, -calendar.workdays_between(due, today))


def clock(name: str, due: date, today: date, calendar: Calendar, ref: str = "") -> Clock:
    remaining = remaining_until(due, today, calendar)
    return Clock(name, due.isoformat(), remaining, light_of(remaining), ref)
