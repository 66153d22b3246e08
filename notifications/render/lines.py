"""What one digest line says beyond its task: the period of a recurring instance ("2024年6月 月报",
"2024年第二季度") and how many reminders of its rung the unit has actually received."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from db import Notice, TaskUnit, Unit, core, one_of
from schedule import text

# How far back from its due date an instance's period reaches: its window is cut to this, so the first
# instance (whose window opens with its phase) is named for its own period, not the phase's start.
_SPAN = {"monthly": 31, "quarterly": 92, "yearly": 366}
# The notice states in which a unit has received a reminder (or may have: unknown is shown, not resent).
RECEIVED = ("sent", "delivered", "unknown")
COUNTED_KINDS = ("overdue", "escalation", "ack_missing")


def period_label(language: str, recurrence: str | None, window_start: date | None,
                 due: date | None) -> str | None:
    """The period a recurring instance reports on: the middle of its window, so a due date moved past the
    period's end by a holiday (2023-12-31 → 2024-01-02) or a report due early the next month (每月5日前)
    still names the month it covers."""
    if recurrence not in _SPAN or due is None:
        return None
    start = max(window_start or due, due - timedelta(days=_SPAN[recurrence]))
    middle = start + (due - start) / 2
    if recurrence == "monthly":
        return text(language, "notice.period_month", year=middle.year, month=middle.month)
    if recurrence == "quarterly":
        quarter = text(language, "notice.quarters")[(middle.month - 1) // 3]  # 一二三四 or 1234
        return text(language, "notice.period_quarter", year=middle.year, quarter=quarter)
    return text(language, "notice.period_year", year=middle.year)


_NOTICES = Notice.__table__
_EARLIER = _NOTICES.alias("earlier")
# A column of a notice's own row (correlated): the 催办/督办/催签收 of its rung that its unit (audience)
# received for its instance before this message, by the (instance, kind) index; 0 for a kind not counted.
RECEIVED_BEFORE = case((one_of(_NOTICES.c.kind, COUNTED_KINDS), select(func.count()).where(
    _EARLIER.c.instance_id == _NOTICES.c.instance_id, _EARLIER.c.kind == _NOTICES.c.kind,
    _EARLIER.c.unit_id == _NOTICES.c.unit_id, _EARLIER.c.audience == _NOTICES.c.audience,
    one_of(_EARLIER.c.state, RECEIVED)).scalar_subquery()), else_=0)

_TASK_UNITS, _UNITS = TaskUnit.__table__, Unit.__table__
_LEADS = (select(_TASK_UNITS.c.task_id, _UNITS.c.name).join(_UNITS, _UNITS.c.id == _TASK_UNITS.c.unit_id)
          .where(_TASK_UNITS.c.task_id.in_(bindparam("tasks", expanding=True)), _TASK_UNITS.c.role == "lead")
          .order_by(_TASK_UNITS.c.position))


def lead_names(session: Session, task_ids: set[int], separator: str) -> dict[int, str]:
    """task → its lead units' names as written in the plan (a collective by its own name)."""
    if not task_ids:
        return {}
    names: dict[int, list[str]] = {}
    for task_id, name in core(session, _LEADS, {"tasks": list(task_ids)}):
        names.setdefault(task_id, []).append(name)
    return {task_id: separator.join(listed) for task_id, listed in names.items()}
