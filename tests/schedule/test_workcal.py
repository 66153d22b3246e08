"""The working-day calendar: statutory data, overrides, fallback, arithmetic and speed."""

import random
from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedule import WorkCalendar, shared_calendar

CAL = WorkCalendar()
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2028, 12, 31))
STEPS = st.integers(min_value=-400, max_value=400)
PROPERTY = settings(max_examples=200, deadline=None)


def test_agrees_with_chinese_calendar_on_every_day_of_2023_to_2026():
    day = date(2023, 1, 1)
    while day <= date(2026, 12, 31):
        assert CAL.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (10, date(2024, 1, 31)),
        (3, date(2024, 2, 8)),
        (1, date(2024, 2, 18)),  # 调休: a makeup Sunday
    ],
)
def test_spring_festival_2024_before_due_ladder(offset, expected):
    assert CAL.add_workdays(date(2024, 2, 19), -offset) == expected


def test_add_workdays_crosses_a_holiday_forwards():
    assert CAL.add_workdays(date(2024, 2, 9), 1) == date(2024, 2, 18)
    assert CAL.add_workdays(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert CAL.add_workdays(date(2024, 2, 9), 0) == date(2024, 2, 9)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (date(2024, 2, 19), date(2024, 2, 19), 0),
        (date(2024, 2, 8), date(2024, 2, 19), 3),  # (a, b]: 02-09, 02-18, 02-19
        (date(2024, 2, 19), date(2024, 2, 8), -3),
        (date(2024, 2, 10), date(2024, 2, 17), 0),  # inside the Spring Festival holiday
        (date(2024, 1, 1), date(2024, 12, 31), 251),
    ],
)
def test_workdays_between_counts_the_half_open_interval(a, b, expected):
    assert CAL.workdays_between(a, b) == expected


def test_extra_days_override_the_statutory_calendar():
    cal = WorkCalendar(
        extra_holidays=[date(2024, 3, 4), date(2027, 1, 1)],
        extra_workdays=[date(2024, 3, 2), date(2024, 10, 1)],
    )
    assert not cal.is_workday(date(2024, 3, 4))  # a Monday
    assert cal.is_workday(date(2024, 3, 2))  # a Saturday
    assert cal.is_workday(date(2024, 10, 1))  # National Day
    assert not cal.is_workday(date(2027, 1, 1))  # beyond the data
    assert cal.add_workdays(date(2024, 3, 1), 1) == date(2024, 3, 2)
    assert cal.add_workdays(date(2024, 3, 2), 1) == date(2024, 3, 5)


def test_a_day_listed_as_both_extra_holiday_and_extra_workday_is_a_workday():
    cal = WorkCalendar(extra_holidays=[date(2024, 3, 9)], extra_workdays=[date(2024, 3, 9)])
    assert cal.is_workday(date(2024, 3, 9))


def test_years_beyond_the_data_fall_back_to_monday_to_friday():
    assert WorkCalendar.uncovered_years([2026, 2027]) == [2027]
    assert WorkCalendar.uncovered_years([2027, 2003, 2024, 2027]) == [2003, 2027]
    assert CAL.is_workday(date(2027, 1, 1))  # a Friday, with no statutory data to say otherwise
    assert not CAL.is_workday(date(2027, 1, 2))
    assert CAL.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert CAL.workdays_between(date(2027, 1, 1), date(2027, 1, 8)) == 5


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("keep", date(2024, 10, 1)), ("previous", date(2024, 9, 30)), ("next", date(2024, 10, 8))],
)
def test_adjust_due_moves_a_holiday_due_date_by_policy(policy, expected):
    assert CAL.adjust_due(date(2024, 10, 1), policy) == expected


def test_adjust_due_keeps_a_workday_and_rejects_unknown_policies():
    assert CAL.adjust_due(date(2024, 2, 18), "next") == date(2024, 2, 18)
    assert CAL.adjust_due(date(2024, 2, 18), "previous") == date(2024, 2, 18)
    with pytest.raises(ValueError, match="later"):
        CAL.adjust_due(date(2024, 10, 1), "later")


def test_index_grows_backwards_as_well_as_forwards():
    cal = WorkCalendar()
    assert cal.is_workday(date(2025, 6, 3))
    assert cal.add_workdays(date(2025, 1, 2), -300) == CAL.add_workdays(date(2025, 1, 2), -300)
    assert cal.workdays_between(date(2019, 5, 1), date(2026, 5, 1)) == CAL.workdays_between(
        date(2019, 5, 1), date(2026, 5, 1)
    )
    assert cal.add_workdays(date(2024, 1, 1), 2000) == CAL.add_workdays(date(2024, 1, 1), 2000)


@PROPERTY
@given(DAYS, STEPS.filter(bool))
def test_add_workdays_lands_on_a_workday(d, n):
    assert CAL.is_workday(CAL.add_workdays(d, n))


@PROPERTY
@given(DAYS, STEPS)
def test_workdays_between_inverts_add_workdays(d, n):
    # Counting back, the interval (add_workdays(d, n), d] includes d itself, so d must be a workday.
    if n < 0:
        d = CAL.next_workday_on_or_after(d)
    assert CAL.workdays_between(d, CAL.add_workdays(d, n)) == n


