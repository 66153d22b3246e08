"""The coordinator's pages: sign-in, the review queue (办结审核 with evidence, extension requests, phases
waiting for a decision) and the overview per unit. Decisions go through the same functions as `duban extension
approve|reject`, `duban phase approve` and the Prefect `decide` flow, into the same tables and events
(source `portal`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from db import (
    InvalidInput,
    NotFound,
    Unit,
    ack_counts,
    approve_extension,
    approve_phase,
    authenticate,
    claims,
    list_extensions,
    needs_decision,
    pass_claim,
    penalty_seconds,
    recent_failures,
    record_failure,
    reject_extension,
    return_claim,
    status_summary,
    task_rows,
)
from duban.portal.app import form_of, in_program, portal_of, program_language
from duban.portal.security import client_address
from duban.portal.texts import texts_for
from schedule import clean_entry, is_phase_kind

router = APIRouter()
QUEUE_LIMIT = 2000


def _signed_in(request: Request) -> dict | None:
    data = portal_of(request).session(request).data
    return data if data.get("role") == "coordinator" and data.get("program") else None


def _language(request: Request) -> str:
    """The signed-in coordinator's program's language (kept in the session at sign-in)."""
    return portal_of(request).session(request).data.get("language", "zh-CN")


def _page_missing(request: Request) -> str:
    return texts_for(_language(request))["page_missing"]


@router.get("/login")
async def login_page(request: Request) -> Response:
    portal = portal_of(request)
    return portal.render(request, "login.html", "zh-CN", {"error": None}, portal.session(request))


@router.post("/login")
async def login(request: Request) -> Response:
    portal = portal_of(request)
    form, refusal = await form_of(request, 16 * 1024)
    if refusal:
        return refusal
    address, now = client_address(request), portal.now()
    program, name, password = (str(form.get(k) or "") for k in ("program", "name", "password"))

    def check():
        with portal.transaction() as session:
            failures = recent_failures(session, address, now)
            if penalty_seconds(failures) is None:
                return None, failures, "zh-CN"
            user = authenticate(session, program.strip(), name.strip(), password)
            if user is None:
                record_failure(session, address, now)
            return user and (user.name, user.program_id), failures, program_language(session, program.strip())

    user, failures, language = await run_in_threadpool(check)
    session = portal.session(request)
    if penalty_seconds(failures) is None:
        return portal.message(request, language, session, 429, texts_for(language)["slow_down"])
    if user is None:
        await asyncio.sleep(penalty_seconds(failures + 1) or 0)
        return portal.render(
            request, "login.html", language, {"error": texts_for(language)["bad_login"]}, session, 401
        )
    session.clear_user()
    session.set(user=user[0], program=user[1], role="coordinator", language=language)
    return portal.redirect(request, "/review", session)


@router.post("/logout")
async def logout(request: Request) -> Response:
    _form, refusal = await form_of(request, 16 * 1024)  # nothing in it but the CSRF token
    if refusal:
        return refusal
    portal = portal_of(request)
    session = portal.session(request)
    session.clear_user()
    return portal.redirect(request, "/login", session)


def _needs_login(request: Request) -> Response:
    return portal_of(request).redirect(request, "/login", portal_of(request).session(request))


async def _as_coordinator(request: Request, work, form_bytes: int | None = None):
    """The preamble of every page behind the sign-in: `work(session, ctx, user, form)` in one transaction on
    the signed-in coordinator's program, and its result. Or the response to send instead: to /login when
    nobody is signed in, a refusal when the form (read only where `form_bytes` is given) is not acceptable."""
    user = _signed_in(request)
    if user is None:
        return _needs_login(request)
    form = None
    if form_bytes is not None:
        form, refusal = await form_of(request, form_bytes)
        if refusal:
            return refusal
    return await in_program(request, user["program"], lambda session, ctx: work(session, ctx, user, form))


@router.get("/review")
async def review_page(request: Request) -> Response:
    def build(session, ctx, user, form):
        pending = claims(session, ctx, state="pending", limit=QUEUE_LIMIT + 1)
        return ctx.program.language, {
            "program_name": ctx.program.name,
            "user": user["user"],
            "claims": pending[:QUEUE_LIMIT],
            "more": max(len(pending) - QUEUE_LIMIT, 0),
            "extensions": list_extensions(session, ctx, "pending"),
            "phases": needs_decision(session, ctx),
            "flash": request.query_params.get("done"),
        }

    built = await _as_coordinator(request, build)
    if isinstance(built, Response):
        return built
    portal = portal_of(request)
    return portal.render(request, "review.html", *built, portal.session(request))


async def _decide(request: Request, work) -> Response:
    portal = portal_of(request)
    try:
        done = await _as_coordinator(
            request, lambda session, ctx, user, form: work(session, ctx, form, user["user"], portal.now()),
            64 * 1024,
        )
    except (InvalidInput, NotFound) as exc:
        return portal.refused(request, exc, "/review", _language(request))
    if isinstance(done, Response):
        return done
    return portal.redirect(request, "/review?done=1", portal.session(request))


@router.post("/review/claims/{claim_id}/pass")
async def pass_(request: Request, claim_id: int) -> Response:
    return await _decide(request, lambda s, ctx, form, actor, now: pass_claim(
        s, ctx, claim_id, actor, now, clean_entry(form.get("note")) or None))


@router.post("/review/claims/{claim_id}/return")
async def return_(request: Request, claim_id: int) -> Response:
    return await _decide(request, lambda s, ctx, form, actor, now: return_claim(
        s, ctx, claim_id, clean_entry(form.get("reason")), actor, now))


@router.post("/review/extensions/{request_id}/{verdict}")
async def extension_decision(request: Request, request_id: int, verdict: str) -> Response:
    if verdict not in ("approve", "reject"):
        return portal_of(request).message(
            request, _language(request), portal_of(request).session(request), 404, _page_missing(request)
        )
    decide = approve_extension if verdict == "approve" else reject_extension
    return await _decide(request, lambda s, ctx, form, actor, now: decide(
        s, ctx, request_id, actor, now, clean_entry(form.get("note")) or None, source="portal"))


@router.post("/review/phases/{kind}/approve")
async def phase_decision(request: Request, kind: str) -> Response:
    if not is_phase_kind(kind):
        return portal_of(request).message(
            request, _language(request), portal_of(request).session(request), 404, _page_missing(request)
        )
    return await _decide(request, lambda s, ctx, form, actor, now: approve_phase(
        s, ctx, kind, actor, now, clean_entry(form.get("note")) or None, source="portal"))


def _overview_units(session, ctx, today) -> tuple[list[dict], dict]:
    """Every unit with tasks or 签收 to show, with its counts and overdue tasks; and the lights' totals."""
    rows = task_rows(session, ctx, today)  # first: the summary counts the rows it keeps
    summary = status_summary(session, ctx, today)
    acks = ack_counts(session, ctx)
    ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.program_id == ctx.id)).all())
    overdue: dict[str, list[str]] = {}
    for row in rows:
        if row["light"] == "red":
            for code in row["lead"]:
                overdue.setdefault(code, []).append(row["code"])
    names = {u["unit"]: u for u in summary["units"]}
    units = []
    for code, unit_id in sorted(ids.items()):
        counts = names.get(code)
        ack = acks.get(unit_id, {"acked": 0, "open": 0})
        if counts is None and not ack["open"] and not ack["acked"]:
            continue
        units.append(
            {
                "code": code,
                "name": (counts or {}).get("name", code),
                "counts": counts or {},
                "overdue": overdue.get(code, []),
                "unacked": ack["open"],
                "acked": ack["acked"],
            }
        )
    return units, summary["lights"]


