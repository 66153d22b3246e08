"""红黄绿灯: each rule of docs/plan-format.md "Traffic lights", as of 2024-03-01 (a Friday)."""

from datetime import date

import pytest

from schedule import LIGHTS, WorkCalendar, expected_progress, light

CAL = WorkCalendar()
TODAY = date(2024, 3, 1)


def light_of(**task):
    task = {"due": None, "status": "in_progress", "progress": 0, "window_start": None} | task
    return light(TODAY, calendar=CAL, **task)


@pytest.mark.parametrize(
    ("case", "task", "expected"),
    [
        ("done, even when late", {"due": date(2024, 2, 1), "status": "done", "progress": 100}, "done"),
        ("done, without a due date", {"status": "done"}, "done"),
        ("due yesterday, not done", {"due": date(2024, 2, 29)}, "red"),
        ("due long ago, not started", {"due": date(2023, 6, 30), "status": "not_started"}, "red"),
        ("due today", {"due": TODAY}, "yellow"),
        ("due in 5 workdays", {"due": date(2024, 3, 8)}, "yellow"),
        ("due in exactly 10 workdays", {"due": CAL.add_workdays(TODAY, 10)}, "yellow"),
        ("due in 11 workdays", {"due": CAL.add_workdays(TODAY, 11)}, "green"),
        (
            "33 points behind 序时进度 (43%)",
            {"due": date(2024, 6, 30), "window_start": date(2023, 12, 1), "progress": 10},
            "yellow",
        ),
        (
            "19 points behind 序时进度 (43%)",
            {"due": date(2024, 6, 30), "window_start": date(2023, 12, 1), "progress": 24},
            "green",
        ),
        ("no window: no 序时进度 to fall behind", {"due": date(2024, 6, 30), "progress": 0}, "green"),
        ("no due date, never reported", {"status": "not_started"}, "none"),
        ("ongoing, never reported", {"ongoing": True, "status": "not_started"}, "none"),
        (
            "ongoing, reported 20 workdays ago",
            {"ongoing": True, "last_report": CAL.add_workdays(TODAY, -20)},
            "green",
        ),
        (
            "ongoing, reported 21 workdays ago",
            {"ongoing": True, "last_report": CAL.add_workdays(TODAY, -21)},
            "yellow",
        ),
        (
            "ongoing, stale at a shorter rhythm",
            {"ongoing": True, "last_report": CAL.add_workdays(TODAY, -6), "report_every_workdays": 5},
            "yellow",
        ),
        ("no due date, reported", {"last_report": date(2023, 1, 3)}, "green"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_lights(case, task, expected):
    assert light_of(**task) == expected
    assert expected in LIGHTS


def test_yellow_window_and_behind_points_are_settings():
    assert light_of(due=date(2024, 3, 8), yellow_workdays=3) == "green"
    behind = {"due": date(2024, 6, 30), "window_start": date(2023, 12, 1), "progress": 10}
    assert light_of(**behind, behind_points=40) == "green"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 1, 1), 0.0),
        (date(2023, 12, 1), 0.0),  # before the window
        (date(2024, 1, 6), 50.0),
        (date(2024, 1, 11), 100.0),
        (date(2024, 2, 1), 100.0),  # after the due date
    ],
)
def test_expected_progress_is_the_share_of_calendar_days_elapsed(today, expected):
    assert expected_progress(today, date(2024, 1, 1), date(2024, 1, 11)) == expected


def test_expected_progress_of_an_empty_window():
    assert expected_progress(date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1)) == 100.0
    assert expected_progress(date(2023, 12, 31), date(2024, 1, 1), date(2024, 1, 1)) == 0.0
