"""The reminder ladder: before due, overdue (催办), missing progress reports, bulletins (通报)."""

from datetime import date, timedelta

import pytest

from schedule import (
    WorkCalendar,
    before_due_horizon,
    before_due_offset,
    bulletin_slot,
    overdue_slot,
    report_slot,
)

CAL = WorkCalendar()
DUE = date(2024, 2, 19)  # the Monday after the 2024 Spring Festival
OFFSETS = (10, 3, 1)


@pytest.mark.parametrize(
    ("today", "offset"),
    [
        (date(2024, 1, 30), None),
        (date(2024, 1, 31), 10),  # 10 workdays before
        (date(2024, 2, 7), 10),
        (date(2024, 2, 8), 3),  # 3 workdays before
        (date(2024, 2, 12), 3),  # a holiday: still the 3-day threshold
        (date(2024, 2, 18), 1),  # the makeup Sunday is 1 workday before
        (DUE, None),  # due today: the before-due ladder is over
        (date(2024, 2, 20), None),
    ],
)
def test_before_due_offset(today, offset):
    assert before_due_offset(today, DUE, OFFSETS, CAL) == offset


def test_after_downtime_only_the_latest_threshold_is_reminded():
    # The check did not run from 01-30 to 02-09: both the 10- and the 3-day thresholds were crossed.
    assert before_due_offset(date(2024, 2, 9), DUE, OFFSETS, CAL) == 3
    assert before_due_offset(date(2024, 2, 9), DUE, (1, 10, 3), CAL) == 3


def test_no_offsets_no_reminder():
    assert before_due_offset(date(2024, 2, 18), DUE, (), CAL) is None


@pytest.mark.parametrize(
    "today",
    [
        date(2024, 2, 8), date(2024, 2, 9), date(2024, 2, 10), date(2024, 9, 13), date(2024, 9, 30),
        date(2025, 1, 2)],
)
@pytest.mark.parametrize("max_offset", [1, 3, 10])
def test_before_due_horizon_is_the_last_due_date_with_a_crossed_threshold(today, max_offset):
    horizon = before_due_horizon(today, max_offset, CAL)
    crossed = [
        today + timedelta(days=i)
        for i in range(1, 60)
        if CAL.add_workdays(today + timedelta(days=i), -max_offset) <= today
    ]
    assert horizon == max(crossed)
    assert before_due_offset(today, horizon, (max_offset,), CAL) == max_offset


def test_before_due_horizon_without_offsets():
    assert before_due_horizon(date(2024, 2, 8), 0, CAL) == date(2024, 2, 8)


@pytest.mark.parametrize(
    ("today", "slot"),
    [
        (date(2024, 2, 8), None),  # due today
        (date(2024, 2, 7), None),
        (date(2024, 2, 9), 1),  # 1st workday after due
        (date(2024, 2, 14), 1),  # the Spring Festival does not count
        (date(2024, 2, 19), 1),  # 3rd workday
        (date(2024, 2, 20), 2),  # 4th
        (date(2024, 2, 22), 2),  # 6th
        (date(2024, 2, 23), 3),  # 7th
    ],
)
def test_overdue_slot_every_three_workdays(today, slot):
    assert overdue_slot(today, date(2024, 2, 8), 3, CAL) == slot


def test_overdue_slot_every_workday():
    assert overdue_slot(date(2024, 2, 19), date(2024, 2, 8), 1, CAL) == 3


@pytest.mark.parametrize(("workdays", "slot"), [(0, None), (19, None), (20, 1), (39, 1), (40, 2), (61, 3)])
def test_report_slot(workdays, slot):
    anchor = date(2024, 1, 2)
    assert report_slot(CAL.add_workdays(anchor, workdays), anchor, 20, CAL) == slot


@pytest.mark.parametrize(
    ("today", "key"),
    [
        (date(2024, 2, 5), "2024-W06"),  # an ordinary Monday
        (date(2024, 2, 6), "2024-W06"),  # later days of the week share the key
        (date(2024, 2, 10), None),  # Saturday
        (date(2024, 2, 18), "2024-W07"),  # the only workday of W07 is the makeup Sunday
        (date(2025, 5, 5), None),  # Labour Day Monday
        (date(2025, 5, 6), "2025-W19"),  # so the Tuesday sends
        (date(2024, 9, 16), None),  # Mid-Autumn Monday
        (date(2024, 9, 17), None),  # and Tuesday
        (date(2024, 9, 18), "2024-W38"),
        (date(2024, 12, 30), "2025-W01"),  # the ISO week year
    ],
)
def test_weekly_bulletin(today, key):
    assert bulletin_slot(today, "weekly", CAL) == key


@pytest.mark.parametrize(
    ("today", "key"),
    [
        (date(2024, 10, 1), None),  # National Day
        (date(2024, 10, 8), "2024-10"),  # first workday of October
        (date(2024, 10, 31), "2024-10"),
        (date(2024, 9, 29), "2024-09"),  # a makeup Sunday
    ],
)
def test_monthly_bulletin(today, key):
    assert bulletin_slot(today, "monthly", CAL) == key


def test_bulletin_off_and_unknown_cadence():
    assert bulletin_slot(date(2024, 2, 5), "off", CAL) is None
    with pytest.raises(ValueError, match="daily"):
        bulletin_slot(date(2024, 2, 5), "daily", CAL)
