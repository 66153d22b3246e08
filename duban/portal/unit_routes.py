"""A unit's pages under its personal link `/u/{token}`: its tasks (lead and co-unit apart), 签收, 反馈 with
evidence, 申请办结, 延期申请, the self-check form and the returned 报送表, its 整改事项 (补差提升: progress,
原因分析 and 整改措施, closed with evidence), and its own history.

GET only reads. Every POST carries the session's CSRF token and a one-time form id (a double submit records
once), and acts only on the link's own unit and program: another unit's task is a 404 like an unknown one.
"""

from __future__ import annotations

import secrets
from datetime import date

from fastapi import APIRouter
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from db import (
    Event,
    ExtensionRequest,
    InvalidInput,
    LinkHolder,
    NotFound,
    ProgressReport,
    SelfCheckReturn,
    Task,
    acked_codes,
    acknowledge,
    check_report,
    claims,
    collectives_of,
    first_submission,
    import_reports,
    list_items,
    report_item,
    request_extension,
    store,
    submit_report,
    task_rows,
)
from duban.portal.app import form_of, in_program, portal_of, unit_of
from duban.portal.texts import texts_for
from notifications import import_forms, read_report_form
from schedule import MAX_EVIDENCE_BYTES, clean_entry, content_refusal, text, upload_refusal

router = APIRouter()
MAX_FILES = 10
MAX_BODY = MAX_FILES * MAX_EVIDENCE_BYTES + 1024 * 1024
PAGE_LIMIT = 2000  # rows on one page; a unit with more is told how many are not shown


class Refusal(Exception):
    """A request refused with a status and a message for the unit."""

    def __init__(self, status: int, text: str, language: str = "zh-CN") -> None:
        super().__init__(text)
        self.status, self.text, self.language = status, text, language


def _form_id() -> str:
    return secrets.token_urlsafe(12)


def _unit_rows(session, ctx, holder: LinkHolder, today: date, code: str | None = None) -> list[dict]:
    rows = task_rows(session, ctx, today, holder.unit_code, code=code)
    answering = {holder.unit_code} | collectives_of(session, ctx.id).get(holder.unit_code, set())
    for row in rows:
        row["role"] = "lead" if answering & set(row["lead"]) else "co"
    return rows


def _page_values(session, ctx, holder: LinkHolder, today: date) -> dict:
    rows = _unit_rows(session, ctx, holder, today)
    acked = acked_codes(session, ctx, holder.unit_id)
    latest: dict[str, dict] = {}
    for claim in claims(session, ctx, unit_id=holder.unit_id):
        latest[claim["code"]] = claim
    for row in rows:
        row["acked_on"] = acked.get(row["code"])
        row["claim"] = latest.get(row["code"])
        row["form_id"] = _form_id()
    shown = rows[:PAGE_LIMIT]
    return {
        "unit_name": holder.unit_name,
        "program_name": ctx.program.name,
        "today": today.isoformat(),
        "lead_rows": [r for r in shown if r["role"] == "lead"],
        "co_rows": [r for r in shown if r["role"] == "co"],
        "hidden": len(rows) - len(shown),
        "items": list_items(session, ctx, today, holder.unit_code),
        "expires": holder.expires_at.astimezone(ctx.zone).date().isoformat(),
        "form_ids": {"selfcheck": _form_id(), "import": _form_id()},
    }


async def _unit_page(request: Request, token: str, template: str, build) -> Response:
    """The shape of every unit GET: the link, then `build(session, ctx, holder, today)` in one transaction,
    rendered with the link's token and the outcome of the last POST."""
    holder, refusal = await unit_of(request, token)
    if refusal:
        return refusal
    portal = portal_of(request)
    try:
        language, values = await in_program(
            request, holder.program_id,
            lambda session, ctx: build(session, ctx, holder, ctx.local_date(portal.now())),
        )
    except Refusal as exc:
        return portal.message(request, exc.language, portal.session(request), exc.status, exc.text)
    done = request.query_params.get("done")
    flash = texts_for(language).get(done) if done in ("saved", "already") else None
    return portal.render(request, template, language, {**values, "token": token, "flash": flash},
                         portal.session(request))


