"""交办 and 签收: each unit on a task acknowledges its 交办 once; a 交办 not acknowledged within
`reminders.ack_within_workdays` workdays of being sent is chased as its own notice kind, `ack_missing`
(key `ack_missing:P:INSTANCE:UNIT:SLOT`), every overdue_every_workdays after that, until it is acknowledged.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Date, Integer, Select, String, and_, bindparam, cast, exists, insert, literal, select
from sqlalchemy.orm import Session

from db.bulk import core, one_of
from db.events import record_event
from db.models import AssignmentAck, Notice, Task, TaskInstance, Unit
from db.notices import PROGRAM, SELECTED, Selected, json_rows, sql_json, sql_key, sql_rows, sql_text
from db.programs import NotFound, ProgramContext
from db.tasks import role_of
from schedule import ack_slot, text

if TYPE_CHECKING:
    from db.ladders import OpenInstances  # the type only: db.ladders imports this module (SENT_MOMENTS)

SENT = ("sent", "delivered")


def _ack_lookup() -> Select:
    """acknowledge()'s one read, built once (db.programs on why): the unit by its code, with the 交办's active
    task, the unit's role on it and an earlier 签收 (NULL where there is none)."""
    task_id = select(Task.id).where(Task.program_id == bindparam("program"), Task.code == bindparam("code"),
                                    Task.active.is_(True)).scalar_subquery()
    acked_on = select(AssignmentAck.acked_on).where(AssignmentAck.task_id == task_id,
                                                    AssignmentAck.unit_id == Unit.id).scalar_subquery()
    return select(Unit.id, Unit.name, task_id, role_of(task_id, Unit.id), acked_on).where(
        Unit.program_id == bindparam("program"), Unit.code == bindparam("unit_code"))


_ACK_LOOKUP = _ack_lookup()
_ACK_INSERT = insert(AssignmentAck.__table__)


def acknowledge(session: Session, ctx: ProgramContext, code: str, unit_code: str, at: datetime,
                actor: str) -> dict:
    """签收 the 交办 of task `code`; a second 签收 changes nothing and says when the first was."""
    found = core(session, _ACK_LOOKUP, {"program": ctx.id, "code": code, "unit_code": unit_code}).first()
    if found is None or found[2] is None:
        raise NotFound(text(ctx.language, "error.ack_unknown", program=ctx.id, code=code, unit=unit_code))
    unit_id, name, task_id, role, acked_on = found
    if role is None:
        raise NotFound(text(ctx.language, "error.ack_not_theirs", code=code, unit=name))
    if acked_on is not None:
        return {"code": code, "unit": unit_code, "acked_on": acked_on.isoformat(), "new": False}
    acked_on = ctx.local_date(at)
    # The event first: it refuses an archived program's 签收 before anything is written (db.events).
    record_event(session, ctx.id, at, "assignment.acknowledged", f"task:{code}", actor, {"unit": unit_code})
    # One Core insert on the session's connection: nothing reads the row back as an object, and 签收 is not a
    # write the check's marks count (db.models.marks), so the ORM's flush per 签收 buys nothing.
    session.connection().execute(_ACK_INSERT, {"program_id": ctx.id, "task_id": task_id, "unit_id": unit_id,
                                               "acked_at": at, "acked_on": acked_on, "actor": actor})
    return {"code": code, "unit": unit_code, "acked_on": acked_on.isoformat(), "new": True}


def acked_codes(session: Session, ctx: ProgramContext, unit_id: int) -> dict[str, str]:
    """task code → the day (ISO) the unit acknowledged its 交办."""
    return {code: on.isoformat() for code, on in session.execute(
        select(Task.code, AssignmentAck.acked_on).join(Task, Task.id == AssignmentAck.task_id)
        .where(AssignmentAck.program_id == ctx.id, AssignmentAck.unit_id == unit_id))}


def unacknowledged(session: Session, ctx: ProgramContext) -> list[tuple[int, int, str, date]]:
    """Sent 交办 without a 签收: (instance id, unit id, task code, sent on), in one query."""
    rows = session.execute(_UNACKNOWLEDGED, {"program_id": ctx.id}).all()
    return [
        (instance_id, unit_id, code, ctx.local_date(sent_at))
        for instance_id, unit_id, code, sent_at in rows
        if sent_at is not None
    ]