@router.get("/overview")
async def overview_page(request: Request) -> Response:
    portal = portal_of(request)

    def build(session, ctx, user, form):
        today = ctx.local_date(portal.now())
        units, lights = _overview_units(session, ctx, today)
        return ctx.program.language, {"program_name": ctx.program.name, "today": today.isoformat(),
                                      "units": units, "user": user["user"], "lights": lights}

    built = await _as_coordinator(request, build)
    if isinstance(built, Response):
        return built
    return portal.render(request, "overview.html", *built, portal.session(request))


@router.get("/review/claims/{claim_id}/evidence/{index}")
async def evidence_file(request: Request, claim_id: int, index: int) -> Response:
    def find(session, ctx, user, form):
        claim = next((c for c in claims(session, ctx) if c["id"] == claim_id), None)
        if claim is None or not 0 <= index < len(claim["evidence"]):
            return None
        return Path(claim["evidence"][index])

    path = await _as_coordinator(request, find)
    if isinstance(path, Response):
        return path
    portal = portal_of(request)
    home = portal.wiring.settings.home.resolve()
    if path is None or not path.resolve().is_relative_to(home) or not path.is_file():
        return portal.message(
            request, _language(request), portal.session(request), 404, _page_missing(request)
        )
    return FileResponse(path, filename=path.name, content_disposition_type="attachment")
