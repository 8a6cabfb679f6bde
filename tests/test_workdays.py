"""Working days on the official calendar, around the 2026 holidays and beyond the data.

2026 (国务院办公厅 notice): 春节 Feb 15-23 off, Sat Feb 14 and Sat Feb 28 worked;
中秋 Sep 25-27 off; 国庆 Oct 1-7 off, Sun Sep 20 and Sat Oct 10 worked.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from node_fixtures import calendar_of, make_node

from node import calendar
from node.home import Home
from node.store import NodeStore
from node.workdays import CHINA_TZ, Calendar, date_of_ms, ms_of_date
from pki.errors import InputError
from protos.tongban.v1 import record_pb2

CAL = Calendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday, adjusted working day
        (date(2026, 2, 16), False),  # Monday in 春节
        (date(2026, 2, 28), True),  # Saturday, adjusted working day
        (date(2026, 9, 20), True),  # Sunday, adjusted working day
        (date(2026, 9, 25), False),  # Friday, 中秋
        (date(2026, 10, 5), False),  # Monday, 国庆
        (date(2026, 10, 10), True),  # Saturday, adjusted working day
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 10, 12), True),  # ordinary Monday
    ],
)
def test_official_2026_days(day, working):
    assert CAL.is_workday(day) is working


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (date(2026, 9, 30), 0, date(2026, 9, 30)),  # 即办: due the same day
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # over 国庆
        (date(2026, 9, 30), 2, date(2026, 10, 9)),
        (date(2026, 9, 30), 3, date(2026, 10, 10)),  # the adjusted Saturday counts
        (date(2026, 9, 30), 4, date(2026, 10, 12)),  # the ordinary Sunday does not
        (date(2026, 9, 18), 1, date(2026, 9, 20)),  # accepted Friday: next working day is Sunday
        (date(2026, 9, 24), 1, date(2026, 9, 28)),  # over 中秋
        (date(2026, 9, 24), 5, date(2026, 10, 9)),  # over 中秋 and 国庆
        (date(2026, 10, 3), 1, date(2026, 10, 8)),  # accepted on a holiday (online)
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # before 春节: the adjusted Saturday
        (date(2026, 2, 13), 2, date(2026, 2, 24)),  # then the whole festival is skipped
        (date(2026, 2, 24), 5, date(2026, 3, 2)),  # Feb 25, 26, 27, Sat 28, Mar 2
        (date(2026, 2, 10), 20, date(2026, 3, 16)),  # a 20-day limit across 春节
    ],
)
def test_add_workdays_counts_from_the_day_after(start, n, due):
    assert CAL.add_workdays(start, n) == due
    assert CAL.workdays_between(start, due) == n


def test_workdays_between_is_signed_and_excludes_the_start():
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CAL.workdays_between(date(2026, 10, 8), date(2026, 9, 30)) == -1
    assert CAL.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert CAL.workdays_between(date(2026, 10, 8), date(2026, 10, 8)) == 0


def test_negative_count_is_refused():
    with pytest.raises(InputError, match="got -1, want an integer >= 0"):
        CAL.add_workdays(date(2026, 1, 5), -1)


@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 12, 31)), st.integers(0, 60))
def test_between_inverts_add(start, n):
    due = CAL.add_workdays(start, n)
    assert CAL.workdays_between(start, due) == n
    assert n == 0 or CAL.is_workday(due)


def test_override_wins_over_package_data():
    # A regional holiday (e.g. 雪顿节 in Tibet) on an ordinary Wednesday, and a
    # national holiday declared worked.
    cal = Calendar([(date(2026, 8, 12), False), (date(2026, 10, 5), True)])
    assert CAL.is_workday(date(2026, 8, 12)) and not cal.is_workday(date(2026, 8, 12))
    assert cal.is_workday(date(2026, 10, 5))
    assert cal.add_workdays(date(2026, 8, 11), 1) == date(2026, 8, 13)


def test_uncovered_year_falls_back_to_monday_to_friday_and_says_so():
    assert CAL.is_covered(2026) and not CAL.is_covered(2027)
    assert CAL.is_workday(date(2027, 1, 1))  # a Friday: New Year unknown without a notice
    assert not CAL.is_workday(date(2027, 1, 2))
    assert CAL.uncovered_years([date(2026, 12, 1)]) == []
    assert CAL.uncovered_years([date(2026, 12, 1), date(2028, 1, 5)]) == [2027, 2028]
    assert CAL.uncovered_years([]) == []
    assert CAL.fallback_warning([date(2026, 12, 20), date(2027, 1, 8)]) == (
        "no official calendar for 2027; counting Mon–Fri "
        "(import the calendar notice to make deadlines exact)"
    )
    assert CAL.fallback_warning([date(2026, 12, 20)]) is None


def test_years_before_the_package_data_are_uncovered_too():
    assert CAL.uncovered_years([date(2003, 5, 1)]) == [2003]
    assert CAL.is_workday(date(2003, 5, 1))  # Thursday, counted as a working day


def test_notice_covers_its_year():
    notice = record_pb2.CalendarNotice(
        year=2027,
        holidays=["2027-01-01", "2027-02-08"],
        working_days=["2027-02-06"],
    )
    cal = calendar_of([notice])
    assert cal.is_covered(2027) and cal.fallback_warning([date(2027, 3, 1)]) is None
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 2, 6))  # a Saturday worked
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_later_notice_wins():
    first = record_pb2.CalendarNotice(year=2027, holidays=["2027-05-03"])
    second = record_pb2.CalendarNotice(year=2027, working_days=["2027-05-03"])
    assert calendar_of([first, second]).is_workday(date(2027, 5, 3))
    assert not calendar_of([second, first]).is_workday(date(2027, 5, 3))


@pytest.mark.parametrize(
    ("dates", "why"),
    [(["2027-13-01"], "bad holiday date '2027-13-01': want YYYY-MM-DD"),
     (["2026-05-01"], "holiday date 2026-05-01 is not in 2027")],
)
def test_malformed_notice(tmp_path, dates, why):
    store = NodeStore.open(Home(make_node(tmp_path, sample=False)))
    with pytest.raises(InputError, match=why):
        calendar.publish(store, 2027, dates, [])
    store.close()


def test_override_must_be_a_date():
    with pytest.raises(InputError, match="want a date"):
        Calendar([(datetime(2026, 5, 1, tzinfo=UTC), False)])


def test_china_dates_use_utc_plus_8_regardless_of_the_machine():
    assert CHINA_TZ.utcoffset(None) == timedelta(hours=8)
    evening_utc = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)
    assert date_of_ms(int(evening_utc.timestamp() * 1000)) == date(2026, 10, 1)
    assert date_of_ms(int(evening_utc.timestamp() * 1000) - 30 * 60_000 - 1) == date(2026, 9, 30)
    assert ms_of_date(date(2026, 10, 1)) == int(
        datetime(2026, 9, 30, 16, 0, tzinfo=UTC).timestamp() * 1000
    )


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2100, 1, 1)))
def test_ms_of_date_round_trips(day):
    assert date_of_ms(ms_of_date(day)) == day
    assert date_of_ms(ms_of_date(day) - 1) == day - timedelta(days=1)
