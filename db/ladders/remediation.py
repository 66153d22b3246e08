"""Remediation notices: each open item assigned once to its unit, then the task ladder on its due date.

`remediation_assigned:P:R-3:UNIT`, `remediation_before_due:P:R-3:UNIT:DUE:3`,
`remediation_overdue:P:R-3:UNIT:DUE:2`,
`remediation_escalation:P:R-3:UNIT:leader:DUE:3`, `remediation_escalation:P:R-3:coordinator:UNIT:DUE:3`.
`task_code` is the item code.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db.bulk import core
from db.models import Finding, Notice, RemediationItem, Task, Unit
from db.notices import PROGRAM, Candidate, notice_key, sql_key
from db.programs import ProgramContext
from schedule import rung, text

# Whether each item's 交办 (remediation_assigned, its key as _item_candidates spells it) is held: it is, every
# day but the first, and it is left out of the candidates then.
_ASSIGNED = exists().where(
    Notice.key == sql_key("remediation_assigned", PROGRAM, RemediationItem.code, Unit.code))
_OPEN_ITEMS = (
    select(RemediationItem.code, RemediationItem.title, RemediationItem.due, RemediationItem.unit_id,
           Unit.code.label("unit_code"), Finding.kind.label("finding_kind"), Task.code.label("task_code"),
           _ASSIGNED.label("assigned"))
    .join(Unit, Unit.id == RemediationItem.unit_id)
    .join(Finding, Finding.id == RemediationItem.finding_id)
    .outerjoin(Task, Task.id == RemediationItem.task_id)
    .where(RemediationItem.program_id == PROGRAM, RemediationItem.state == "open")
    .order_by(RemediationItem.id)
)


def remediation_candidates(session: Session, ctx: ProgramContext, today: date) -> list[Candidate]:
    candidates = []
    for item in core(session, _OPEN_ITEMS, {"program_id": ctx.id}).all():  # its columns, named as the item's
        candidates += _item_candidates(ctx, today, item, item.unit_code, item.finding_kind, item.task_code)
    return candidates


def _item_candidates(ctx: ProgramContext, today: date, item: RemediationItem, code: str, finding_kind: str,
                     task_code: str | None) -> list[Candidate]:
    language, due = ctx.language, item.due
    base = {"item": item.code, "task": task_code, "finding": finding_kind,
            "finding_label": text(language, f"finding.{finding_kind}"), "due": due.isoformat(),
            "title": f"{item.code} {item.title}"}

    def notice(kind: str, *parts: object, unit_id: int = item.unit_id, audience: str = "unit",
               data: dict) -> Candidate:
        subject = item.unit_id if kind == "remediation_escalation" else None
        return Candidate(notice_key(kind, ctx.id, item.code, *parts), kind, unit_id, audience,
                         task_code=item.code, due=due, subject_unit_id=subject, data=data)

    candidates = []
    if not item.assigned:
        note = text(language, "ladder.item_assigned", due=due)
        candidates.append(notice("remediation_assigned", code, data={**base, "note": note}))
    step = rung(today, due, ctx.policies.reminders, ctx.policies.work_calendar())
    if step is None:
        return candidates
    if step.stage == "before_due":
        note = text(language, "ladder.item_before_due", workdays=step.number)
        return candidates + [notice("remediation_before_due", code, due, step.number,
                                    data={**base, "workdays": step.number, "note": note})]
    slot, late = step.number, step.overdue_workdays
    data = {**base, "slot": slot, "overdue_workdays": late,
            "note": text(language, "ladder.item_overdue", late=late, slot=slot)}
    candidates.append(notice("remediation_overdue", code, due, slot, data=data))
    if not step.escalated or item.unit_id == ctx.program.coordinator_unit_id:
        return candidates  # the coordinator is never escalated to itself
    escalated = {**data, "unit": code, "note": text(language, "ladder.item_escalated", unit=code, late=late)}
    candidates.append(notice("remediation_escalation", code, "leader", due, slot, audience="leader",
                             data=escalated))
    coordinator = ctx.program.coordinator_unit_id
    if coordinator is not None:
        candidates.append(
            notice(
                "remediation_escalation", "coordinator", code, due, slot, unit_id=coordinator, data=escalated
            )
        )
    return candidates