@router.get("/u/{token}")
async def unit_page(request: Request, token: str) -> Response:
    def build(session, ctx, holder, today):
        return ctx.program.language, _page_values(session, ctx, holder, today)

    return await _unit_page(request, token, "unit.html", build)


def _task_of_unit(session, ctx, holder: LinkHolder, code: str, today: date) -> dict:
    """The task row if the link's unit answers for it; else a 404, as for a task that does not exist."""
    row = next(iter(_unit_rows(session, ctx, holder, today, code)), None)
    if row is None:
        raise Refusal(404, texts_for(ctx.language)["not_found"], ctx.language)
    return row


@router.get("/u/{token}/t/{code}")
async def task_page(request: Request, token: str, code: str) -> Response:
    def build(session, ctx, holder, today):
        row = _task_of_unit(session, ctx, holder, code, today)
        row["acked_on"] = acked_codes(session, ctx, holder.unit_id).get(code)
        history = _history(session, ctx, holder, code)
        own_claims = history["claims"]
        row["claim"] = own_claims[-1] if own_claims else None
        return ctx.program.language, {"row": row, "history": history, "unit_name": holder.unit_name,
                                      "program_name": ctx.program.name, "today": today.isoformat(),
                                      "form_ids": {"report": _form_id(), "extension": _form_id(),
                                                   "ack": _form_id()}}

    return await _unit_page(request, token, "task.html", build)


def _history(session, ctx, holder: LinkHolder, code: str | None = None) -> dict:
    query = (select(ProgressReport, Task.code).join(Task, Task.id == ProgressReport.task_id)
             .where(ProgressReport.program_id == ctx.id, ProgressReport.unit_id == holder.unit_id)
             .order_by(ProgressReport.id.desc()))
    extensions = (select(ExtensionRequest, Task.code).join(Task, Task.id == ExtensionRequest.task_id)
                  .where(ExtensionRequest.program_id == ctx.id, ExtensionRequest.unit_id == holder.unit_id)
                  .order_by(ExtensionRequest.id.desc()))
    if code is not None:
        query, extensions = query.where(Task.code == code), extensions.where(Task.code == code)
    reports = [
        {
            "code": c,
            "at": r.reported_at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M"),
            "status": r.status,
            "progress": r.progress,
            "note": r.note,
            "files": [f.rsplit("/", 1)[-1] for f in r.evidence or []],
        }
        for r, c in session.execute(query.limit(500))
    ]
    own = [c for c in claims(session, ctx, unit_id=holder.unit_id) if code is None or c["code"] == code]
    requests = [
        {
            "id": e.id,
            "code": c,
            "from": e.from_due.isoformat(),
            "to": e.to_due.isoformat(),
            "reason": e.reason,
            "state": e.state,
            "note": e.decision_note,
            "decided_on": e.decided_on.isoformat() if e.decided_on else None,
        }
        for e, c in session.execute(extensions)
    ]
    return {"reports": reports, "claims": own, "extensions": requests}


@router.get("/u/{token}/history")
async def history_page(request: Request, token: str) -> Response:
    def build(session, ctx, holder, today):
        returned = session.scalar(
            select(SelfCheckReturn).where(
                SelfCheckReturn.program_id == ctx.id, SelfCheckReturn.unit_id == holder.unit_id
            )
        )
        return ctx.program.language, {
            "history": _history(session, ctx, holder), "unit_name": holder.unit_name,
            "program_name": ctx.program.name,
            "selfcheck": returned.returned_on.isoformat() if returned else None,
            "acks": sorted(acked_codes(session, ctx, holder.unit_id).items())}

    return await _unit_page(request, token, "history.html", build)


