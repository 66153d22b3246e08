"""Write a validated ProgramSpec to the database in one transaction.

Re-importing a program updates tasks by code and keeps their progress; tasks no longer in the table are
marked inactive and listed, never silently dropped. Nothing recorded is deleted by an import: a task
instance the
plan no longer has (its time limit changed from 每季度 to one date, say) is retired with its reports,
notices and
extension requests still attached, and listed (`plan_import` returns the list before the caller commits).

A program id belongs to one plan: its source identity is the sha256 of the plan's name and coordinator
(`source_identity`). Importing a plan with another identity under an existing id is refused (PlanConflict)
unless `replace=True`, which says what it replaces and keeps every record of the old plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from db.events import record_event
from db.models import Phase, Program, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.programs import InvalidInput
from schedule import ProgramSpec, text


@dataclass
class ImportResult:
    program_id: str
    created: bool
    tasks_added: list[str] = field(default_factory=list)
    tasks_updated: list[str] = field(default_factory=list)
    tasks_removed: list[str] = field(default_factory=list)
    instances: int = 0
    # "CODE #seq (due)" of each instance retired by this import, with what stays attached to it.
    instances_retired: list[str] = field(default_factory=list)
    replaced: str | None = None  # the name of the plan replaced (replace=True)

    def to_json(self) -> dict:
        return {"program": self.program_id, "created": self.created, "added": self.tasks_added,
                "updated": self.tasks_updated, "removed": self.tasks_removed, "instances": self.instances,
                "retired": self.instances_retired, "replaced": self.replaced}


class PlanConflict(InvalidInput):
    """Another plan already holds this program id."""


def source_identity(spec: ProgramSpec) -> str:
    """Which plan this is: its name and coordinator, whatever folder it is read from."""
    return hashlib.sha256(f"{spec.name.strip()}\x1f{spec.coordinator}".encode()).hexdigest()


def import_program(session: Session, spec: ProgramSpec, now: datetime, actor: str = "cli",
                   replace: bool = False) -> ImportResult:
    """The caller owns the transaction: commit on success, roll back on any error (all or nothing)."""
    program = session.get(Program, spec.id)
    result = ImportResult(spec.id, created=program is None)
    identity = source_identity(spec)
    if program is None:
        program = Program(id=spec.id, imported_at=now)
        session.add(program)
    elif program.source_identity not in (None, identity):
        if not replace:
            raise PlanConflict(text(spec.language, "error.plan_conflict", id=spec.id, other=program.name,
                                    other_coordinator=_coordinator_code(session, program), name=spec.name,
                                    coordinator=spec.coordinator))
        result.replaced = program.name
    program.source_identity = identity
    program.name, program.timezone, program.language = spec.name, spec.timezone, spec.language
    program.settings = spec.policies.to_json()
    program.source_dir = spec.source_dir
    program.imported_at = now
    session.flush()

    unit_ids = _upsert_units(session, spec)
    program.coordinator_unit_id = unit_ids[spec.coordinator]
    _upsert_phases(session, spec)
    _upsert_tasks(session, spec, unit_ids, result, now)
    record_event(session, spec.id, now, "plan.imported", f"program:{spec.id}", actor, result.to_json())
    return result


def _coordinator_code(session: Session, program: Program) -> str:
    unit = session.get(Unit, program.coordinator_unit_id) if program.coordinator_unit_id else None
    return unit.code if unit else "—"


def _upsert_units(session: Session, spec: ProgramSpec) -> dict[str, int]:
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.program_id == spec.id))}
    for unit_spec in spec.units:
        unit = existing.get(unit_spec.code) or Unit(program_id=spec.id, code=unit_spec.code)
        unit.name, unit.aliases = unit_spec.name, list(unit_spec.aliases)
        unit.notify, unit.leader_notify = list(unit_spec.notify), list(unit_spec.leader_notify)
        if unit.id is None:
            session.add(unit)
        existing[unit_spec.code] = unit
    session.flush()
    ids = {code: unit.id for code, unit in existing.items()}
    session.execute(delete(UnitMember).where(UnitMember.collective_id.in_(list(ids.values()))))
    members = [{"collective_id": ids[u.code], "member_id": ids[m]} for u in spec.units for m in u.members]
    if members:
        session.execute(insert(UnitMember), members)
    return ids


def _upsert_phases(session: Session, spec: ProgramSpec) -> None:
    existing = {p.kind: p for p in session.scalars(select(Phase).where(Phase.program_id == spec.id))}
    kinds = [p.kind for p in spec.phases]
    for seq, phase_spec in enumerate(spec.phases):
        phase = existing.get(phase_spec.kind)
        if phase is None:
            phase = Phase(program_id=spec.id, kind=phase_spec.kind, state="pending")
            session.add(phase)
        # A phase keeps its state (and its history in the event log) across re-imports.
        phase.seq, phase.name, phase.start, phase.end = seq, phase_spec.name, phase_spec.start, phase_spec.end
        phase.exit_tasks, phase.assign_after = list(phase_spec.exit_tasks), list(phase_spec.assign_after)
    for kind, phase in existing.items():
        if kind not in kinds:
            session.delete(phase)
    session.flush()


def _upsert_tasks(session: Session, spec: ProgramSpec, unit_ids: dict[str, int], result: ImportResult,
                  now: datetime) -> None:
    calendar = spec.policies.work_calendar()
    existing = {t.code: t for t in session.scalars(select(Task).where(Task.program_id == spec.id))}
    new_rows, codes = [], set()
    for task_spec in spec.tasks:
        codes.add(task_spec.code)
        values = {
            "area": task_spec.area, "title": task_spec.title, "phase_kind": task_spec.phase,
            "time_limit_text": task_spec.time_limit_text, "recurrence": task_spec.recurrence,
            "evidence_spec": task_spec.evidence, "source_row": task_spec.row, "active": True,
            "parent_code": task_spec.parent, "done_when": task_spec.done_when,
        }
        task = existing.get(task_spec.code)
        if task is None:
            new_rows.append({"program_id": spec.id, "code": task_spec.code, **values})
            result.tasks_added.append(task_spec.code)
        else:
            changed = any(getattr(task, k) != v for k, v in values.items())
            for key, value in values.items():
                setattr(task, key, value)
            if changed:
                result.tasks_updated.append(task_spec.code)
    if new_rows:
        ids = session.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True), new_rows).all()
        for row, task_id in zip(new_rows, ids, strict=True):
            existing[row["code"]] = session.get(Task, task_id)
    removed = [code for code, task in existing.items() if code not in codes and task.active]
    if removed:
        session.execute(
            update(Task).where(Task.program_id == spec.id, Task.code.in_(removed)).values(active=False)
        )
        result.tasks_removed = sorted(removed)
    session.flush()

    task_ids = [existing[t.code].id for t in spec.tasks]
    session.execute(delete(TaskUnit).where(TaskUnit.task_id.in_(task_ids)))
    assignments = [
        {"task_id": existing[t.code].id, "unit_id": unit_ids[code], "role": role, "position": position}
        for t in spec.tasks
        for role, codes_ in (("lead", t.lead), ("co", t.co))
        for position, code in enumerate(codes_)
    ]
    if assignments:
        session.execute(insert(TaskUnit), assignments)

    instances_by_task: dict[int, dict[int, TaskInstance]] = {}
    for instance in session.scalars(select(TaskInstance).where(TaskInstance.program_id == spec.id)):
        instances_by_task.setdefault(instance.task_id, {})[instance.seq] = instance
    new_instances = []
    for task_spec in spec.tasks:
        task_id = existing[task_spec.code].id
        current = instances_by_task.get(task_id, {})
        wanted = spec.instances(task_spec, calendar)
        result.instances += len(wanted)
        for instance_spec in wanted:
            instance = current.pop(instance_spec.seq, None)
            if instance is not None and instance.retired_on is not None:
                instance.retired_on = None  # the plan has it again: back, with its history
            if instance is None:
                new_instances.append({
                    "program_id": spec.id, "task_id": task_id, "seq": instance_spec.seq,
                    "window_start": instance_spec.window_start, "due": instance_spec.due,
                    "original_due": instance_spec.due, "status": "not_started", "progress": 0,
                })
            elif instance.original_due != instance_spec.due:
                # The table's time limit changed: the new date replaces it. An approved extension
                # (due != original_due) survives a re-import that leaves the time limit alone.
                instance.window_start, instance.due, instance.original_due = (
                    instance_spec.window_start, instance_spec.due, instance_spec.due)
            else:
                instance.window_start = instance_spec.window_start
        for instance in current.values():
            if instance.retired_on is None:
                # Retired, never deleted: its reports, notices and extension requests stay attached.
                instance.retired_on = now.date()
                result.instances_retired.append(
                    text(spec.language, "error.retired_instance", code=task_spec.code, seq=instance.seq,
                         due=instance.due or text(spec.language, "light.none"), status=instance.status))
    if new_instances:
        session.execute(insert(TaskInstance), new_instances)
    session.flush()
