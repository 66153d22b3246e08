"""The tasks' reminder ladder, the phase notices and the bulletin, as set-based candidate selection.

Each rule runs one query for its candidate instances and asks schedule.ladder which reminder (a threshold or
a slot) is due; the slot goes into the notice key (db.notices.notice_key), and db.notices.claim records them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from db.models import Notice, Phase, Task, TaskInstance, Unit, UnitMember
from db.notices import Candidate, notice_key
from db.phases import waiting_assignment
from db.programs import ProgramContext
from db.tasks import Recipients
from schedule import before_due_horizon, before_due_offset, bulletin_slot, report_slot, rung


def plan_candidates(
    session: Session,
    ctx: ProgramContext,
    today: date,
    task_phases: set[str] | None = None,
    *,
    assignments: bool = False,
    program_notices: bool = False,
    recipients: Recipients | None = None,
) -> list[Candidate]:
    """The notices due as of today for the tasks of `task_phases` (None: all tasks), before claiming.
    `recipients`: every task's, when the caller has them already (the steps of a check share them).

    Nothing on non-workdays: those notices wait for the next workday's check.
    """
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    if assignments:
        # The 交办 covers every task of the plan, whichever phase it belongs to.
        candidates += _assignments(session, ctx, recipients or Recipients(session, ctx.id))
    if task_phases is None or task_phases:
        recipients = recipients or Recipients(session, ctx.id, task_phases)
        candidates += _before_due(session, ctx, today, calendar, recipients, task_phases)
        candidates += _overdue_and_escalations(session, ctx, today, calendar, recipients, task_phases)
        candidates += _report_missing(session, ctx, today, calendar, recipients, task_phases)
    if program_notices:
        candidates += _phase_notices(session, ctx)
        candidates += bulletin_candidates(ctx, today, calendar)
    return candidates


def _open_instances(ctx: ProgramContext, task_phases: set[str] | None):
    query = (
        select(TaskInstance.id, TaskInstance.task_id, Task.code, TaskInstance.due, TaskInstance.status,
               TaskInstance.window_start, TaskInstance.last_report_at, Task.recurrence)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.status != "done",
               TaskInstance.retired_on.is_(None))
    )
    return query if task_phases is None else query.where(Task.phase_kind.in_(sorted(task_phases)))


def _assignments(session: Session, ctx: ProgramContext, recipients: Recipients) -> list[Candidate]:
    """交办: once the first phase has opened, every task not yet assigned is sent to its units."""
    first_open = session.scalar(
        select(Phase.id).where(Phase.program_id == ctx.id, Phase.state != "pending").limit(1)
    )
    if first_open is None:
        return []
    first_instance = (
        select(TaskInstance.task_id, TaskInstance.id.label("instance_id"), Task.code)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.seq == 0,
               TaskInstance.retired_on.is_(None),
               ~exists().where(and_(Notice.instance_id == TaskInstance.id, Notice.kind == "assignment")),
               # A phase's 交办 may wait for the tasks that issue the 方案 and the 分工表 (assign_after).
               Task.phase_kind.not_in(sorted(waiting_assignment(session, ctx.id))))
    )
    return [
        Candidate(notice_key("assignment", ctx.id, instance_id, r.code), "assignment", r.unit_id,
                  instance_id=instance_id, task_code=code, data={"role": r.role})
        for task_id, instance_id, code in session.execute(first_instance)
        for r in recipients.of(task_id)
    ]


def _instance_notice(
    ctx: ProgramContext,
    kind: str,
    instance_id: int,
    code: str,
    due,
    unit_id: int,
    key: tuple,
    data: dict,
    *,
    audience: str = "unit",
    subject: int | None = None,
) -> Candidate:
    """A notice about one task instance, keyed `kind:program:instance:…key`."""
    return Candidate(
        notice_key(kind, ctx.id, instance_id, *key), kind, unit_id, audience, instance_id, code, due,
        subject, data)


def _before_due(session, ctx, today, calendar, recipients, task_phases) -> list[Candidate]:
    offsets = ctx.policies.reminders.before_due_workdays
    horizon = before_due_horizon(today, max(offsets), calendar)
    rows = session.execute(
        _open_instances(ctx, task_phases).where(TaskInstance.due > today, TaskInstance.due <= horizon)
    )
    candidates = []
    for instance_id, task_id, code, due, *_ in rows:
        offset = before_due_offset(today, due, offsets, calendar)
        if offset is None:
            continue
        for r in recipients.of(task_id):
            key = (r.code, due, offset)
            data = {"workdays": offset, "role": r.role}
            candidates.append(
                _instance_notice(ctx, "before_due", instance_id, code, due, r.unit_id, key, data)
            )
    return candidates


def _overdue_and_escalations(session, ctx, today, calendar, recipients, task_phases) -> list[Candidate]:
    policy = ctx.policies.reminders
    coordinator = ctx.program.coordinator_unit_id
    rows = session.execute(_open_instances(ctx, task_phases).where(TaskInstance.due < today))
    candidates = []
    for instance_id, task_id, code, due, *_ in rows:
        step = rung(today, due, policy, calendar)
        if step is None:
            continue
        slot = step.number
        data = {"slot": slot, "overdue_workdays": step.overdue_workdays}
        for r in recipients.of(task_id):
            key, role = (r.code, due, slot), {**data, "role": r.role}
            candidates.append(_instance_notice(ctx, "overdue", instance_id, code, due, r.unit_id, key, role))
        if not step.escalated:
            continue
        # 督办: past the allowed number of 催办, the lead unit's leader and the coordinator are copied.
        for r in recipients.of(task_id, "lead"):
            leader = (r.code, "leader", due, slot)
            candidates.append(
                _instance_notice(
                    ctx, "escalation", instance_id, code, due, r.unit_id, leader, data, audience="leader",
                    subject=r.unit_id)
            )
            if coordinator is not None:
                copied = ("coordinator", r.code, due, slot)
                candidates.append(
                    _instance_notice(
                        ctx, "escalation", instance_id, code, due, coordinator, copied, data,
                        subject=r.unit_id)
                )
    return candidates


def _report_missing(session, ctx, today, calendar, recipients, task_phases) -> list[Candidate]:
    every = ctx.policies.reminders.report_every_workdays
    rows = session.execute(_open_instances(ctx, task_phases).where(
        or_(TaskInstance.status == "in_progress", Task.recurrence == "ongoing"),
        or_(TaskInstance.due.is_(None), TaskInstance.due >= today),
        TaskInstance.window_start <= today,
    ))
    candidates = []
    for instance_id, task_id, code, due, _status, window_start, last_report_at, _recurrence in rows:
        anchor = ctx.local_date(last_report_at) if last_report_at else window_start
        slot = report_slot(today, anchor, every, calendar)
        if slot is None:
            continue
        data = {"since": anchor.isoformat(), "workdays": slot * every}
        for r in recipients.of(task_id, "lead"):
            key = (r.code, anchor, slot)
            candidates.append(
                _instance_notice(ctx, "report_missing", instance_id, code, due, r.unit_id, key, data)
            )
    return candidates


def _phase_notices(session: Session, ctx: ProgramContext) -> list[Candidate]:
    """Opening notices go to every unit while the phase is open; closing and overrun notices to the
    coordinator."""
    coordinator = ctx.program.coordinator_unit_id
    unit_ids = session.scalars(
        select(Unit.id).where(Unit.program_id == ctx.id, ~exists().where(UnitMember.collective_id == Unit.id))
    ).all()
    candidates = []
    for phase in session.scalars(select(Phase).where(Phase.program_id == ctx.id, Phase.state != "pending")):
        data = {
            "phase": phase.kind, "name": phase.name, "start": phase.start.isoformat(),
            "end": phase.end.isoformat()}
        if phase.state == "open":
            candidates += [
                Candidate(
                    notice_key("phase_opened", ctx.id, phase.kind, unit_id), "phase_opened", unit_id,
                    data=data)
                for unit_id in unit_ids
            ]
        elif coordinator is not None:
            # An overrun phase that closes later still gets its closing notice: the keys differ by kind.
            kind = "phase_closed" if phase.state == "closed" else "phase_overrun"
            candidates.append(
                Candidate(
                    notice_key(kind, ctx.id, phase.kind, coordinator),
                    kind,
                    coordinator,
                    data={
                        **data,
                        "reasons": list(phase.gate_reasons or []),
                        "closed_on": phase.closed_on.isoformat() if phase.closed_on else None,
                    },
                )
            )
    return candidates


def bulletin_candidates(ctx: ProgramContext, today: date, calendar) -> list[Candidate]:
    slot = bulletin_slot(today, ctx.policies.reminders.bulletin, calendar)
    coordinator = ctx.program.coordinator_unit_id
    if slot is None or coordinator is None:
        return []
    return [Candidate(notice_key("bulletin", ctx.id, slot), "bulletin", coordinator, data={"period": slot})]


