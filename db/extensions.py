"""延期申请: a unit on a task asks, before the due date, to move it; the coordinator approves or rejects.

On approval the task's current instance gets the new `due` (its `original_due` keeps the 分工表's date), so
the light follows at once, and every reminder follows too: the ladder's notice keys carry the due date, so
the before-due and overdue rungs re-arm for the new date and nothing is chased for the old one. The request
row keeps both dates (from_due → to_due) and the event log who decided what when.

Refused with nothing changed (InvalidInput, the message names the option concerned): an unknown task or
unit, a unit not on the task, a task without a due date or already done, a request after the due date has
passed, a new date before today, not later than the current due date, or after the program's last day, an
empty reason, a second pending request for the same task.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Row, bindparam, func, insert, select
from sqlalchemy.orm import Session

from db.bulk import core, flush_pending, update_row
from db.events import record_event
from db.models import CoordinatorDecision, ExtensionRequest, Phase, Task, TaskInstance, Unit
from db.programs import InvalidInput, NotFound, ProgramContext
from db.readonly import refuse_archived_write
from db.tasks import assignments, current_instance_query, set_instance, task_and_unit
from schedule import clean_optional, clean_text, text

# Built once on the tables (Core; db.programs on why): a request's checks and the decision read these.
_REQUESTS, _TASKS, _UNITS, _INSTANCES = (ExtensionRequest.__table__, Task.__table__, Unit.__table__,
                                         TaskInstance.__table__)
_END = select(func.max(Phase.__table__.c.end)).where(Phase.__table__.c.program_id == bindparam("program"))
# The task's current instance as the program's ranking has it (current_instances: retired ones left out).
_CURRENT = current_instance_query(core=True)
_PENDING = select(_REQUESTS.c.id).where(_REQUESTS.c.instance_id == bindparam("instance_id"),
                                        _REQUESTS.c.state == "pending")
_REQUEST_INSERT = insert(_REQUESTS).returning(_REQUESTS.c.id)
# A request with its task's and unit's codes and its instance's state, for the decision: one read.
_DECIDED = (select(_REQUESTS, _TASKS.c.code.label("task_code"), _UNITS.c.code.label("unit_code"),
                   _INSTANCES.c.status.label("instance_status"), _INSTANCES.c.done_on.label("done_on"))
            .join(_TASKS, _TASKS.c.id == _REQUESTS.c.task_id).join(_UNITS, _UNITS.c.id == _REQUESTS.c.unit_id)
            .join(_INSTANCES, _INSTANCES.c.id == _REQUESTS.c.instance_id)
            .where(_REQUESTS.c.id == bindparam("request")))
_DECISION_INSERT = insert(CoordinatorDecision.__table__)


def program_end(session: Session, program_id: str) -> date | None:
    return core(session, _END, {"program": program_id}).scalar()


def request_extension(session: Session, ctx: ProgramContext, code: str, unit_code: str, to: date, reason: str,
                      at: datetime, actor: str = "cli") -> dict:
    today, language = ctx.local_date(at), ctx.language
    reason = clean_text(reason)  # a unit's own text: no control character reaches a workbook or a mail
    try:
        task = task_and_unit(session, ctx, code, unit_code)
    except (NotFound, InvalidInput):  # unknown or retired: not a task one can ask about
        raise NotFound(f"CODE {code}: " + text(language, "error.task_missing", program=ctx.id, code=code)) \
            from None
    if task.unit_id is None:
        raise NotFound(f"--unit {unit_code}: "
                       + text(language, "error.unit_missing", program=ctx.id, unit=unit_code))
    if task.role is None:
        on_task = assignments(session, ctx.id, task.id)[task.id]
        said = text(language, "extension.not_responsible", unit=task.unit_name, code=code,
                    responsible=", ".join(sorted(set(on_task["lead"] + on_task["co"]))))
        raise InvalidInput(f"--unit {unit_code}: {said}")
    instance = core(session, _CURRENT, {"task_id": task.id}).one()
    _refuse_dates(session, ctx, code, task, instance, to, today)
    if not reason or not reason.strip():
        raise InvalidInput("--reason: " + text(language, "extension.no_reason"))
    pending = core(session, _PENDING, {"instance_id": instance.id}).scalar()
    if pending is not None:
        raise InvalidInput(f"CODE {code}: " + text(language, "extension.pending", id=pending))
    refuse_archived_write(session, ctx.id)  # before anything is written: the statements below are Core
    request = {"program_id": ctx.id, "task_id": task.id, "instance_id": instance.id,
               "unit_id": task.unit_id, "from_due": instance.due, "to_due": to,
               "original_due": instance.original_due, "reason": reason.strip(), "progress": instance.progress,
               "state": "pending", "requested_at": at, "requested_by": actor}
    # On the session, named for the program: a request is what the check's marks count (db.models.marks).
    request["id"] = session.execute(_REQUEST_INSERT, request,
                                    execution_options={"program": ctx.id}).scalar_one()
    record_event(session, ctx.id, at, "extension.requested", f"task:{code}", actor,
                 {"request": request["id"], "unit": unit_code, "from": instance.due.isoformat(),
                  "to": to.isoformat(), "reason": request["reason"]})
    return _as_dict({**request, "decided_on": None, "decided_by": None, "decision_note": None}, task.code,
                    unit_code)


def _refuse_dates(session: Session, ctx: ProgramContext, code: str, task: Row, instance: Row, to: date,
                  today: date) -> None:
    """A request's dates against the instance's and the program's."""
    language = ctx.language
    if instance.due is None:
        limit = core(session, select(_TASKS.c.time_limit_text, _TASKS.c.recurrence)
                     .where(_TASKS.c.id == task.id)).one()
        said = text(language, "extension.undated", limit=limit[0] or limit[1] or "—")
        raise InvalidInput(f"CODE {code}: {said}")
    if instance.status == "done":
        raise InvalidInput(f"CODE {code}: " + text(language, "extension.done", done_on=instance.done_on))
    if today > instance.due:
        raise InvalidInput(f"CODE {code}: " + text(language, "extension.past", due=instance.due, today=today))
    if to < today:
        raise InvalidInput(f"--to {to}: " + text(language, "extension.before_today", today=today))
    if to <= instance.due:
        raise InvalidInput(f"--to {to}: " + text(language, "extension.not_later", due=instance.due))
    end = program_end(session, ctx.id)
    if end is not None and to > end:
        raise InvalidInput(f"--to {to}: " + text(language, "extension.after_end", end=end))