def ack_candidates(session: Session, ctx: ProgramContext, today: date, since: date | None,
                   found: OpenInstances) -> list[Selected]:
    """ack_missing notices due today (nothing on non-workdays, like every rung), chosen in SQL: the chase is
    asked once per moment a 交办 went out, never once per 交办. `since`: the last day everything due was
    claimed, nothing having changed since (db.marks): only the moments whose slot moved since then (none the
    same day; a 交办 sent since then had no slot then). `found`: the program's instances as the check reads
    them for today, and with them those moments (db.ladders.OpenInstances)."""
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today) or since == today:
        return []
    policy = ctx.policies.reminders
    within = policy.ack_within_workdays

    def slot_on(day: date, sent_on: date) -> int | None:
        return ack_slot(day, sent_on, within, policy.overdue_every_workdays, calendar)

    rungs = []
    for sent_at in found.sent:
        sent_on = ctx.local_date(sent_at)
        slot = slot_on(today, sent_on)
        if slot is not None and (since is None or slot_on(since, sent_on) != slot):
            # The slot is in the text: each chase is its own line to the unit, never a repeat of the last.
            note = text(ctx.language, "ladder.ack_missing", assigned_on=sent_on, within=within, slot=slot)
            rungs.append((sent_at, slot, sent_on.isoformat(), note))
    if not rungs:
        return []
    params = {"program_id": ctx.id, "rungs": json_rows(session, _ACK_RUNGS, rungs)}
    return [Selected("ack_missing", _ack_query(session.get_bind().dialect.name), params)]


_ACK_RUNGS = {"sent_at": Notice.sent_at.type, "slot": Integer(), "assigned_on": String(), "note": String()}


@cache
def _ack_query(dialect: str) -> Select:
    """The ack_missing notices of the moments on `rungs` (a parameter), built once per database."""
    table = sql_rows(dialect, "rungs", _ACK_RUNGS)
    key = sql_key("ack_missing", PROGRAM, Notice.instance_id, Unit.code, table.c.slot)
    data = sql_json(dialect, {"slot": table.c.slot, "assigned_on": table.c.assigned_on, "note": table.c.note})
    columns = (key, sql_text("ack_missing"), Notice.unit_id, sql_text("unit"), Notice.instance_id, Task.code,
               cast(literal(None), Date), cast(literal(None), Integer), data)
    return (select(*(c.label(name) for c, name in zip(columns, SELECTED, strict=True)))
            .select_from(table).join(Notice, Notice.sent_at == table.c.sent_at)
            .join(Unit, Unit.id == Notice.unit_id).join(TaskInstance, TaskInstance.id == Notice.instance_id)
            .join(Task, Task.id == TaskInstance.task_id)
            .where(*_sent_assignments(PROGRAM), Task.active.is_(True), ~_acknowledged(), ~exists().where(
                Notice.__table__.alias("held").c.key == key)))


def _sent_assignments(program_id) -> tuple:
    return (Notice.program_id == program_id, Notice.kind == "assignment", one_of(Notice.state, SENT),
            Notice.sent_at.is_not(None))


def _acknowledged():
    return exists().where(and_(AssignmentAck.task_id == TaskInstance.task_id,
                               AssignmentAck.unit_id == Notice.unit_id))


# The moments a 交办 still unacknowledged went out: a moment whose 交办 are all acknowledged has no chase.
# Read from the program's instances, each one's 交办 found by (instance, kind): by the notices' (program,
# state) index it read every notice ever sent to find the few 交办 among them, every workday. The check reads
# them with its open instances (db.ladders.OpenInstances), in the same statement.
SENT_MOMENTS = (select(Notice.sent_at).distinct().select_from(TaskInstance)
            .join(Task, Task.id == TaskInstance.task_id)
            .join(Notice, and_(Notice.instance_id == TaskInstance.id, Notice.kind == "assignment"))
            .where(TaskInstance.program_id == PROGRAM, Task.active.is_(True), one_of(Notice.state, SENT),
                   Notice.sent_at.is_not(None), ~_acknowledged()))


# unacknowledged(), built once: the replay's units ask it on most workdays, the portal on every unit page.
_UNACKNOWLEDGED = (
    select(Notice.instance_id, Notice.unit_id, Task.code, Notice.sent_at)
    .join(TaskInstance, TaskInstance.id == Notice.instance_id)
    .join(Task, Task.id == TaskInstance.task_id)
    .where(*_sent_assignments(bindparam("program_id")), Task.active.is_(True), ~_acknowledged())
    .order_by(Notice.id)
)


def ack_counts(session: Session, ctx: ProgramContext) -> dict[int, dict[str, int]]:
    """unit id → {"acked": n, "open": n}: acknowledged and still unacknowledged 交办 (sent ones)."""
    counts: dict[int, dict[str, int]] = {}
    for unit_id, in session.execute(select(AssignmentAck.unit_id).where(AssignmentAck.program_id == ctx.id)):
        counts.setdefault(unit_id, {"acked": 0, "open": 0})["acked"] += 1
    for _instance, unit_id, _code, _sent in unacknowledged(session, ctx):
        counts.setdefault(unit_id, {"acked": 0, "open": 0})["open"] += 1
    return counts
