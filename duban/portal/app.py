"""The portal application: `create_app(wiring)` builds a FastAPI app over the same database as everything
else.

The process keeps no state: sessions are signed cookies, the signing key, bad-token counts and submitted form
ids are in the database, so any number of workers can run behind a reverse proxy. Database work runs in the
thread pool; only the penalty for a bad token waits on the event loop.

Tokens are part of the path of every unit page. Uvicorn's access log is off (`duban portal` turns it off) and
this app logs each request with the token masked; pages send `Referrer-Policy: no-referrer` so a token never
leaves in a Referer header, and nothing on a page loads from elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from db import (
    InvalidInput,
    LinkHolder,
    Program,
    ProgramContext,
    load_program,
    penalty_seconds,
    recent_failures,
    record_failure,
    resolve_link,
    signing_key,
)
from duban.portal.security import Session, client_address, csrf_ok, load_session, save_session
from duban.portal.texts import texts_for
from flows import Wiring, now
from notifications import environment
from schedule import text

HERE = Path(__file__).parent
log = logging.getLogger("duban.portal")
_TOKEN_PATH = re.compile(r"^/u/[^/]+")
LIGHT_COLOURS = {
    "done": "#1f6feb",
    "red": "#cf222e",
    "yellow": "#bf8700",
    "green": "#1a7f37",
    "none": "#6e7781",
}


def masked_path(path: str) -> str:
    return _TOKEN_PATH.sub("/u/***", path)


@dataclass
class Portal:
    wiring: Wiring
    clock: Callable[[], datetime]
    environment: Environment = field(init=False)
    _key: str | None = None

    def __post_init__(self) -> None:
        # The one jinja2 environment (notifications.render): it escapes every `.html` template, these too.
        self.environment = environment()

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def transaction(self):
        with self.wiring.transaction() as session:
            yield session

    def key(self) -> str:
        if self._key is None:  # the same key in every worker: from the settings or the database
            if self.wiring.settings.portal_secret:
                self._key = self.wiring.settings.portal_secret
            else:
                with self.transaction() as session:
                    self._key = signing_key(session, self.now())
        return self._key

    def session(self, request: Request) -> Session:
        return load_session(request, self.key())

    def render(self, request: Request, template: str, language: str, values: dict, session: Session,
               status: int = 200) -> HTMLResponse:
        texts = texts_for(language)
        html = self.environment.get_template(f"portal/{template}").render(
            t=texts, language="en" if language == "en" else "zh-CN", csrf=session.csrf, colours=LIGHT_COLOURS,
            **values)
        response = HTMLResponse(html, status_code=status)
        self.finish(request, response, session)
        return response

    def finish(self, request: Request, response: Response, session: Session) -> Response:
        if session.changed:
            save_session(response, session, self.key(), secure=request.url.scheme == "https")
        return response

    def message(self, request: Request, language: str, session: Session, status: int, text: str,
                back: str | None = None) -> HTMLResponse:
        return self.render(request, "message.html", language, {"text": text, "back": back, "status": status},
                           session, status)

    def refused(self, request: Request, exc: Exception, back: str | None = None,
                language: str = "zh-CN") -> HTMLResponse:
        """The page for a command the database refused: 400 for invalid input, 404 for what is not there; in
        the program's language (the refusal's own words already are)."""
        status = 400 if isinstance(exc, InvalidInput) else 404
        return self.message(request, language, self.session(request), status, str(exc), back)

    def redirect(self, request: Request, url: str, session: Session) -> Response:
        return self.finish(request, RedirectResponse(url, status_code=303), session)


def wall_clock() -> datetime:
    return now(UTC)


def create_app(wiring: Wiring, clock: Callable[[], datetime] = wall_clock) -> FastAPI:
    # The routes' modules import this one (portal_of, form_of): they load when an app is made.
    from duban.portal.coordinator_routes import router as coordinator_router  # (see above)
    from duban.portal.unit_routes import router as unit_router  # (see above)

    app = FastAPI(title="duban portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = Portal(wiring, clock)

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next):
        response = await call_next(request)
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Cache-Control", "no-store")
        log.info("%s %s %s", request.method, masked_path(request.url.path), response.status_code)
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(unit_router)
    app.include_router(coordinator_router)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request):
        return RedirectResponse("/login", status_code=303)

    return app


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


async def unit_of(request: Request, token: str) -> tuple[LinkHolder | None, Response | None]:
    """The unit a link belongs to, or the refusal to send: 404 for a bad, expired or revoked token (after a
    growing pause when the address keeps sending bad ones), 429 once it has sent too many."""
    portal = portal_of(request)
    address = client_address(request)
    now = portal.now()

    def look_up():
        with portal.transaction() as session:
            failures = recent_failures(session, address, now)
            if penalty_seconds(failures) is None:
                return None, failures
            holder = resolve_link(session, token, now)
            if holder is None:
                record_failure(session, address, now)
            return holder, failures

    holder, failures = await run_in_threadpool(look_up)
    session = portal.session(request)
    if penalty_seconds(failures) is None:
        response = portal.message(request, "zh-CN", session, 429, texts_for("zh-CN")["slow_down"])
        response.headers["Retry-After"] = "900"
        return None, response
    if holder is None:
        await asyncio.sleep(penalty_seconds(failures + 1) or 0)
        return None, portal.message(request, "zh-CN", session, 404, texts_for("zh-CN")["not_found"])
    return holder, None


def program_context(session, program_id: str) -> ProgramContext:
    return load_program(session, program_id)


async def in_program(request: Request, program_id: str, work: Callable):
    """`work(session, ctx)` in one transaction on the program, in the thread pool; its result."""
    portal = portal_of(request)

    def run():
        with portal.transaction() as session:
            return work(session, program_context(session, program_id))

    return await run_in_threadpool(run)


def program_language(session, program_id: str) -> str:
    program = session.get(Program, program_id)
    return program.language if program is not None else "zh-CN"


def _both(key: str) -> str:
    """Before the form is read the program (and so its language) is unknown: both languages."""
    return f"{text('zh-CN', key)} / {text('en', key)}"


async def form_of(request: Request, max_bytes: int) -> tuple[dict | None, Response | None]:
    """The submitted form, CSRF checked. Refuses a body over `max_bytes` (413) before reading it."""
    portal = portal_of(request)
    session = portal.session(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        return None, portal.message(request, "zh-CN", session, 413, _both("refusal.too_large"))
    try:
        form = await request.form(max_files=20, max_fields=200)
    except Exception:  # a malformed body: Starlette raises its own parser errors
        return None, portal.message(request, "zh-CN", session, 400, _both("refusal.malformed"))
    if not csrf_ok(session, form.get("csrf")):
        return None, portal.message(request, "zh-CN", session, 403, texts_for("zh-CN")["csrf"])
    return form, None
