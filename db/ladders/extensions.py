"""Extension notices: a pending request to the coordinator, the decision to the requesting unit.

`extension_requested:P:ext7:coordinator`, `extension_decided:P:ext7:UNIT:approved`; `task_code` is the task's.
"""

from __future__ import annotations

from sqlalchemy import String, case, cast, exists, select
from sqlalchemy.orm import Session

from db.bulk import core
from db.models import ExtensionRequest, Notice, Task, Unit
from db.notices import PROGRAM, Candidate, notice_key, sql_key, sql_text
from db.programs import ProgramContext
from schedule import text

# Each request's notice key as _requested and _decided spell it (notice_key), so that the requests whose
# notice is held already, nearly all of them every day, are not read again.
_NAMED = sql_text("ext") + cast(ExtensionRequest.id, String)
_KEY = case(
    (ExtensionRequest.state == "pending", sql_key("extension_requested", PROGRAM, _NAMED, "coordinator")),
    else_=sql_key("extension_decided", PROGRAM, _NAMED, Unit.code, ExtensionRequest.state))
_REQUESTS = (
    select(ExtensionRequest.id, ExtensionRequest.from_due, ExtensionRequest.to_due, ExtensionRequest.reason,
           ExtensionRequest.state, ExtensionRequest.unit_id, ExtensionRequest.decision_note,
           ExtensionRequest.decided_by, Unit.code.label("unit_code"), Task.code.label("task_code"))
    .join(Unit, Unit.id == ExtensionRequest.unit_id).join(Task, Task.id == ExtensionRequest.task_id)
    .where(ExtensionRequest.program_id == PROGRAM, ~exists().where(Notice.key == _KEY))
    .order_by(ExtensionRequest.id)
)


def extension_candidates(session: Session, ctx: ProgramContext) -> list[Candidate]:
    rows = [(request, request.unit_code, request.task_code)  # its columns, named as the request's
            for request in core(session, _REQUESTS, {"program_id": ctx.id}).all()]
    coordinator = ctx.program.coordinator_unit_id
    candidates = []
    for request, code, task_code in rows:
        base = {"request": request.id, "task": task_code, "unit": code, "from": request.from_due.isoformat(),
                "to": request.to_due.isoformat(), "reason": request.reason, "state": request.state}
        if request.state != "pending":
            candidates.append(_decided(ctx, request, code, task_code, base))
        elif coordinator is not None:
            candidates.append(_requested(ctx, request, code, task_code, base, coordinator))
    return candidates


def _requested(ctx: ProgramContext, request: ExtensionRequest, code: str, task_code: str, base: dict,
               coordinator: int) -> Candidate:
    language = ctx.language
    title = text(language, "ladder.extension_title", id=request.id, task=task_code, unit=code)
    note = text(language, "ladder.extension_note", from_due=request.from_due, to_due=request.to_due,
                reason=request.reason, program=ctx.id, id=request.id)
    return Candidate(notice_key("extension_requested", ctx.id, f"ext{request.id}", "coordinator"),
                     "extension_requested", coordinator, task_code=task_code, due=request.from_due,
                     data={**base, "title": title, "note": note})


def _decided(
    ctx: ProgramContext, request: ExtensionRequest, code: str, task_code: str, base: dict
) -> Candidate:
    language = ctx.language
    approved = request.state == "approved"
    verdict = text(language, "ladder.extension_approved" if approved else "ladder.extension_rejected")
    due = request.to_due if approved else request.from_due
    note = text(language, "ladder.extension_due", due=due)
    if request.decision_note:
        note += text(language, "ladder.extension_decision_note", note=request.decision_note)
    return Candidate(notice_key("extension_decided", ctx.id, f"ext{request.id}", code, request.state),
                     "extension_decided", request.unit_id, task_code=task_code, due=due,
                     data={**base, "decided_by": request.decided_by, "decision_note": request.decision_note,
                           "title": text(language, "ladder.extension_decided_title", id=request.id,
                                         task=task_code, verdict=verdict),
                           "note": note})
