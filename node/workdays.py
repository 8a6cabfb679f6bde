"""The official working-day calendar that every deadline is counted on.

Time limits in the catalogue are working days (行政许可法 第八十二条: 期限以工作日
计算，不含法定节假日), and the State Council moves working days around every
year (调休: a Saturday becomes a working day so a holiday can be longer). The
base is ``chinese_calendar``, which knows the national notices for 2004–2026.
On top of it come overrides — dates declared working (True) or off (False) by
calendar notices in the log. They matter twice: for years after the package's
data ends, and for regional holidays the national calendar does not carry
(藏历新年 and 雪顿节 in Tibet, 肉孜节 and 古尔邦节 in Xinjiang), which the
regional node publishes as notices. An override always wins.

For a year with neither package data nor any override the calendar counts
Monday to Friday, and says so: ``uncovered_years`` / ``fallback_warning`` let
the CLI print one line ("no official calendar for 2027; counting Mon–Fri")
next to any deadline that depends on a guess, instead of silently promising a
date that a holiday may move. A year counts as covered by overrides as soon as
one override falls in it — a notice publishes a whole year at once.

Conventions (the same as the law's "自受理之日起"): the day something happens
is not counted; ``add_workdays(d, n)`` is the n-th working day after ``d``, and
the deadline falls at the end of that day. ``add_workdays(d, 0)`` is ``d``
itself (an 即办件 is due the same day). ``workdays_between(a, b)`` counts the
working days in (a, b], so ``workdays_between(d, add_workdays(d, n)) == n``.
All dates are China dates: times are converted with the fixed UTC+8 offset
(China has no daylight saving), never with the machine's local zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

import chinese_calendar

from pki.errors import InputError

CHINA_TZ = timezone(timedelta(hours=8), "UTC+08:00")

_ONE_DAY = timedelta(days=1)
#: Answers of add_workdays a calendar keeps (a few per day of the year and time limit).
_ADDED_KEPT = 100_000


def date_of_ms(ms: int) -> date:
    """The China calendar date of a unix time in milliseconds.

    A time past the calendar's ends (a broken clock's year 10000, or before
    year 1) clamps to the end it passed: a stored time must never crash a reader.
    """
    try:
        return datetime.fromtimestamp(ms / 1000, tz=CHINA_TZ).date()
    except (OverflowError, OSError, ValueError):
        return date.max if ms > 0 else date.min


def ms_of_date(d: date) -> int:
    """Unix milliseconds at 00:00 China time on ``d`` (so ``date_of_ms`` gives ``d`` back)."""
    start = datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ)
    return int((start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1000


class Calendar:
    """Working days: chinese_calendar, then overrides, then Monday–Friday as a flagged guess."""

    def __init__(self, overrides: Iterable[tuple[date, bool]] = ()) -> None:
        self._overrides: dict[date, bool] = {}
        for day, working in overrides:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise InputError(f"bad calendar override {day!r}: want a date")
            self._overrides[day] = bool(working)
        self._override_years = frozenset(d.year for d in self._overrides)
        self._package_years: dict[int, bool] = {}
        self._package_days: dict[date, bool] = {}
        #: add_workdays answers: every flush of a case with a running clock asks for its due
        #: day, a walk of one is_workday per day of its limit
        self._added: dict[tuple[date, int], date] = {}

    @property
    def has_overrides(self) -> bool:
        """True once any calendar notice has set a date."""
        return bool(self._overrides)

    def is_workday(self, d: date) -> bool:
        if d in self._overrides:
            return self._overrides[d]
        if not self._package_covers(d.year):
            return d.weekday() < 5
        if d not in self._package_days:
            self._package_days[d] = chinese_calendar.is_workday(d)
        return self._package_days[d]

    def is_covered(self, year: int) -> bool:
        """True when the year's working days come from an official source, not a guess."""
        return year in self._override_years or self._package_covers(year)

    def uncovered_years(self, dates: Iterable[date]) -> list[int]:
        """Years counted Mon–Fri anywhere from the earliest to the latest of ``dates``.

        The whole span is checked because a count from 2026 into 2028 passes
        through 2027 even when no given date lies in it.
        """
        years = [d.year for d in dates]
        if not years:
            return []
        return [y for y in range(min(years), max(years) + 1) if not self.is_covered(y)]

    def fallback_warning(self, dates: Iterable[date]) -> str | None:
        """One line for the operator when a result rests on the Mon–Fri guess, else None."""
        missing = self.uncovered_years(dates)
        if not missing:
            return None
        years = ", ".join(str(y) for y in missing)
        return (
            f"no official calendar for {years}; counting Mon–Fri "
            "(import the calendar notice to make deadlines exact)"
        )

    def add_workdays(self, start: date, n: int) -> date:
        """The day on which the n-th working day after ``start`` ends (``start`` not counted)."""
        if not isinstance(n, int) or n < 0:
            raise InputError(f"bad number of working days: got {n!r}, want an integer >= 0")
        key = (start, n)
        found = self._added.get(key)
        if found is None:
            if len(self._added) >= _ADDED_KEPT:
                self._added.clear()
            found = self._added[key] = self._walk(start, n)
        return found

    def _walk(self, start: date, n: int) -> date:
        day = start
        while n and day < date.max:  # a broken clock's far-future start stops at the end
            day += _ONE_DAY
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative, counting (b, a], when ``b`` is before ``a``."""
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        day = a
        while day < b:
            day += _ONE_DAY
            if self.is_workday(day):
                count += 1
        return count

    def _package_covers(self, year: int) -> bool:
        if year not in self._package_years:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
            except NotImplementedError:
                self._package_years[year] = False
            else:
                self._package_years[year] = True
        return self._package_years[year]
