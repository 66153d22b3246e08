"""The reminder ladder of the daily check, as pure rules on one task instance or one day.

Callers select candidate rows with SQL and ask these functions which reminder, if any, is due. Each
answer is a threshold or a slot number that goes into the notice key, so a check that runs twice, or
runs late after downtime, claims the same key and sends nothing twice; a check that missed days sends
only the latest reminder, not the backlog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from schedule.calendar import WorkCalendar
from schedule.i18n import Told
from schedule.model import ReminderPolicy

BULLETIN_CADENCES = ("weekly", "monthly", "off")


def before_due_offset(today: date, due: date, offsets: Sequence[int], cal: WorkCalendar) -> int | None:
    """The before-due reminder (N workdays before due) due today or most recently crossed, if any.

    Of the thresholds already reached, the nearest to the due date wins: after downtime, a task whose
    10- and 3-day reminders were both missed gets the 3-day one only.
    """
    if not today < due:
        return None
    crossed = [n for n in offsets if cal.add_workdays(due, -n) <= today]
    return min(crossed) if crossed else None


def before_due_horizon(today: date, max_offset: int, cal: WorkCalendar) -> date:
    """The latest due date with a threshold crossed by today: callers select due in (today, horizon].

    The max_offset-th workday before `due` is on or before today exactly when fewer than max_offset
    workdays lie strictly between today and due, that is when due <= add_workdays(today, max_offset).
    """
    if max_offset <= 0:
        return today
    return cal.add_workdays(today, max_offset)


def overdue_slot(today: date, due: date, every: int, cal: WorkCalendar) -> int | None:
    """催办: the 1-based slot of the overdue reminder, repeated every `every` workdays after due.

    Slot k starts on the ((k-1)*every + 1)-th workday after due; None until one workday has passed.
    """
    passed = cal.workdays_between(due, today)
    if passed < 1:
        return None
    return (passed - 1) // every + 1


def report_slot(today: date, anchor: date, every: int, cal: WorkCalendar) -> int | None:
    """进展报送 reminder: slot k once k*every workdays have passed since `anchor` with no report.

    `anchor` is the last report's date, or the window start when there has been none.
    """
    slot = cal.workdays_between(anchor, today) // every
    return slot if slot > 0 else None


def bulletin_slot(today: date, cadence: str, cal: WorkCalendar) -> str | None:
    """通报: the period key ("2024-W07", "2024-02") whose bulletin is due as of today, on workdays.

    The bulletin goes out on the first workday of the ISO week or month. Every workday of a period
    falls on or after that first workday, so any workday yields the period's key, and the notice key
    keeps it to one bulletin: a check missed on a holiday Monday sends on Tuesday instead.
    """
    if cadence not in BULLETIN_CADENCES:
        raise Told("policy.bulletin_cadence", cadence=cadence)
    if cadence == "off" or not cal.is_workday(today):
        return None
    if cadence == "weekly":
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{today.year}-{today.month:02d}"


@dataclass(frozen=True)
class Rung:
    """Where an open item stands on the ladder today: a before-due reminder or an overdue slot."""

    stage: str                 # before_due | overdue
    number: int                # workdays before the due date, or the overdue slot (1-based)
    overdue_workdays: int = 0
    escalated: bool = False    # past `escalate_after` overdue reminders: the leader and the coordinator too


def rung(today: date, due: date, policy: ReminderPolicy, cal: WorkCalendar) -> Rung | None:
    """The one rung rule for tasks, self-check forms and remediation items (None: nothing due today)."""
    if today < due:
        offset = before_due_offset(today, due, policy.before_due_workdays, cal)
        return None if offset is None else Rung("before_due", offset)
    slot = overdue_slot(today, due, policy.overdue_every_workdays, cal)
    if slot is None:
        return None
    return Rung("overdue", slot, cal.workdays_between(due, today), slot > policy.escalate_after)


def ack_slot(today: date, assigned_on: date, within: int, every: int, cal: WorkCalendar) -> int | None:
    """签收 chasing: a 交办 sent on `assigned_on` and not acknowledged within `within` workdays is chased on
    the
    next workday, then every `every` workdays (the 催办 rhythm), slot by slot."""
    return overdue_slot(today, cal.add_workdays(assigned_on, within), every, cal)
