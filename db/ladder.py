"""The reminder ladder as set-based candidate selection, and the exactly-once claim of notices.

Each rule runs one query for its candidate instances and asks schedule.reminders which reminder (a
threshold or a slot) is due; the slot goes into the notice key. Claiming is one INSERT .. ON CONFLICT
DO NOTHING RETURNING: a re-run, an overlapping run or a catch-up run claims nothing twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Notice, Phase, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.queries import ProgramContext
from schedule.reminders import before_due_horizon, before_due_offset, bulletin_slot, overdue_slot, report_slot


@dataclass(frozen=True)
class Candidate:
    key: str
    kind: str
    unit_id: int
    audience: str = "unit"
    instance_id: int | None = None
    task_code: str | None = None
    due: date | None = None
    subject_unit_id: int | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    unit_id: int
    code: str
    role: str  # lead | co


class Recipients:
    """Who answers for each task: its lead and co-units, a collective standing for its members."""

    def __init__(self, session: Session, program_id: str, task_phases: set[str] | None = None) -> None:
        collective = Unit.__table__.alias("collective")
        member = Unit.__table__.alias("member")
        query = (
            select(TaskUnit.task_id, TaskUnit.role, TaskUnit.position,
                   collective.c.id, collective.c.code, member.c.id, member.c.code)
            .join(collective, collective.c.id == TaskUnit.unit_id)
            .outerjoin(UnitMember, UnitMember.collective_id == collective.c.id)
            .outerjoin(member, member.c.id == UnitMember.member_id)
            .where(collective.c.program_id == program_id)
            .order_by(TaskUnit.task_id, TaskUnit.role.desc(), TaskUnit.position)
        )
        if task_phases is not None:
            query = query.join(Task, Task.id == TaskUnit.task_id).where(Task.phase_kind.in_(sorted(task_phases)))
        rows = session.execute(query).all()
        self.by_task: dict[int, list[Recipient]] = defaultdict(list)
        for task_id, role, _position, unit_id, code, member_id, member_code in rows:
            recipient = Recipient(member_id, member_code, role) if member_id else Recipient(unit_id, code, role)
            if all(r.unit_id != recipient.unit_id for r in self.by_task[task_id]):
                self.by_task[task_id].append(recipient)

    def of(self, task_id: int, role: str | None = None) -> list[Recipient]:
        return [r for r in self.by_task.get(task_id, []) if role is None or r.role == role]


def plan_candidates(session: Session, ctx: ProgramContext, today: date, task_phases: set[str] | None = None, *,
                    assignments: bool = False, program_notices: bool = False) -> list[Candidate]:
    """The notices due as of today for the tasks of `task_phases` (None: all tasks), before claiming.

    Nothing on non-workdays: those notices wait for the next workday's check.
    """
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    if assignments:
        # The 交办 covers every task of the plan, whichever phase it belongs to.
        candidates += _assignments(session, ctx, Recipients(session, ctx.id))
    if task_phases is None or task_phases:
        recipients = Recipients(session, ctx.id, task_phases)
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
        .where(TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.status != "done", TaskInstance.retired_on.is_(None))
    )
    return query if task_phases is None else query.where(Task.phase_kind.in_(sorted(task_phases)))


def _assignments(session: Session, ctx: ProgramContext, recipients: Recipients) -> list[Candidate]:
    """交办: once the first phase has opened, every task not yet assigned is sent to its units."""
    first_open = session.scalar(select(Phase.id).where(Phase.program_id == ctx.id, Phase.state != "pending").limit(1))
    if first_open is None:
        return []
    first_instance = (
        select(TaskInstance.task_id, TaskInstance.id.label("instance_id"), Task.code)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.seq == 0, TaskInstance.retired_on.is_(None),
               ~exists().where(and_(Notice.instance_id == TaskInstance.id, Notice.kind == "assignment")))
    )
    return [
        Candidate(f"assignment:{ctx.id}:{instance_id}:{r.code}", "assignment", r.unit_id,
                  instance_id=instance_id, task_code=code, data={"role": r.role})
        for task_id, instance_id, code in session.execute(first_instance)
        for r in recipients.of(task_id)
    ]


def _before_due(session, ctx, today, calendar, recipients, task_phases) -> list[Candidate]:
    offsets = ctx.policies.reminders.before_due_workdays
    horizon = before_due_horizon(today, max(offsets), calendar)
    rows = session.execute(_open_instances(ctx, task_phases).where(TaskInstance.due > today, TaskInstance.due <= horizon))
    candidates = []
    for instance_id, task_id, code, due, *_ in rows:
        offset = before_due_offset(today, due, offsets, calendar)
        if offset is None:
            continue
        for r in recipients.of(task_id):
            candidates.append(Candidate(f"before_due:{ctx.id}:{instance_id}:{r.code}:{due}:{offset}", "before_due",
                                        r.unit_id, instance_id=instance_id, task_code=code, due=due,
                                        data={"workdays": offset, "role": r.role}))
    return candidates


def _overdue_and_escalations(session, ctx, today, calendar, recipients, task_phases) -> list[Candidate]:
    policy = ctx.policies.reminders
    coordinator = ctx.program.coordinator_unit_id
    rows = session.execute(_open_instances(ctx, task_phases).where(TaskInstance.due < today))
    candidates = []
    for instance_id, task_id, code, due, *_ in rows:
        slot = overdue_slot(today, due, policy.overdue_every_workdays, calendar)
        if slot is None:
            continue
        overdue_days = calendar.workdays_between(due, today)
        data = {"slot": slot, "overdue_workdays": overdue_days}
        for r in recipients.of(task_id):
            candidates.append(Candidate(f"overdue:{ctx.id}:{instance_id}:{r.code}:{due}:{slot}", "overdue", r.unit_id,
                                        instance_id=instance_id, task_code=code, due=due, data={**data, "role": r.role}))
        if slot <= policy.escalate_after:
            continue
        # 督办: past the allowed number of 催办, the lead unit's leader and the coordinator are copied.
        for r in recipients.of(task_id, "lead"):
            candidates.append(Candidate(f"escalation:{ctx.id}:{instance_id}:{r.code}:leader:{due}:{slot}", "escalation",
                                        r.unit_id, "leader", instance_id, code, due, r.unit_id, data))
            if coordinator is not None:
                candidates.append(Candidate(f"escalation:{ctx.id}:{instance_id}:coordinator:{r.code}:{due}:{slot}",
                                            "escalation", coordinator, "unit", instance_id, code, due, r.unit_id, data))
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
        for r in recipients.of(task_id, "lead"):
            candidates.append(Candidate(f"report_missing:{ctx.id}:{instance_id}:{r.code}:{anchor}:{slot}", "report_missing",
                                        r.unit_id, instance_id=instance_id, task_code=code, due=due,
                                        data={"since": anchor.isoformat(), "workdays": slot * every}))
    return candidates


def _phase_notices(session: Session, ctx: ProgramContext) -> list[Candidate]:
    """Opening notices go to every unit while the phase is open; closing and overrun notices to the coordinator."""
    coordinator = ctx.program.coordinator_unit_id
    unit_ids = session.scalars(select(Unit.id).where(Unit.program_id == ctx.id,
                                                     ~exists().where(UnitMember.collective_id == Unit.id))).all()
    candidates = []
    for phase in session.scalars(select(Phase).where(Phase.program_id == ctx.id, Phase.state != "pending")):
        data = {"phase": phase.kind, "name": phase.name, "start": phase.start.isoformat(), "end": phase.end.isoformat()}
        if phase.state == "open":
            candidates += [Candidate(f"phase_opened:{ctx.id}:{phase.kind}:{unit_id}", "phase_opened", unit_id, data=data)
                           for unit_id in unit_ids]
        elif coordinator is not None:
            # An overrun phase that closes later still gets its closing notice: the keys differ by kind.
            kind = "phase_closed" if phase.state == "closed" else "phase_overrun"
            candidates.append(Candidate(f"{kind}:{ctx.id}:{phase.kind}:{coordinator}", kind, coordinator,
                                        data={**data, "reasons": list(phase.gate_reasons or []),
                                              "closed_on": phase.closed_on.isoformat() if phase.closed_on else None}))
    return candidates


def bulletin_candidates(ctx: ProgramContext, today: date, calendar) -> list[Candidate]:
    slot = bulletin_slot(today, ctx.policies.reminders.bulletin, calendar)
    coordinator = ctx.program.coordinator_unit_id
    if slot is None or coordinator is None:
        return []
    return [Candidate(f"bulletin:{ctx.id}:{slot}", "bulletin", coordinator, data={"period": slot})]


def claim(session: Session, ctx: ProgramContext, candidates: list[Candidate], at: datetime) -> list[tuple[int, str]]:
    """Records the candidates under their unique keys; returns (id, kind) of the rows this call inserted.

    INSERT .. ON CONFLICT (key) DO NOTHING skips what another run (or an earlier one) already holds; each row
    carries this call's claim token, so reading back by token returns this call's rows alone.
    """
    if not candidates:
        return []
    token = uuid.uuid4().hex
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"program_id": ctx.id, "key": c.key, "claim": token, "kind": c.kind, "unit_id": c.unit_id,
         "audience": c.audience, "instance_id": c.instance_id, "task_code": c.task_code, "due": c.due,
         "subject_unit_id": c.subject_unit_id, "data": c.data, "at": at, "state": "queued"}
        for c in {c.key: c for c in candidates}.values()
    ]
    session.execute(insert(Notice.__table__).on_conflict_do_nothing(index_elements=["key"]), rows)
    return [tuple(row) for row in session.execute(select(Notice.id, Notice.kind).where(Notice.claim == token))]
