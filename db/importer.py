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
from datetime import date, datetime

from sqlalchemy import Row, bindparam, delete, insert, select, update
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
        phase.gate = dict(phase_spec.gate)
    for kind, phase in existing.items():
        if kind not in kinds:
            session.delete(phase)
    session.flush()


# The tasks are written set-based: each table is read once (columns, not ORM objects) and written with one
# executemany per kind of change, so a 100,000-task import costs a handful of statements, not two per task.
TASK_FIELDS = ("area", "title", "phase_kind", "time_limit_text", "recurrence", "evidence_spec", "source_row",
               "active", "parent_code", "done_when")
TASKS, TASK_UNITS, INSTANCES = Task.__table__, TaskUnit.__table__, TaskInstance.__table__


def _upsert_tasks(session: Session, spec: ProgramSpec, unit_ids: dict[str, int], result: ImportResult,
                  now: datetime) -> None:
    task_ids = _write_tasks(session, spec, result)
    _write_assignments(session, spec, unit_ids, task_ids)
    _write_instances(session, spec, task_ids, result, now)


def _task_values(task_spec) -> dict:
    return {"area": task_spec.area, "title": task_spec.title, "phase_kind": task_spec.phase,
            "time_limit_text": task_spec.time_limit_text, "recurrence": task_spec.recurrence,
            "evidence_spec": task_spec.evidence, "source_row": task_spec.row, "active": True,
            "parent_code": task_spec.parent, "done_when": task_spec.done_when}


def _write_tasks(session: Session, spec: ProgramSpec, result: ImportResult) -> dict[str, int]:
    """Inserts new tasks, updates changed ones, deactivates those the table no longer has; code → id."""
    columns = [TASKS.c.id, TASKS.c.code, *(TASKS.c[name] for name in TASK_FIELDS)]
    rows = session.execute(select(*columns).where(TASKS.c.program_id == spec.id))
    existing = {row.code: row for row in rows}
    new_rows, changed = [], []
    for task_spec in spec.tasks:
        values = _task_values(task_spec)
        row = existing.get(task_spec.code)
        if row is None:
            new_rows.append({"program_id": spec.id, "code": task_spec.code, **values})
            result.tasks_added.append(task_spec.code)
        elif any(getattr(row, key) != value for key, value in values.items()):
            changed.append({"task_id": row.id, **values})
            result.tasks_updated.append(task_spec.code)
    ids = {code: row.id for code, row in existing.items()}
    if new_rows:
        # One executemany, then the new ids read back by code: RETURNING in parameter order would cost SQLite
        # a statement per row.
        session.execute(insert(TASKS), new_rows)
        added = select(TASKS.c.code, TASKS.c.id).where(TASKS.c.program_id == spec.id)
        ids.update((code, task_id) for code, task_id in session.execute(added) if code not in ids)
    if changed:
        session.execute(update(TASKS).where(TASKS.c.id == bindparam("task_id")), changed)
    codes = {t.code for t in spec.tasks}
    removed = sorted(code for code, row in existing.items() if code not in codes and row.active)
    if removed:
        session.execute(update(TASKS).where(TASKS.c.id == bindparam("task_id")).values(active=False),
                        [{"task_id": existing[code].id} for code in removed])
        result.tasks_removed = removed
    return ids


def _write_assignments(session: Session, spec: ProgramSpec, unit_ids: dict[str, int],
                       task_ids: dict[str, int]) -> None:
    """The lead and co units of each task in the table, as the table has them now (a diff, not a rewrite)."""
    wanted = {
        (task_ids[t.code], unit_ids[code]): (role, position)
        for t in spec.tasks
        for role, codes in (("lead", t.lead), ("co", t.co))
        for position, code in enumerate(codes)
    }
    in_table = {task_ids[t.code] for t in spec.tasks}
    current = {
        (row.task_id, row.unit_id): (row.role, row.position)
        for row in session.execute(
            select(TASK_UNITS).join(TASKS, TASKS.c.id == TASK_UNITS.c.task_id)
            .where(TASKS.c.program_id == spec.id))
        if row.task_id in in_table
    }
    stale = [{"t": t, "u": u} for (t, u), kept in current.items() if wanted.get((t, u)) != kept]
    if stale:
        pair = (TASK_UNITS.c.task_id == bindparam("t")) & (TASK_UNITS.c.unit_id == bindparam("u"))
        session.execute(delete(TASK_UNITS).where(pair), stale)
    fresh = [{"task_id": t, "unit_id": u, "role": role, "position": position}
             for (t, u), (role, position) in wanted.items() if current.get((t, u)) != (role, position)]
    if fresh:
        session.execute(insert(TASK_UNITS), fresh)


def _write_instances(session: Session, spec: ProgramSpec, task_ids: dict[str, int], result: ImportResult,
                     now: datetime) -> None:
    """Each task's dated instances: new ones inserted, moved ones re-dated, ones the plan dropped retired."""
    calendar = spec.policies.work_calendar()
    columns = [INSTANCES.c[name] for name in ("id", "task_id", "seq", "window_start", "due", "original_due",
                                              "status", "retired_on")]
    by_task: dict[int, dict[int, Row]] = {}
    for row in session.execute(select(*columns).where(INSTANCES.c.program_id == spec.id)):
        by_task.setdefault(row.task_id, {})[row.seq] = row
    new_rows, changed, retired = [], [], []
    for task_spec in spec.tasks:
        task_id = task_ids[task_spec.code]
        current = by_task.get(task_id, {})
        wanted = spec.instances(task_spec, calendar)
        result.instances += len(wanted)
        for instance_spec in wanted:
            row = current.pop(instance_spec.seq, None)
            if row is None:
                new_rows.append({
                    "program_id": spec.id, "task_id": task_id, "seq": instance_spec.seq,
                    "window_start": instance_spec.window_start, "due": instance_spec.due,
                    "original_due": instance_spec.due, "status": "not_started", "progress": 0,
                })
            elif (update_ := _instance_update(row, instance_spec.window_start, instance_spec.due)):
                changed.append(update_)
        for row in current.values():
            if row.retired_on is None:
                # Retired, never deleted: its reports, notices and extension requests stay attached.
                retired.append({"instance_id": row.id})
                result.instances_retired.append(
                    text(spec.language, "error.retired_instance", code=task_spec.code, seq=row.seq,
                         due=row.due or text(spec.language, "light.none"), status=row.status))
    if new_rows:
        session.execute(insert(INSTANCES), new_rows)
    if changed:
        session.execute(update(INSTANCES).where(INSTANCES.c.id == bindparam("instance_id")), changed)
    if retired:
        session.execute(update(INSTANCES).where(INSTANCES.c.id == bindparam("instance_id"))
                        .values(retired_on=now.date()), retired)


def _instance_update(row: Row, window_start: date | None, due: date | None) -> dict | None:
    """The columns of an existing instance that the plan changes, or None when it keeps them all."""
    values = {"window_start": window_start, "retired_on": None}  # a retired instance the plan has again: back
    if row.original_due != due:
        # The table's time limit changed: the new date replaces it. An approved extension (due !=
        # original_due) survives a re-import that leaves the time limit alone.
        values.update(due=due, original_due=due)
    if all(getattr(row, key) == value for key, value in values.items()):
        return None
    # Every row of one executemany names the same columns.
    return {"instance_id": row.id, "window_start": window_start, "due": values.get("due", row.due),
            "original_due": values.get("original_due", row.original_due), "retired_on": None}