async def _act(request: Request, token: str, work, back: str, max_bytes: int = 64 * 1024) -> Response:
    """The shape of every unit POST: the link, the form and its CSRF token, then `work(session, ctx, holder,
    form, today)` in one transaction together with the form id, so a refused or repeated form records
    nothing."""
    holder, refusal = await unit_of(request, token)
    if refusal:
        return refusal
    form, refusal = await form_of(request, max_bytes)
    if refusal:
        return refusal
    portal = portal_of(request)
    uploads = [(f.filename or "file", await f.read(MAX_EVIDENCE_BYTES + 1))
               for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]

    seen = {"language": "zh-CN"}  # the program's, once known: refusals are told in it

    def run(session, ctx):
        seen["language"] = ctx.language
        now = portal.now()
        form_id = str(form.get("form_id") or "")
        if not form_id:
            raise Refusal(400, "missing form id")
        if not first_submission(session, form_id, ctx.id, now):
            return "already"
        work(session, ctx, holder, form, uploads, now)
        return "saved"

    try:
        outcome = await in_program(request, holder.program_id, run)
    except Refusal as exc:
        return portal.message(request, seen["language"], portal.session(request), exc.status, exc.text, back)
    except (InvalidInput, NotFound) as exc:
        return portal.refused(request, exc, back, seen["language"])
    return portal.redirect(request, f"{back}?done={outcome}", portal.session(request))


def _actor(holder: LinkHolder) -> str:
    return f"unit:{holder.unit_code}"


