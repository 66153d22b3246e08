"""Tasks and their instances: task rows with their lights, status summaries, progress reports.

Set-based: a bounded number of queries whatever the number of tasks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import (
    BindParameter,
    Row,
    Select,
    and_,
    bindparam,
    case,
    event,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from db.bulk import STREAMED_ROWS, bulk_read, core, flush_pending, update_row
from db.collectives import follow_shares
from db.events import record_event
from db.models import Phase, ProgressReport, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.programs import InvalidInput, NotFound, ProgramContext
from db.readonly import refuse_archived_write
from schedule import LIGHTS, clean_optional, light, text

REPORT_STATUSES = ("not_started", "in_progress", "done")
# The whole-program reads below are built once on the tables (Core): only their parameters change per call.
_TASKS, _INSTANCES, _TASK_UNITS, _UNITS = (Task.__table__, TaskInstance.__table__, TaskUnit.__table__,
                                           Unit.__table__)


def current_instances(program_id: str | BindParameter, core: bool = False):
    """One row per active task: its current instance (earliest not done, else the last one). `core`: on the
    table, for a statement built once (a Core read does not flush the session: its caller does)."""
    instances = _INSTANCES.c if core else TaskInstance
    done_first = case((instances.status == "done", 1), else_=0)
    order = case((instances.status == "done", -instances.seq), else_=instances.seq)
    rank = func.row_number().over(partition_by=instances.task_id, order_by=(done_first, order)).label("rank")
    ranked = (
        select(_INSTANCES if core else TaskInstance, rank)
        .where(instances.program_id == program_id, instances.retired_on.is_(None))
        .subquery()
    )
    return ranked


def current_instance_query(*columns, core: bool = False) -> Select:
    """One task's current instance (earliest not done, else the last, of those a re-import has not retired;
    parameter `task_id`) in one statement, with `columns` beside it (of the instance, correlated). `core`: the
    instance's columns, on the table (a report's checks and record need no object: write_report updates the
    row itself)."""
    instances = _INSTANCES.c if core else TaskInstance
    done = instances.status == "done"
    return (select(_INSTANCES if core else TaskInstance, *columns)
            .where(instances.task_id == bindparam("task_id"), instances.retired_on.is_(None))
            .order_by(case((done, 1), else_=0), case((done, -instances.seq), else_=instances.seq))
            .limit(1))


_CURRENT = current_instance_query()
_CURRENT_ROW = current_instance_query(core=True)


def current_instance(session: Session, task_id: int) -> TaskInstance:
    """One task's current instance (earliest not done, else the last), without ranking the whole program."""
    return session.scalar(_CURRENT, {"task_id": task_id})


def task_exists(session: Session, program_id: str, code: str) -> bool:
    return session.scalar(select(Task.id).where(Task.program_id == program_id, Task.code == code)) is not None


@bulk_read()
def assignments(
    session: Session, program_id: str, task_id: int | None = None
) -> dict[int, dict[str, list[str]]]:
    """task id → {"lead": [unit codes], "co": [unit codes]}, in the table's order (one task's, if given)."""
    flush_pending(session)
    rows = session.execute(_ASSIGNED if task_id is None else _ASSIGNED_TO_TASK,
                           {"program_id": program_id, "task_id": task_id},
                           execution_options={"yield_per": STREAMED_ROWS}).tuples()
    result: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"lead": [], "co": []})
    for task_id, role, code in rows:
        result[task_id][role].append(code)
    return result


def collectives_of(session: Session, program_id: str) -> dict[str, set[str]]:
    """unit code → codes of the collectives it belongs to."""
    rows = core(session, _MEMBERSHIPS, {"program_id": program_id}).all()
    result: dict[str, set[str]] = defaultdict(set)
    for member_code, collective_code in rows:
        result[member_code].add(collective_code)
    return result


