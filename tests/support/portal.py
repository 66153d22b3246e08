"""The portal under test: a program whose 交办 went out, the links from the outbox, the app under a real
uvicorn on a loopback port (or the ASGI app for fine-grained tests), and small helpers to read its forms."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from typer.testing import CliRunner

from db import forget_engine
from duban import app as cli
from duban import create_app
from flows import Wiring, run_check, wiring
from tests.support.factories import program_yaml, write_plan
from tests.support.peers import free_port

ZONE = ZoneInfo("Asia/Shanghai")
runner = CliRunner()
LINK = re.compile(r"https?://[^\s)<>\"]+/u/[A-Za-z0-9_-]+")
PDF = b"%PDF-1.4\n% duban test evidence\n"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2023, 3, 2, 10, 0, tzinfo=ZONE))

    def __call__(self) -> datetime:
        return self.now


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def assigned_program(tmp_path: Path, portal_url: str | None = None, **program) -> Wiring:
    """The factory plan imported and its 交办 sent by the 2023-03-01 check: every unit has a link (under
    `portal_url`, else the default address)."""
    plan = write_plan(tmp_path, program=program_yaml(**program) if program else None)
    result = runner.invoke(cli, ["plan", "import", str(plan)])
    assert result.exit_code == 0, result.output
    wired = wiring()
    run_check(
        wired.sessions, "demo-city", moment("2023-03-01T08:30"), wired.notifier(outbox_only=True), portal_url
    )
    return wired


def assigned_home(folder: Path) -> Path:
    """`assigned_program` in a home of its own under `folder`, closed so that tests can start from copies of
    it (the import and the first check are most of a portal test's time)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DUBAN_HOME", str(folder / "home"))
        patch.delenv("DUBAN_DATABASE_URL", raising=False)
        patch.setenv("DUBAN_NOTIFIER", "outbox")
        wired = assigned_program(folder)
        forget_engine(wired.settings.db_url)  # folds the WAL into the database file
    return wired.settings.home


def outbox(wired: Wiring) -> list[dict]:
    return [json.loads(line) for line in wired.settings.outbox_path.read_text("utf-8").splitlines()]


def link_of(wired: Wiring, unit: str) -> str:
    """The newest personal link in the unit's messages."""
    message = [m for m in outbox(wired) if m["unit"] == unit][-1]
    return LINK.findall(message["text"])[-1]


def path_of(link: str) -> str:
    return "/u/" + link.rsplit("/u/", 1)[1]


def field_value(html: str, name: str, after: str = "") -> str:
    """The value of the first hidden field `name` after the text `after` (a form's action, say)."""
    start = html.index(after) if after else 0
    match = re.compile(rf'name="{name}" value="([^"]*)"').search(html, start)
    assert match, f"no field {name} after {after!r}"
    return match.group(1)


def cli_json(*args: str):
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def task_of(code: str, as_of: str) -> dict:
    """The task's row as `duban tasks --json` shows it on `as_of`."""
    return next(t for t in cli_json("tasks", "demo-city", "--as-of", as_of) if t["code"] == code)


class PortalServer:
    """The app under a real uvicorn on 127.0.0.1, in a thread of the test process (so the test's clock drives
    it)."""

    def __init__(self, wired: Wiring, clock: Clock) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(wired, clock), host="127.0.0.1", port=self.port, access_log=False,
                                log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> PortalServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
