"""红黄绿灯预警: one task instance's light as of a date (docs/plan-format.md, "Traffic lights")."""

from __future__ import annotations

from datetime import date

from schedule.calendar import WorkCalendar

LIGHTS = ("done", "red", "yellow", "green", "none")


def expected_progress(today: date, window_start: date, due: date) -> float:
    """序时进度: the share (0–100) of the calendar days in (window_start, due] already elapsed."""
    total = (due - window_start).days
    if total <= 0:
        return 100.0 if today >= due else 0.0
    elapsed = min(max((today - window_start).days, 0), total)
    return 100.0 * elapsed / total


def light(
    today: date,
    *,
    due: date | None,
    status: str,
    progress: int,
    window_start: date | None,
    calendar: WorkCalendar,
    yellow_workdays: int = 10,
    behind_points: int = 20,
    ongoing: bool = False,
    last_report: date | None = None,
    report_every_workdays: int = 20,
) -> str:
    """The light of a task instance; `status` is not_started | in_progress | done."""
    if status == "done":
        return "done"
    if due is None:
        if last_report is None:
            return "none"
        # An ongoing task has no deadline to fall behind, only a reporting rhythm to keep.
        if ongoing and calendar.workdays_between(last_report, today) > report_every_workdays:
            return "yellow"
        return "green"
    if due < today:
        return "red"
    if calendar.workdays_between(today, due) <= yellow_workdays:
        return "yellow"
    if window_start is not None and expected_progress(today, window_start, due) - progress > behind_points:
        return "yellow"
    return "green"