def _checked_uploads(ctx, uploads: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    language = ctx.language
    if len(uploads) > MAX_FILES:
        raise Refusal(413, text(language, "refusal.too_many_files", count=MAX_FILES))
    for name, content in uploads:
        refusal = upload_refusal(name, len(content), language)
        if refusal:
            raise Refusal(413 if len(content) > MAX_EVIDENCE_BYTES else 415, refusal)
        refusal = content_refusal(name, content[:8], language)
        if refusal:
            raise Refusal(415, refusal)
    return uploads


def _progress(ctx, form, default: int) -> int:
    try:
        return int(str(form.get("progress") or default).strip())
    except ValueError:
        raise Refusal(400, text(ctx.language, "refusal.progress_integer",
                                progress=clean_entry(form.get("progress"), 20))) from None


def _stored(request: Request, files: list[tuple[str, bytes]]) -> list[str]:
    """The uploads kept by their hash under the home, as evidence paths."""
    home = portal_of(request).wiring.settings.home
    return [str(home / store(home, content, name)) for name, content in files]


@router.post("/u/{token}/t/{code}/ack")
async def ack(request: Request, token: str, code: str) -> Response:
    def work(session, ctx, holder, form, uploads, now):
        _task_of_unit(session, ctx, holder, code, ctx.local_date(now))
        acknowledge(session, ctx, code, holder.unit_code, now, _actor(holder))

    back = f"/u/{token}/t/{code}" if request.query_params.get("from") == "task" else f"/u/{token}"
    return await _act(request, token, work, back)


@router.post("/u/{token}/t/{code}/report")
async def report(request: Request, token: str, code: str) -> Response:
    def work(session, ctx, holder, form, uploads, now):
        row = _task_of_unit(session, ctx, holder, code, ctx.local_date(now))
        status = "done" if form.get("action") == "claim" else str(form.get("status") or "in_progress")
        progress = _progress(ctx, form, row["progress"])
        note = clean_entry(form.get("note")) or None
        files = _checked_uploads(ctx, uploads)
        check_report(session, ctx, code, holder.unit_code, status, progress, [name for name, _ in files])
        stored = _stored(request, files)  # only once the report is known to be accepted
        submit_report(
            session, ctx, code, holder.unit_code, status, progress, note, stored, now, _actor(holder)
        )

    return await _act(request, token, work, f"/u/{token}/t/{code}", MAX_BODY)


@router.post("/u/{token}/t/{code}/extension")
async def extension(request: Request, token: str, code: str) -> Response:
    def work(session, ctx, holder, form, uploads, now):
        _task_of_unit(session, ctx, holder, code, ctx.local_date(now))
        try:
            to = date.fromisoformat(str(form.get("to") or "").strip())
        except ValueError:
            raise Refusal(400, text(ctx.language, "refusal.extension_date")) from None
        request_extension(session, ctx, code, holder.unit_code, to, clean_entry(form.get("reason")), now,
                          _actor(holder))

    return await _act(request, token, work, f"/u/{token}/t/{code}")


@router.post("/u/{token}/selfcheck")
async def selfcheck_upload(request: Request, token: str) -> Response:
    def work(session, ctx, holder, form, uploads, now):
        files = _checked_uploads(ctx, uploads)
        if len(files) != 1 or not files[0][0].lower().endswith(".xlsx"):
            raise Refusal(400, text(ctx.language, "refusal.selfcheck_file"))
        name, content = files[0]
        home = portal_of(request).wiring.settings.home
        path = home / store(home, content, name)  # the returned form is kept, like evidence
        _results, problems = import_forms(session, ctx, [path], now, holder.unit_code, _actor(holder))
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise Refusal(400, "\n".join(str(p).replace(str(path), name) for p in errors))

    return await _act(request, token, work, f"/u/{token}", MAX_EVIDENCE_BYTES + 1024 * 1024)


@router.post("/u/{token}/report-table")
async def report_table_upload(request: Request, token: str) -> Response:
    def work(session, ctx, holder, form, uploads, now):
        files = _checked_uploads(ctx, uploads)
        if not files or not all(n.lower().endswith(".xlsx") for n, _ in files):
            raise Refusal(400, text(ctx.language, "refusal.report_table_file"))
        forms = [read_report_form(content, name, ctx.language) for name, content in files]
        _results, problems = import_reports(
            session, ctx, forms, now, _actor(holder), unit_code=holder.unit_code
        )
        if problems:
            raise Refusal(400, "\n".join(str(p) for p in problems))

    return await _act(request, token, work, f"/u/{token}", MAX_BODY)


def _item_of_unit(session, ctx, holder: LinkHolder, code: str, today: date) -> dict:
    """The unit's own 整改事项; another unit's, like an unknown one, is a 404."""
    item = next((i for i in list_items(session, ctx, today, holder.unit_code) if i["code"] == code), None)
    if item is None:
        raise Refusal(404, texts_for(ctx.language)["not_found"], ctx.language)
    return item


def _item_reports(session, ctx, code: str) -> list[dict]:
    """What was reported on the item, newest first (the events its reports and its closing recorded)."""
    events = session.scalars(
        select(Event).where(Event.program_id == ctx.id, Event.subject == f"item:{code}",
                            Event.kind.in_(("remediation.reported", "remediation.closed")))
        .order_by(Event.id.desc()).limit(200))
    return [{"at": e.at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M"), "status": e.data.get("status"),
             "progress": e.data.get("progress") or 0, "note": e.data.get("note"),
             "files": [f.rsplit("/", 1)[-1] for f in e.data.get("evidence") or []]} for e in events]


@router.get("/u/{token}/r/{code}")
async def item_page(request: Request, token: str, code: str) -> Response:
    def build(session, ctx, holder, today):
        item = _item_of_unit(session, ctx, holder, code, today)
        return ctx.program.language, {"item": item, "reports": _item_reports(session, ctx, code),
                                      "unit_name": holder.unit_name, "program_name": ctx.program.name,
                                      "today": today.isoformat(), "form_id": _form_id()}

    return await _unit_page(request, token, "item.html", build)


@router.post("/u/{token}/r/{code}/report")
async def item_report(request: Request, token: str, code: str) -> Response:
    """进展 or 整改完成. Closing asks for the 原因分析 and the 整改措施 (given now or in an earlier
    report), as 补差提升 does: an item closed without them would be a gap in the acceptance package."""
    def work(session, ctx, holder, form, uploads, now):
        item = _item_of_unit(session, ctx, holder, code, ctx.local_date(now))
        closing = form.get("action") == "close"
        cause, measure = clean_entry(form.get("cause")) or None, clean_entry(form.get("measure")) or None
        if closing and not ((cause or item["cause"]) and (measure or item["measure"])):
            raise Refusal(400, text(ctx.language, "refusal.item_unexplained", code=code))
        progress = 100 if closing else _progress(ctx, form, 0)
        files = _checked_uploads(ctx, uploads)
        if closing and item["kind"] == "no_evidence" and not files:
            raise Refusal(400, text(ctx.language, "refusal.item_evidence", code=code))
        report_item(session, ctx, code, holder.unit_code, "done" if closing else "in_progress", progress,
                    clean_entry(form.get("note")) or None, _stored(request, files), now, _actor(holder),
                    cause=cause, measure=measure)

    return await _act(request, token, work, f"/u/{token}/r/{code}", MAX_BODY)
