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

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from db.bulk import flush_pending
from db.events import record_event
from db.models import CoordinatorDecision, ExtensionRequest, Phase, Task, TaskInstance, Unit
from db.programs import InvalidInput, NotFound, ProgramContext
from db.tasks import assignments, collectives_of, current_instances
from schedule import clean_optional, clean_text, text


def program_end(session: Session, program_id: str) -> date | None:
    return session.scalar(select(func.max(Phase.end)).where(Phase.program_id == program_id))


def request_extension(session: Session, ctx: ProgramContext, code: str, unit_code: str, to: date, reason: str,
                      at: datetime, actor: str = "cli") -> dict:
    today, language = ctx.local_date(at), ctx.language
    reason = clean_text(reason)  # a unit's own text: no control character reaches a workbook or a mail
    task = session.scalar(select(Task).where(Task.program_id == ctx.id, Task.code == code))
    if task is None or not task.active:
        raise NotFound(f"CODE {code}: " + text(language, "error.task_missing", program=ctx.id, code=code))
    unit = session.scalar(select(Unit).where(Unit.program_id == ctx.id, Unit.code == unit_code))
    if unit is None:
        raise NotFound(f"--unit {unit_code}: "
                       + text(language, "error.unit_missing", program=ctx.id, unit=unit_code))
    on_task = assignments(session, ctx.id, task.id)[task.id]
    responsible = set(on_task["lead"] + on_task["co"])
    if not ({unit_code} | collectives_of(session, ctx.id).get(unit_code, set())) & responsible:
        said = text(language, "extension.not_responsible", unit=unit.name, code=code,
                    responsible=", ".join(sorted(responsible)))
        raise InvalidInput(f"--unit {unit_code}: {said}")
    ranked = current_instances(ctx.id)
    instance = session.get(TaskInstance, session.scalar(select(ranked.c.id).where(ranked.c.task_id == task.id,
                                                                                  ranked.c.rank == 1)))
    if instance.due is None:
        raise InvalidInput(f"CODE {code}: " + text(language, "extension.undated",
                                                   limit=task.time_limit_text or task.recurrence or "—"))
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
    if not reason or not reason.strip():
        raise InvalidInput("--reason: " + text(language, "extension.no_reason"))
    pending = session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.instance_id == instance.id,
                                                               ExtensionRequest.state == "pending"))
    if pending is not None:
        raise InvalidInput(f"CODE {code}: " + text(language, "extension.pending", id=pending))
    request = ExtensionRequest(program_id=ctx.id, task_id=task.id, instance_id=instance.id, unit_id=unit.id,
                               from_due=instance.due, to_due=to, original_due=instance.original_due,
                               reason=reason.strip(), progress=instance.progress, state="pending",
                               requested_at=at, requested_by=actor)
    session.add(request)
    session.flush()
    record_event(
        session,
        ctx.id,
        at,
        "extension.requested",
        f"task:{code}",
        actor,
        {
            "request": request.id, "unit": unit_code, "from": instance.due.isoformat(),
            "to": to.isoformat(), "reason": request.reason},
    )
    return _as_dict(request, task.code, unit.code)


def _request(session: Session, ctx: ProgramContext, request_id: int) -> ExtensionRequest:
    request = session.get(ExtensionRequest, request_id)
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
    instance = session.get(TaskInstance, request.instance_id)
    if instance.status == "done":
        raise InvalidInput(f"ID {request_id}: " + text(ctx.language, "extension.done_reject",
                                                       done_on=instance.done_on))
    previous = instance.due
    instance.due = request.to_due
    return _decide(
        session, ctx, request, True, actor, at, note, source,
        {"previous_due": previous.isoformat() if previous else None})


def reject_extension(session: Session, ctx: ProgramContext, request_id: int, actor: str, at: datetime,
                     note: str | None = None, source: str = "cli") -> dict:
    return _decide(session, ctx, _request(session, ctx, request_id), False, actor, at, note, source, {})


# The brief's short names.
approve = approve_extension
reject = reject_extension


def _decide(session: Session, ctx: ProgramContext, request: ExtensionRequest, approved: bool, actor: str,
            at: datetime, note: str | None, source: str, extra: dict) -> dict:
    request.state = "approved" if approved else "rejected"
    note = clean_optional(note)
    request.decided_at, request.decided_on, request.decided_by, request.decision_note = (
        at, ctx.local_date(at), actor, note)
    session.add(
        CoordinatorDecision(
            program_id=ctx.id, kind="extension", subject=f"extension:{request.id}", approve=approved,
            decided_by=actor, decided_at=at, note=note, source=source)
    )
    task = session.get(Task, request.task_id)
    unit = session.get(Unit, request.unit_id)
    record_event(session, ctx.id, at, f"extension.{request.state}", f"task:{task.code}", actor,
                 {"request": request.id, "unit": unit.code, "from": request.from_due.isoformat(),
                  "to": request.to_due.isoformat(), "note": note, **extra})
    session.flush()
    return _as_dict(request, task.code, unit.code)


def _as_dict(request: ExtensionRequest | Row, code: str, unit_code: str) -> dict:
    return {
        "id": request.id, "program": request.program_id, "code": code, "unit": unit_code,
        "from": request.from_due.isoformat(), "to": request.to_due.isoformat(),
        "original_due": request.original_due.isoformat() if request.original_due else None,
        "reason": request.reason, "progress": request.progress, "state": request.state,
        "requested_at": request.requested_at.isoformat(), "requested_by": request.requested_by,
        "decided_on": request.decided_on.isoformat() if request.decided_on else None,
        "decided_by": request.decided_by, "note": request.decision_note}


# Built once on the tables (Core): the bulletin lists the extensions each week.
_REQUESTS, _TASKS, _UNITS = ExtensionRequest.__table__, Task.__table__, Unit.__table__
_LISTED = (select(_REQUESTS, _TASKS.c.code.label("task_code"), _UNITS.c.code.label("unit_code"))
           .join(_TASKS, _TASKS.c.id == _REQUESTS.c.task_id).join(_UNITS, _UNITS.c.id == _REQUESTS.c.unit_id)
           .where(_REQUESTS.c.program_id == bindparam("program")).order_by(_REQUESTS.c.id))
_LISTED_IN_STATE = _LISTED.where(_REQUESTS.c.state == bindparam("state"))


def list_extensions(session: Session, ctx: ProgramContext, state: str | None = None) -> list[dict]:
    flush_pending(session)  # a Core read does not flush
    query = _LISTED if state is None else _LISTED_IN_STATE
    return [_as_dict(row, row.task_code, row.unit_code)
            for row in session.execute(query, {"program": ctx.id, "state": state})]