# assignments() and collectives_of(), built once (db.programs on why): every report, 签收 and extension
# request asks who answers for its task.
_ASSIGNED = (
    select(_TASK_UNITS.c.task_id, _TASK_UNITS.c.role, _UNITS.c.code)
    .join(_UNITS, _UNITS.c.id == _TASK_UNITS.c.unit_id)
    .where(_UNITS.c.program_id == bindparam("program_id"))
    .order_by(_TASK_UNITS.c.task_id, _TASK_UNITS.c.role.desc(), _TASK_UNITS.c.position)
)
_ASSIGNED_TO_TASK = _ASSIGNED.where(_TASK_UNITS.c.task_id == bindparam("task_id"))
_MEMBER, _COLLECTIVE, _MEMBERS = _UNITS.alias("member"), _UNITS.alias("collective"), UnitMember.__table__
_MEMBERSHIPS = (
    select(_MEMBER.c.code, _COLLECTIVE.c.code)
    .join(_MEMBERS, _MEMBERS.c.member_id == _MEMBER.c.id)
    .join(_COLLECTIVE, _COLLECTIVE.c.id == _MEMBERS.c.collective_id)
    .where(_MEMBER.c.program_id == bindparam("program_id"))
)


def lights(ctx: ProgramContext, today: date) -> Callable[..., str]:
    """light() for many instances of one program on one day: instances alike (same due, status, progress,
    window, rhythm) are worked out once."""
    calendar, reminders = ctx.policies.work_calendar(), ctx.policies.reminders

    @cache
    def of(due: date | None, status: str, progress: int, window_start: date | None, ongoing: bool,
           last_report: date | None) -> str:
        return light(today, due=due, status=status, progress=progress, window_start=window_start,
                     calendar=calendar, yellow_workdays=reminders.yellow_workdays, ongoing=ongoing,
                     last_report=last_report, report_every_workdays=reminders.report_every_workdays)

    return of


# The task list of a program as of a day and its lights' tally, kept for the rest of the session's
# transaction: the bulletin, the status summary, the digests' 报送表 and the artifacts read each once. Any
# write through the session drops them.
_KEPT = "duban.task_list"