def _request(session: Session, ctx: ProgramContext, request_id: int) -> Row:
    request = core(session, _DECIDED, {"request": request_id}).first()
    if request is None or request.program_id != ctx.id:
        raise NotFound(f"ID {request_id}: " + text(ctx.language, "extension.missing", program=ctx.id,
                                                   id=request_id))
    if request.state != "pending":
        raise InvalidInput(f"ID {request_id}: " + text(ctx.language, f"extension.already_{request.state}",
                                                       id=request_id, by=request.decided_by,
                                                       on=request.decided_on))
    return request


def approve_extension(session: Session, ctx: ProgramContext, request_id: int, actor: str, at: datetime,
                      note: str | None = None, source: str = "cli") -> dict:
    request = _request(session, ctx, request_id)
    if request.instance_status == "done":
        raise InvalidInput(f"ID {request_id}: " + text(ctx.language, "extension.done_reject",
                                                       done_on=request.done_on))
    current = core(session, select(_INSTANCES.c.due).where(_INSTANCES.c.id == request.instance_id)).scalar()
    set_instance(session, ctx, request.instance_id, due=request.to_due)
    return _decide(
        session, ctx, request, True, actor, at, note, source,
        {"previous_due": current.isoformat() if current else None})


def reject_extension(session: Session, ctx: ProgramContext, request_id: int, actor: str, at: datetime,
                     note: str | None = None, source: str = "cli") -> dict:
    return _decide(session, ctx, _request(session, ctx, request_id), False, actor, at, note, source, {})


# The brief's short names.
approve = approve_extension
reject = reject_extension


def _decide(session: Session, ctx: ProgramContext, request: Row, approved: bool, actor: str,
            at: datetime, note: str | None, source: str, extra: dict) -> dict:
    """The request decided, as Core statements on the session (db.bulk.update_row on why)."""
    refuse_archived_write(session, ctx.id)  # before anything is written
    note = clean_optional(note)
    decided = {"state": "approved" if approved else "rejected", "decided_at": at,
               "decided_on": ctx.local_date(at), "decided_by": actor, "decision_note": note}
    update_row(session, ExtensionRequest, request.id, ctx.id, **decided)
    session.connection().execute(_DECISION_INSERT, {
        "program_id": ctx.id, "kind": "extension", "subject": f"extension:{request.id}", "approve": approved,
        "decided_by": actor, "decided_at": at, "note": note, "source": source})
    record_event(session, ctx.id, at, f"extension.{decided['state']}", f"task:{request.task_code}", actor,
                 {"request": request.id, "unit": request.unit_code, "from": request.from_due.isoformat(),
                  "to": request.to_due.isoformat(), "note": note, **extra})
    return _as_dict({**request._mapping, **decided}, request.task_code, request.unit_code)


def _as_dict(request, code: str, unit_code: str) -> dict:
    """`request`: the request's columns by name (a row's mapping, or the values written)."""
    return {
        "id": request["id"], "program": request["program_id"], "code": code, "unit": unit_code,
        "from": request["from_due"].isoformat(), "to": request["to_due"].isoformat(),
        "original_due": request["original_due"].isoformat() if request["original_due"] else None,
        "reason": request["reason"], "progress": request["progress"], "state": request["state"],
        "requested_at": request["requested_at"].isoformat(), "requested_by": request["requested_by"],
        "decided_on": request["decided_on"].isoformat() if request["decided_on"] else None,
        "decided_by": request["decided_by"], "note": request["decision_note"]}


# Built once on the tables (Core): the bulletin lists the extensions each week.
_LISTED = (select(_REQUESTS, _TASKS.c.code.label("task_code"), _UNITS.c.code.label("unit_code"))
           .join(_TASKS, _TASKS.c.id == _REQUESTS.c.task_id).join(_UNITS, _UNITS.c.id == _REQUESTS.c.unit_id)
           .where(_REQUESTS.c.program_id == bindparam("program")).order_by(_REQUESTS.c.id))
_LISTED_IN_STATE = _LISTED.where(_REQUESTS.c.state == bindparam("state"))


def list_extensions(session: Session, ctx: ProgramContext, state: str | None = None) -> list[dict]:
    flush_pending(session)  # a Core read does not flush
    query = _LISTED if state is None else _LISTED_IN_STATE
    return [_as_dict(row._mapping, row.task_code, row.unit_code)
            for row in session.execute(query, {"program": ctx.id, "state": state})]
