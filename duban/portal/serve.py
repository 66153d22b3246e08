"""The factory uvicorn imports (`duban.portal.serve:app`, factory=True): the wiring from the environment, and
the clock fixed at DUBAN_PORTAL_AS_OF (settings.portal_as_of) when a replay or demo asks for it."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from duban.portal.app import create_app, wall_clock
from flows import wiring


def app() -> FastAPI:
    wired = wiring()
    fixed = wired.settings.portal_as_of
    clock = (lambda: datetime.fromisoformat(fixed)) if fixed else wall_clock
    return create_app(wired, clock)