@event.listens_for(Session, "after_transaction_end")
@event.listens_for(Session, "after_flush")
def _forget_task_list(session: Session, *_args) -> None:
    session.info.pop(_KEPT, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if not state.is_select:
        state.session.info.pop(_KEPT, None)


def task_rows(session: Session, ctx: ProgramContext, today: date, unit_code: str | None = None,
              include_inactive: bool = False, code: str | None = None) -> list[dict]:
    """The active tasks with their current instance and light (one unit's, one task's, or retired ones too).
    The whole list is read once per transaction; callers get their own list of the shared rows."""
    flush_pending(session)  # before the kept list is looked up: a flush drops it
    if unit_code is not None or code is not None or include_inactive:
        return _task_rows(session, ctx, today, unit_code, include_inactive, code)
    kept = session.info.setdefault(_KEPT, {})
    if ("rows", ctx.id, today) not in kept:
        kept[("rows", ctx.id, today)] = _task_rows(session, ctx, today)
    return list(kept[("rows", ctx.id, today)])


def _task_list():
    """Each task with its current instance, in the plan's order (all, retired ones too)."""
    ranked = current_instances(bindparam("program"), core=True)
    return (
        select(_TASKS.c.id, _TASKS.c.code, _TASKS.c.title, _TASKS.c.area, _TASKS.c.recurrence,
               _TASKS.c.phase_kind, _TASKS.c.time_limit_text, _TASKS.c.evidence_spec, _TASKS.c.active,
               ranked.c.id.label("instance_id"), ranked.c.due, ranked.c.window_start, ranked.c.status,
               ranked.c.progress, ranked.c.last_report_at, ranked.c.done_on, ranked.c.original_due)
        .join(ranked, ranked.c.task_id == _TASKS.c.id)
        .where(ranked.c.rank == 1, _TASKS.c.program_id == bindparam("program"))
        .order_by(_TASKS.c.source_row, _TASKS.c.code)
    )


_TASK_LIST = _task_list()
_ACTIVE_TASK_LIST = _TASK_LIST.where(_TASKS.c.active.is_(True))


@bulk_read()
def _task_rows(session: Session, ctx: ProgramContext, today: date, unit_code: str | None = None,
               include_inactive: bool = False, code: str | None = None) -> list[dict]:
    query = _TASK_LIST if include_inactive else _ACTIVE_TASK_LIST
    if code is not None:
        query = query.where(_TASKS.c.code == code)
    by_task = assignments(session, ctx.id, None if code is None else
                          session.scalar(select(Task.id).where(Task.program_id == ctx.id, Task.code == code)))
    wanted = None
    if unit_code is not None:
        wanted = {unit_code} | collectives_of(session, ctx.id).get(unit_code, set())
    light_of = lights(ctx, today)
    iso = cache(date.isoformat)  # one string per distinct day, shared by the rows that hold it
    rows = []
    for (task_id, task_code, title, area, recurrence, phase_kind, time_limit, evidence_spec, active,
         instance_id, due, window_start, status, progress, last_report_at, done_on,
         original_due) in session.execute(query, {"program": ctx.id},
                                          execution_options={"yield_per": STREAMED_ROWS}).tuples():
        units = by_task[task_id]
        if wanted is not None and wanted.isdisjoint(units["lead"] + units["co"]):
            continue
        last_report = ctx.local_date(last_report_at) if last_report_at else None
        rows.append({
            "code": task_code, "title": title, "area": area, "lead": units["lead"], "co": units["co"],
            "due": iso(due) if due else None,
            "original_due": iso(original_due) if original_due and original_due != due else None,
            "recurrence": recurrence, "phase": phase_kind, "status": status, "progress": progress,
            "light": light_of(due, status, progress, window_start, recurrence == "ongoing", last_report),
            "time_limit": time_limit, "evidence_spec": evidence_spec,
            "last_report": iso(last_report) if last_report else None,
            "done_on": iso(done_on) if done_on else None, "active": active, "instance_id": instance_id,
        })
    return rows


_UNIT_NAMES = select(_UNITS.c.code, _UNITS.c.name).where(_UNITS.c.program_id == bindparam("program"))
_PHASES = Phase.__table__
_PHASE_ROWS = (select(_PHASES.c.kind, _PHASES.c.name, _PHASES.c.start, _PHASES.c.end, _PHASES.c.state,
                      _PHASES.c.opened_on, _PHASES.c.closed_on)
               .where(_PHASES.c.program_id == bindparam("program")).order_by(_PHASES.c.seq))


class Lights(NamedTuple):
    """The active tasks' lights on a day, tallied (what a status summary and a bulletin's red list show),
    read without building the task list: at 100,000 tasks the list's rows cost several times the tally."""

    tasks: int
    lights: Counter  # light → tasks
    units: dict[str, Counter]  # unit code → its lead tasks by light, and its "lead" and "co" counts
    red: list[dict]  # each red task: code, title, lead (unit codes in the table's order), due, progress


def _current_instance_id(tasks):
    """The id of a task's current instance (earliest not done, else the last), one index lookup per task:
    cheaper than ranking every instance of the program (current_instances) when only that one is read."""
    candidate = _INSTANCES.alias("candidate")
    done_first = case((candidate.c.status == "done", 1), else_=0)
    order = case((candidate.c.status == "done", -candidate.c.seq), else_=candidate.c.seq)
    return (select(candidate.c.id).where(candidate.c.task_id == tasks.c.id, candidate.c.retired_on.is_(None))
            .order_by(done_first, order).limit(1).correlate(tasks).scalar_subquery())


# The lights' inputs of each active task's current instance, and each assignment, in no particular order: the
# tally does not depend on it (the red list and the units are sorted after).
_LIGHT_INPUTS = (
    select(_TASKS.c.id, _TASKS.c.code, _TASKS.c.title, _TASKS.c.recurrence, _INSTANCES.c.due,
           _INSTANCES.c.window_start, _INSTANCES.c.status, _INSTANCES.c.progress, _INSTANCES.c.last_report_at)
    .select_from(_TASKS).join(_INSTANCES, _INSTANCES.c.id == _current_instance_id(_TASKS))
    .where(_TASKS.c.program_id == bindparam("program"), _TASKS.c.active.is_(True))
    .execution_options(yield_per=STREAMED_ROWS)
)
_ROLES_OF_TASKS = (
    select(_TASK_UNITS.c.task_id, _TASK_UNITS.c.role, _TASK_UNITS.c.position, _UNITS.c.code)
    .join(_UNITS, _UNITS.c.id == _TASK_UNITS.c.unit_id).where(_UNITS.c.program_id == bindparam("program"))
    .execution_options(yield_per=STREAMED_ROWS)
)


def program_lights(session: Session, ctx: ProgramContext, today: date) -> Lights:
    """Each active task's light on `today`, counted overall and per unit (as task_rows and status_summary
    count them), with the red tasks listed: from the task list when the transaction holds it already, else
    from a read of the lights' inputs alone. Kept for the transaction, like the task list."""
    flush_pending(session)  # before the kept tally is looked up: a flush drops it
    kept = session.info.setdefault(_KEPT, {})
    if ("lights", ctx.id, today) not in kept:
        rows = kept.get(("rows", ctx.id, today))
        kept[("lights", ctx.id, today)] = (_tally_of_rows(rows) if rows is not None
                                           else _read_lights(session, ctx, today))
    return kept[("lights", ctx.id, today)]


def _red(code: str, title: str, due: str | None, progress: int) -> dict:
    return {"code": code, "title": title, "lead": [], "due": due, "progress": progress}


def _tally_of_rows(rows: list[dict]) -> Lights:
    tasks = ((row["instance_id"], row["light"],
              _red(row["code"], row["title"], row["due"], row["progress"]) if row["light"] == "red" else None)
             for row in rows)
    roles = ((row["instance_id"], role, position, code)
             for row in rows for role in ("lead", "co") for position, code in enumerate(row[role]))
    return _tally(tasks, roles)


@bulk_read()
def _read_lights(session: Session, ctx: ProgramContext, today: date) -> Lights:
    light_of = lights(ctx, today)
    iso = cache(date.isoformat)

    def tasks():
        for (task_id, code, title, recurrence, due, window_start, status, progress,
             last_report_at) in core(session, _LIGHT_INPUTS, {"program": ctx.id}).tuples():
            last_report = ctx.local_date(last_report_at) if last_report_at else None
            colour = light_of(due, status, progress, window_start, recurrence == "ongoing", last_report)
            yield task_id, colour, _red(code, title, iso(due), progress) if colour == "red" else None

    def roles():  # read once the tasks' lights are known: the tally takes its tasks whole first
        yield from core(session, _ROLES_OF_TASKS, {"program": ctx.id}).tuples()

    return _tally(tasks(), roles())


def _tally(tasks, roles) -> Lights:
    """`tasks`: (task, light, its red row or None) for each task of the list; then `roles`: (task, role,
    position, unit code) of every assignment, those of tasks not in the list among them."""
    of_task: dict = {}
    red: dict = {}
    for task, colour, row in tasks:
        of_task[task] = colour
        if row is not None:
            red[task] = row
    units: dict[str, Counter] = defaultdict(Counter)
    leads: dict = defaultdict(list)  # red task → (position, unit code)
    for task, role, position, code in roles:
        colour = of_task.get(task)
        if colour is None:  # a retired task, or one without a current instance: not in the task list
            continue
        units[code][role] += 1
        if role == "lead":
            units[code][colour] += 1
            if colour == "red":
                leads[task].append((position, code))
    for task, row in red.items():
        row["lead"] = [code for _position, code in sorted(leads[task])]
    return Lights(len(of_task), Counter(of_task.values()), units, list(red.values()))


def status_summary(session: Session, ctx: ProgramContext, today: date,
                   names: dict[str, str] | None = None, tally: Lights | None = None) -> dict:
    """`names`: unit code → name, and `tally`: program_lights(), when the caller has read them already."""
    tally = tally if tally is not None else program_lights(session, ctx, today)  # flushes: the Core reads
    units = names if names is not None else dict(core(session, _UNIT_NAMES, {"program": ctx.id}).all())
    done = tally.lights["done"]
    return {
        "program": ctx.id,
        "name": ctx.program.name,
        "as_of": today.isoformat(),
        "phases": [
            {
                "kind": p.kind, "name": p.name, "start": p.start.isoformat(), "end": p.end.isoformat(),
                "state": p.state, "opened_on": p.opened_on.isoformat() if p.opened_on else None,
                "closed_on": p.closed_on.isoformat() if p.closed_on else None}
            for p in core(session, _PHASE_ROWS, {"program": ctx.id})
        ],
        "tasks": tally.tasks,
        "done_share": round(done / tally.tasks, 4) if tally.tasks else 0.0,
        "lights": {name: tally.lights.get(name, 0) for name in LIGHTS},
        "units": [
            {
                "unit": code, "name": units.get(code, code), "lead": counts["lead"], "co": counts["co"],
                **{name: counts.get(name, 0) for name in LIGHTS}}
            for code, counts in sorted(
                tally.units.items(), key=lambda kv: (-kv[1]["red"], -kv[1]["yellow"], kv[0])
            )
        ],
    }


def refuse_bad_values(language: str, status: str, progress: int | None) -> None:
    """A report's status and progress, checked before anything is read or written."""
    if status not in REPORT_STATUSES:
        raise InvalidInput(
            text(language, "error.status_invalid", status=status, choices=" | ".join(REPORT_STATUSES))
        )
    if progress is not None and not 0 <= progress <= 100:
        raise InvalidInput(text(language, "error.progress_range", progress=progress))


def record_report(session: Session, ctx: ProgramContext, code: str, unit_code: str, status: str,
                  progress: int | None, note: str | None, evidence: list[str], at: datetime,
                  actor: str = "cli", effect: str = "apply") -> dict:
    """Records a report. `effect`: apply (the task instance takes the reported status), claim (a done claim
    waiting for review: the instance stays in progress at 100%) or part (a co-unit's part: recorded, the
    instance is left to its lead). The rules on who may claim what are db.reviews.submit_report's."""
    language = ctx.language
    refuse_bad_values(language, status, progress)
    task = task_and_unit(session, ctx, code, unit_code)
    if task.unit_id is None:
        raise NotFound(text(language, "error.unit_missing", program=ctx.id, unit=unit_code))
    if task.role is None:
        on_task = assignments(session, ctx.id, task.id)[task.id]
        raise InvalidInput(text(language, "error.not_responsible", unit=task.unit_name, code=code,
                                responsible=", ".join(sorted(set(on_task["lead"] + on_task["co"])))))
    instance = core(session, _CURRENT_ROW, {"task_id": task.id}).one()
    return write_report(session, ctx, task, ReportedUnit(task.unit_id, task.unit_code, task.unit_name),
                        instance, status, progress, note, evidence, at, actor, effect)


_REPORT_INSERT = insert(ProgressReport.__table__).returning(ProgressReport.__table__.c.id)


def write_report(session: Session, ctx: ProgramContext, task: Row, unit: ReportedUnit, instance: Row,
                 status: str, progress: int | None, note: str | None, evidence: list[str], at: datetime,
                 actor: str, effect: str = "apply") -> dict:
    """record_report once its task, unit and instance are looked up and the unit is known to answer for the
    task (db.reviews.submit_report has them from its own checks): the task's columns (task_and_unit), the
    instance's (current_instance_query(core=True))."""
    refuse_archived_write(session, ctx.id)  # before anything is written: the statements below are Core
    note = clean_optional(note)
    if progress is None:
        progress = 100 if status == "done" else instance.progress
    if status == "done":
        progress = 100
    # Progress on an instance that stays open brings the check nothing new (db.models.marks).
    stays_open = instance.status != "done" and (status != "done" or effect == "claim")
    if effect == "apply":
        set_instance(session, ctx, instance.id, brings_nothing=stays_open, status=status, progress=progress,
                     last_report_at=at, done_on=ctx.local_date(at) if status == "done" else None)
    elif effect == "claim":
        set_instance(session, ctx, instance.id, brings_nothing=stays_open, status="in_progress", progress=100,
                     last_report_at=at)
    # A Core insert that answers the new id (RETURNING), on the session's connection: the report is never
    # read back as an object, and reports are not what the check's marks count (db.models.marks).
    report_id = insert_report(session, {
        "program_id": ctx.id, "task_id": task.id, "instance_id": instance.id, "unit_id": unit.id,
        "status": status, "progress": progress, "note": note, "evidence": evidence, "reported_at": at})
    follow_shares(session, task)
    due = instance.due.isoformat() if instance.due else None
    kind = "task.claimed" if effect == "claim" else "task.reported"
    record_event(session, ctx.id, at, kind, f"task:{task.code}", actor,
                 {"unit": unit.code, "status": status, "progress": progress, "effect": effect, "due": due})
    return {"program": ctx.id, "code": task.code, "unit": unit.code, "status": status, "progress": progress,
            "due": due, "evidence": evidence, "reported_at": at.isoformat(), "report_id": report_id,
            "instance_id": instance.id}


def insert_report(session: Session, values: dict) -> int:
    """A progress report's row, inserted on the session's connection, with its new id."""
    return session.connection().execute(_REPORT_INSERT, values).scalar_one()


def set_instance(session: Session, ctx: ProgramContext, instance_id: int, brings_nothing: bool = False,
                 **values) -> None:
    """An instance's new values as one Core update on the session (db.bulk.update_row), once the program is
    known not to be archived (nothing flushes them through the archive hook): a report or a review changes
    the one row."""
    refuse_archived_write(session, ctx.id)
    update_row(session, TaskInstance, instance_id, ctx.id, brings_nothing=brings_nothing, **values)


def role_of(task_id, unit_id):
    """The unit's role on the task as one SQL value, directly or through a collective it belongs to: lead,
    co or NULL. The greatest of its roles ("lead" > "co"), so that a statement that looks the unit (or the
    task) up can carry the role with it: a report or a 签收 asks it with the lookup, not after it."""
    collectives = select(UnitMember.collective_id).where(UnitMember.member_id == unit_id)
    return (select(func.max(TaskUnit.role))
            .where(TaskUnit.task_id == task_id,
                   or_(TaskUnit.unit_id == unit_id, TaskUnit.unit_id.in_(collectives)))
            .scalar_subquery())


# Built once, as every report and 签收 asks it.
_ROLE = select(role_of(bindparam("task_id"), bindparam("unit_id")))


# A report's task by its code, with the reporting unit (by its code) and the unit's role on the task beside
# it (NULL where the program has no such unit), in one Core read built once: the columns the rules and the
# record read, not whole rows.
_REPORTED_UNIT = _UNITS.alias("reported_unit")
_TASK_AND_UNIT = (
    select(_TASKS.c.id, _TASKS.c.code, _TASKS.c.active, _TASKS.c.evidence_spec, _TASKS.c.parent_code,
           _TASKS.c.program_id, _REPORTED_UNIT.c.id.label("unit_id"),
           _REPORTED_UNIT.c.code.label("unit_code"), _REPORTED_UNIT.c.name.label("unit_name"),
           role_of(_TASKS.c.id, _REPORTED_UNIT.c.id).label("role"))
    .select_from(_TASKS.outerjoin(_REPORTED_UNIT, and_(_REPORTED_UNIT.c.program_id == _TASKS.c.program_id,
                                                       _REPORTED_UNIT.c.code == bindparam("unit_code"))))
    .where(_TASKS.c.program_id == bindparam("program"), _TASKS.c.code == bindparam("code")))


class ReportedUnit(NamedTuple):
    id: int
    code: str
    name: str


def task_and_unit(session: Session, ctx: ProgramContext, code: str, unit_code: str | None = None):
    """The active task `code` (its columns, named as the task's) with `unit_code`'s id, code, name and role
    on it (unit_id, unit_code, unit_name, role: None where the program has no such unit)."""
    task = core(session, _TASK_AND_UNIT, {"program": ctx.id, "code": code, "unit_code": unit_code}).first()
    if task is None:
        raise NotFound(text(ctx.language, "error.task_missing", program=ctx.id, code=code))
    if not task.active:
        raise InvalidInput(text(ctx.language, "error.task_retired", code=code))
    return task


def unit_role(session: Session, task_id: int, unit_id: int) -> str | None:
    """lead, co or None: the unit's role on the task, directly or through a collective it belongs to."""
    return session.scalar(_ROLE, {"task_id": task_id, "unit_id": unit_id})


class Recipient(NamedTuple):
    unit_id: int
    code: str
    role: str  # lead | co


@cache
def _recipients_query(phased: bool, by_ids: bool) -> Select:
    """Who answers for the tasks of a program (of some phases, of some tasks): built once, as every check asks
    several times."""
    collective = Unit.__table__.alias("collective")
    member = Unit.__table__.alias("member")
    query = (
        select(TaskUnit.task_id, TaskUnit.role, TaskUnit.position,
               collective.c.id, collective.c.code, member.c.id, member.c.code)
        .join(collective, collective.c.id == TaskUnit.unit_id)
        .outerjoin(UnitMember, UnitMember.collective_id == collective.c.id)
        .outerjoin(member, member.c.id == UnitMember.member_id)
        .where(collective.c.program_id == bindparam("program_id"))
        .order_by(TaskUnit.task_id, TaskUnit.role.desc(), TaskUnit.position)
    )
    if phased:
        query = query.join(Task, Task.id == TaskUnit.task_id).where(
            Task.phase_kind.in_(bindparam("phases", expanding=True)))
    return query.where(TaskUnit.task_id.in_(bindparam("ids", expanding=True))) if by_ids else query


class Recipients:
    """Who answers for each task (of `task_ids` only, when given): its lead and co-units, a collective
    standing for its members."""

    @bulk_read()
    def __init__(self, session: Session, program_id: str, task_phases: set[str] | None = None,
                 task_ids: list[int] | None = None) -> None:
        query = _recipients_query(task_phases is not None, task_ids is not None)
        params = {"program_id": program_id, "phases": sorted(task_phases or ())}
        if task_ids is None:
            rows = core(session, query, params).all()
        else:
            wanted = sorted(set(task_ids))
            rows = [row for start in range(0, len(wanted), 5000)
                    for row in core(session, query, {**params, "ids": wanted[start:start + 5000]})]
        self.by_task: dict[int, list[Recipient]] = defaultdict(list)
        seen: set[tuple[int, int]] = set()  # (task, unit): a unit answers once per task, in its first role
        for task_id, role, _position, unit_id, code, member_id, member_code in rows:
            if member_id:
                unit_id, code = member_id, member_code
            if (task_id, unit_id) not in seen:
                seen.add((task_id, unit_id))
                self.by_task[task_id].append(Recipient(unit_id, code, role))

    def of(self, task_id: int, role: str | None = None) -> list[Recipient]:
        return [r for r in self.by_task.get(task_id, []) if role is None or r.role == role]
