"""Tasks and their instances: task rows with their lights, status summaries, progress reports.

Set-based: a bounded number of queries whatever the number of tasks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.collectives import follow_shares
from db.events import record_event
from db.models import ProgressReport, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.programs import InvalidInput, NotFound, ProgramContext, phases
from schedule import LIGHTS, clean_optional, light, text

REPORT_STATUSES = ("not_started", "in_progress", "done")


def current_instances(program_id: str):
    """One row per active task: its current instance (earliest not done, else the last one)."""
    done_first = case((TaskInstance.status == "done", 1), else_=0)
    order = case((TaskInstance.status == "done", -TaskInstance.seq), else_=TaskInstance.seq)
    ranked = (
        select(TaskInstance, func.row_number().over(partition_by=TaskInstance.task_id,
                                                    order_by=(done_first, order)).label("rank"))
        .where(TaskInstance.program_id == program_id, TaskInstance.retired_on.is_(None))
        .subquery()
    )
    return ranked


def current_instance(session: Session, task_id: int) -> TaskInstance:
    """One task's current instance (earliest not done, else the last), without ranking the whole program."""
    open_first = session.scalar(select(TaskInstance).where(TaskInstance.task_id == task_id,
                                                           TaskInstance.status != "done")
                                .order_by(TaskInstance.seq).limit(1))
    return open_first or session.scalar(select(TaskInstance).where(TaskInstance.task_id == task_id)
                                        .order_by(TaskInstance.seq.desc()).limit(1))


def task_exists(session: Session, program_id: str, code: str) -> bool:
    return session.scalar(select(Task.id).where(Task.program_id == program_id, Task.code == code)) is not None


def assignments(
    session: Session, program_id: str, task_id: int | None = None
) -> dict[int, dict[str, list[str]]]:
    """task id → {"lead": [unit codes], "co": [unit codes]}, in the table's order (one task's, if given)."""
    query = (
        select(TaskUnit.task_id, TaskUnit.role, Unit.code)
        .join(Unit, Unit.id == TaskUnit.unit_id)
        .where(Unit.program_id == program_id)
        .order_by(TaskUnit.task_id, TaskUnit.role.desc(), TaskUnit.position)
    )
    rows = session.execute(query if task_id is None else query.where(TaskUnit.task_id == task_id)).all()
    result: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"lead": [], "co": []})
    for task_id, role, code in rows:
        result[task_id][role].append(code)
    return result


def collectives_of(session: Session, program_id: str) -> dict[str, set[str]]:
    """unit code → codes of the collectives it belongs to."""
    member = Unit.__table__.alias("member")
    collective = Unit.__table__.alias("collective")
    rows = session.execute(
        select(member.c.code, collective.c.code)
        .join(UnitMember, UnitMember.member_id == member.c.id)
        .join(collective, collective.c.id == UnitMember.collective_id)
        .where(member.c.program_id == program_id)
    ).all()
    result: dict[str, set[str]] = defaultdict(set)
    for member_code, collective_code in rows:
        result[member_code].add(collective_code)
    return result


def task_rows(session: Session, ctx: ProgramContext, today: date, unit_code: str | None = None,
              include_inactive: bool = False, code: str | None = None) -> list[dict]:
    ranked = current_instances(ctx.id)
    query = (
        select(Task, ranked.c.id, ranked.c.due, ranked.c.window_start, ranked.c.status, ranked.c.progress,
               ranked.c.last_report_at, ranked.c.done_on, ranked.c.original_due)
        .join(ranked, ranked.c.task_id == Task.id)
        .where(ranked.c.rank == 1, Task.program_id == ctx.id)
        .order_by(Task.source_row, Task.code)
    )
    if not include_inactive:
        query = query.where(Task.active.is_(True))
    if code is not None:
        query = query.where(Task.code == code)
    by_task = assignments(session, ctx.id, None if code is None else
                          session.scalar(select(Task.id).where(Task.program_id == ctx.id, Task.code == code)))
    wanted = None
    if unit_code is not None:
        wanted = {unit_code} | collectives_of(session, ctx.id).get(unit_code, set())
    calendar = ctx.policies.work_calendar()
    reminders = ctx.policies.reminders
    rows = []
    for (
        task,
        instance_id,
        due,
        window_start,
        status,
        progress,
        last_report_at,
        done_on,
        original_due,
    ) in session.execute(query):
        units = by_task[task.id]
        if wanted is not None and not wanted & set(units["lead"] + units["co"]):
            continue
        last_report = ctx.local_date(last_report_at) if last_report_at else None
        rows.append({
            "code": task.code, "title": task.title, "area": task.area,
            "lead": units["lead"], "co": units["co"],
            "due": due.isoformat() if due else None,
            "original_due": original_due.isoformat() if original_due and original_due != due else None,
            "recurrence": task.recurrence, "phase": task.phase_kind,
            "status": status, "progress": progress,
            "light": light(today, due=due, status=status, progress=progress, window_start=window_start,
                           calendar=calendar, yellow_workdays=reminders.yellow_workdays,
                           ongoing=task.recurrence == "ongoing", last_report=last_report,
                           report_every_workdays=reminders.report_every_workdays),
            "time_limit": task.time_limit_text, "evidence_spec": task.evidence_spec,
            "last_report": last_report.isoformat() if last_report else None,
            "done_on": done_on.isoformat() if done_on else None,
            "active": task.active, "instance_id": instance_id,
        })
    return rows