@PROPERTY
@given(DAYS, STEPS.filter(lambda n: n > 0))
def test_counting_back_n_workdays_spans_n_minus_one_before_d_plus_d_itself(d, n):
    assert CAL.workdays_between(CAL.add_workdays(d, -n), d) == n - 1 + CAL.is_workday(d)


@PROPERTY
@given(DAYS, STEPS, STEPS)
def test_add_workdays_is_monotonic(d, n, m):
    if n < m:
        assert CAL.add_workdays(d, n) < CAL.add_workdays(d, m)


@PROPERTY
@given(DAYS, STEPS)
def test_round_trip_from_a_workday(d, n):
    d = CAL.next_workday_on_or_after(d)
    assert CAL.add_workdays(CAL.add_workdays(d, n), -n) == d


@PROPERTY
@given(DAYS, DAYS)
def test_workdays_between_is_antisymmetric_and_counts_days(a, b):
    assert CAL.workdays_between(a, b) == -CAL.workdays_between(b, a)
    lo, hi = min(a, b), max(a, b)
    if (hi - lo).days <= 60:
        counted = sum(CAL.is_workday(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
        assert abs(CAL.workdays_between(a, b)) == counted


# The indexed arithmetic against the plainest possible count: one day at a time, asking chinese_calendar,
# and Monday to Friday where it has no data (it raises outside its years).
OVERRIDES = {
    "holidays": frozenset({date(2024, 3, 4), date(2024, 12, 31), date(2027, 1, 1), date(2003, 6, 2)}),
    "workdays": frozenset({date(2024, 3, 2), date(2024, 10, 1), date(2026, 12, 26), date(2030, 1, 5)}),
}
ANCHORS = [
    date(2004, 1, 1), date(2003, 12, 31), date(2024, 2, 4), date(2024, 2, 10), date(2024, 2, 18),
    date(2024, 9, 29), date(2024, 10, 1), date(2024, 10, 12), date(2024, 12, 31), date(2025, 1, 26),
    date(2025, 10, 11), date(2026, 12, 31), date(2027, 1, 1), date(2030, 6, 15), date(1999, 10, 1),
]


def _workday_by_day(d: date, overrides: dict) -> bool:
    if d in overrides.get("workdays", ()):
        return True
    if d in overrides.get("holidays", ()):
        return False
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return d.weekday() < 5


def _between_by_day(a: date, b: date, overrides: dict) -> int:
    lo, hi = min(a, b), max(a, b)
    counted = sum(_workday_by_day(lo + timedelta(days=i), overrides) for i in range(1, (hi - lo).days + 1))
    return counted if a <= b else -counted


def _add_by_day(d: date, n: int, overrides: dict) -> date:
    step = 1 if n > 0 else -1
    while n:
        d += timedelta(days=step)
        n -= step * _workday_by_day(d, overrides)
    return d


def _pairs(count: int, seed: int) -> list[tuple[date, date]]:
    rnd = random.Random(seed)
    pairs = []
    for _ in range(count):
        a = rnd.choice(ANCHORS) + timedelta(days=rnd.randrange(-40, 41))
        pairs.append((a, a + timedelta(days=rnd.choice([rnd.randrange(-15, 16), rnd.randrange(-900, 901)]))))
    return pairs


@pytest.mark.parametrize("overrides", [{}, OVERRIDES], ids=["statutory", "with-overrides"])
@pytest.mark.parametrize(("a", "b"), _pairs(80, seed=14), ids=str)
def test_workdays_between_agrees_with_counting_day_by_day(overrides, a, b):
    expected = _between_by_day(a, b, overrides)
    fresh = WorkCalendar(overrides.get("holidays", ()), overrides.get("workdays", ()))
    assert fresh.workdays_between(a, b) == expected  # an index built for this very pair
    assert shared_calendar(overrides.get("holidays", ()), overrides.get("workdays", ())).workdays_between(
        a, b) == expected  # one index grown by every case before this one


@pytest.mark.parametrize("overrides", [{}, OVERRIDES], ids=["statutory", "with-overrides"])
@pytest.mark.parametrize(("d", "n"), [(a, (b - a).days // 3) for a, b in _pairs(40, seed=41)], ids=str)
def test_add_workdays_agrees_with_stepping_day_by_day(overrides, d, n):
    calendar = WorkCalendar(overrides.get("holidays", ()), overrides.get("workdays", ()))
    assert calendar.add_workdays(d, n) == _add_by_day(d, n, overrides)


def test_a_program_calendar_is_built_once_per_set_of_overrides():
    first = shared_calendar([date(2024, 3, 4), date(2024, 3, 5)], [date(2024, 3, 2)])
    assert shared_calendar((date(2024, 3, 5), date(2024, 3, 4)), (date(2024, 3, 2),)) is first
    assert shared_calendar([date(2024, 3, 4)], [date(2024, 3, 2)]) is not first
    assert shared_calendar() is shared_calendar((), ())