def status_summary(session: Session, ctx: ProgramContext, today: date) -> dict:
    rows = task_rows(session, ctx, today)
    units = {u.code: u.name for u in session.scalars(select(Unit).where(Unit.program_id == ctx.id))}
    per_unit: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        for code in row["lead"]:
            per_unit[code][row["light"]] += 1
            per_unit[code]["lead"] += 1
        for code in row["co"]:
            per_unit[code]["co"] += 1
    lights = Counter(row["light"] for row in rows)
    done = lights["done"]
    return {
        "program": ctx.id,
        "name": ctx.program.name,
        "as_of": today.isoformat(),
        "phases": [
            {
                "kind": p.kind, "name": p.name, "start": p.start.isoformat(), "end": p.end.isoformat(),
                "state": p.state, "opened_on": p.opened_on.isoformat() if p.opened_on else None,
                "closed_on": p.closed_on.isoformat() if p.closed_on else None}
            for p in phases(session, ctx.id)
        ],
        "tasks": len(rows),
        "done_share": round(done / len(rows), 4) if rows else 0.0,
        "lights": {name: lights.get(name, 0) for name in LIGHTS},
        "units": [
            {
                "unit": code, "name": units.get(code, code), "lead": counts["lead"], "co": counts["co"],
                **{name: counts.get(name, 0) for name in LIGHTS}}
            for code, counts in sorted(
                per_unit.items(), key=lambda kv: (-kv[1]["red"], -kv[1]["yellow"], kv[0])
            )
        ],
    }


def record_report(session: Session, ctx: ProgramContext, code: str, unit_code: str, status: str,
                  progress: int | None, note: str | None, evidence: list[str], at: datetime,
                  actor: str = "cli", effect: str = "apply") -> dict:
    """Records a report. `effect`: apply (the task instance takes the reported status), claim (a done claim
    waiting for review: the instance stays in progress at 100%) or part (a co-unit's part: recorded, the
    instance is left to its lead). The rules on who may claim what are db.reviews.submit_report's."""
    language = ctx.language
    if status not in REPORT_STATUSES:
        raise InvalidInput(
            text(language, "error.status_invalid", status=status, choices=" | ".join(REPORT_STATUSES))
        )
    if progress is not None and not 0 <= progress <= 100:
        raise InvalidInput(text(language, "error.progress_range", progress=progress))
    task = session.scalar(select(Task).where(Task.program_id == ctx.id, Task.code == code))
    if task is None:
        raise NotFound(text(language, "error.task_missing", program=ctx.id, code=code))
    if not task.active:
        raise InvalidInput(text(language, "error.task_retired", code=code))
    note = clean_optional(note)
    unit = session.scalar(select(Unit).where(Unit.program_id == ctx.id, Unit.code == unit_code))
    if unit is None:
        raise NotFound(text(language, "error.unit_missing", program=ctx.id, unit=unit_code))
    on_task = assignments(session, ctx.id, task.id)[task.id]
    responsible = set(on_task["lead"] + on_task["co"])
    if not ({unit_code} | collectives_of(session, ctx.id).get(unit_code, set())) & responsible:
        raise InvalidInput(text(language, "error.not_responsible", unit=unit.name, code=code,
                                responsible=", ".join(sorted(responsible))))
    instance = current_instance(session, task.id)
    if progress is None:
        progress = 100 if status == "done" else instance.progress
    if status == "done":
        progress = 100
    if effect == "apply":
        instance.status, instance.progress, instance.last_report_at = status, progress, at
        instance.done_on = ctx.local_date(at) if status == "done" else None
    elif effect == "claim":
        instance.status, instance.progress, instance.last_report_at = "in_progress", 100, at
    report = ProgressReport(program_id=ctx.id, task_id=task.id, instance_id=instance.id, unit_id=unit.id,
                            status=status, progress=progress, note=note, evidence=evidence, reported_at=at)
    session.add(report)
    session.flush()
    follow_shares(session, task)
    record_event(
        session,
        ctx.id,
        at,
        "task.claimed" if effect == "claim" else "task.reported",
        f"task:{code}",
        actor,
        {
            "unit": unit_code,
            "status": status,
            "progress": progress,
            "effect": effect,
            "due": instance.due.isoformat() if instance.due else None,
        },
    )
    return {"program": ctx.id, "code": code, "unit": unit_code, "status": status, "progress": progress,
            "due": instance.due.isoformat() if instance.due else None, "evidence": evidence,
            "reported_at": at.isoformat(), "report_id": report.id, "instance_id": instance.id}


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
            query = query.join(Task, Task.id == TaskUnit.task_id).where(
                Task.phase_kind.in_(sorted(task_phases))
            )
        rows = session.execute(query).all()
        self.by_task: dict[int, list[Recipient]] = defaultdict(list)
        for task_id, role, _position, unit_id, code, member_id, member_code in rows:
            recipient = (
                Recipient(member_id, member_code, role) if member_id else Recipient(unit_id, code, role)
            )
            if all(r.unit_id != recipient.unit_id for r in self.by_task[task_id]):
                self.by_task[task_id].append(recipient)

    def of(self, task_id: int, role: str | None = None) -> list[Recipient]:
        return [r for r in self.by_task.get(task_id, []) if role is None or r.role == role]
