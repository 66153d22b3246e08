"""What every command shares: options, error handling, output, --as-of, and a program opened for a command.

Light on purpose: every command imports it, so it loads no library a reading command does not need."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from schedule import labels, language_of, text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from db import ProgramContext, Staged  # types only
    from flows import Settings, Wiring  # types only

# Piped output (CI logs, files) gets room for the wide Chinese tables instead of rich's 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

DbOption = Annotated[
    str | None, typer.Option("--db", help="数据库 URL（默认 DUBAN_DATABASE_URL 或 $DUBAN_HOME/duban.db）")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="日期（当日 08:30）或日期时间，程序时区；默认现在")
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]
ByOption = Annotated[str | None, typer.Option("--by", help="决定人（记入事件日志），默认当前系统用户")]
NoteOption = Annotated[str | None, typer.Option("--note", help="说明")]
EvidenceOption = Annotated[list[Path] | None, typer.Option("--evidence", help="佐证材料文件，可重复")]
# 补差提升: a remediation item's 原因分析 and 整改措施, given when it is reported on or closed.
CauseOption = Annotated[str | None, typer.Option("--cause", help=text(None, "remediation.cause_help"))]
MeasureOption = Annotated[str | None, typer.Option("--measure", help=text(None, "remediation.measure_help"))]

LIGHT_STYLE = {"done": "blue", "red": "red", "yellow": "yellow", "green": "green", "none": "dim"}


# The language of the program a command works on, once it has loaded it (one command per process): its output
# and its error line are said in it.
_speaking = {"language": "zh-CN"}


def speak(language: str | None) -> str:
    """From now on this command speaks `language` (a program's); returns it."""
    _speaking["language"] = language_of(language)
    return _speaking["language"]


def say(key: str, **values: Any) -> str:
    """A CLI text (group `cli`) in the language of the program the command works on."""
    return text(_speaking["language"], f"cli.{key}", **values)


def label(group: str, key: str, language: str | None = None) -> str:
    """A label from the one catalogue (schedule/locales); an unknown key shows as itself."""
    return labels(language or _speaking["language"], group).get(key, key)


class Failure(Exception):
    """A failed check or invalid input: exit 1 with a message on stderr."""


def handles_errors(command: Callable) -> Callable:
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, expected_errors()):
                raise
            err.print(f"[red]{say('error')}[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None
    return wrapper


def expected_errors() -> tuple[type[Exception], ...]:
    """Invalid input and a failed check: one line and exit 1, never a traceback."""
    from db import InvalidInput, NotFound  # on the error path only: a command need not have loaded db

    return Failure, NotFound, InvalidInput


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_as_of(text: str | None, timezone: str) -> datetime:
    """A date means that day at 08:30 (the daily check's time) in the program's zone; no value means now."""
    from flows import DAILY_CHECK_TIME, now  # the clock (flows.runtime), loaded by the commands that use it

    zone = ZoneInfo(timezone)
    if text is None:
        return now(zone)
    try:
        if "T" in text or " " in text.strip():
            moment = datetime.fromisoformat(text.strip())
            return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
        return datetime.combine(date.fromisoformat(text.strip()), DAILY_CHECK_TIME, zone)
    except ValueError:
        raise typer.BadParameter(say("not_moment", value=text), param_hint="--as-of") from None


def context(db: str | None) -> Wiring:
    from flows import wiring  # the composition root, loaded by the commands that open the database

    return wiring(db)


@dataclass
class Opened:
    """A program opened for a command, inside its one transaction."""

    wired: Wiring
    session: Session
    ctx: ProgramContext

    def moment(self, as_of: str | None) -> datetime:
        return parse_as_of(as_of, self.ctx.program.timezone)

    def day(self, as_of: str | None) -> date:
        return self.ctx.local_date(self.moment(as_of))

    def now(self) -> datetime:
        """The wall clock, in UTC (flows.runtime reads it)."""
        from flows import now  # the clock, loaded by the commands that open a program

        return now(UTC)


@contextmanager
def opened(program: str, db: str | None) -> Iterator[Opened]:
    """The preamble of most commands: the wiring, one transaction (all or nothing), the program loaded."""
    from db import load_program  # loaded by the commands that open a program

    wired = context(db)
    _existing(wired.settings.db_url)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        speak(ctx.language)  # the command's output and its error line, in the program's language
        yield Opened(wired, session, ctx)


def _existing(url: str) -> None:
    """A program lives in a database that exists: a mistyped --db path is said, not silently made into an
    empty database (and its folders) that the next command then finds."""
    path = url.removeprefix("sqlite:///")
    if path != url and not Path(path).is_file():
        raise Failure(say("no_database", path=path))


def actor(by: str | None = None) -> str:
    """Who decides, for the event log: --by, else the system user."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run_flow(settings: Settings, run: Callable[[], Any]) -> Any:
    """Runs a flow in this process. Without PREFECT_API_URL a temporary server is started as a child of this
    command that dies with it, even under kill -9 (duban.prefect_server); it gets duban's generous start-up
    timeout (close to a minute on a busy machine, where Prefect allows 20 s) and no telemetry (no internet
    here). Any failure is one line and exit 1, never a traceback."""
    import logging

    from prefect.settings import (
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    for noisy in ("prefect.events.clients", "prefect._internal.concurrency",
                  "prefect.server.services.telemetry"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    updates: dict = {PREFECT_SERVER_ANALYTICS_ENABLED: False}
    if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" not in os.environ:
        updates[PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS] = settings.prefect_startup_seconds
    # Prefect is loaded only by the commands that run a flow.
    from duban.prefect_server import temporary_server

    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                                   settings.prefect_startup_seconds))
    try:
        with temporary_settings(updates=updates), temporary_server(timeout):
            return run()
    except expected_errors():
        raise
    except Exception as exc:  # the flow's own failure or Prefect's: one line, exit 1
        first = " ".join(str(exc).split(" stdout:")[0].split()).rstrip(".。") or type(exc).__name__
        hint = say("prefect_hint") if "ephemeral" in first.lower() else ""
        raise Failure(say("check_failed", reason=first[:300], hint=hint)) from None


def print_problems(problems) -> None:
    """Each problem on its own line as FILE:ROW:COLUMN: message, warnings marked."""
    for problem in problems:
        prefix = "warning: " if problem.severity == "warning" else ""
        err.print(f"{problem.file}:{problem.row or '-'}:{problem.column or '-'}: {prefix}{problem.message}",
                  highlight=False, markup=False)


def refuse_returned(failed: bool, as_json: bool) -> None:
    """A returned form (报送表, 自查表) with problems: nothing was recorded; exit 1."""
    if failed:
        if not as_json:
            err.print(say("returned_not_imported"), highlight=False)
        raise typer.Exit(1)


def date_option(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(say("not_date", value=text), param_hint=option) from None


def stage_evidence(files: list[Path]) -> list[Staged]:
    """Checks and hashes evidence files before anything is recorded; nothing is copied yet."""
    from db import stage  # loaded by the commands that take evidence only

    for path in files:
        if not path.is_file():
            raise Failure(f"{path}:-:-: " + say("evidence_missing"))
    return stage(files)


def recorded_paths(staged: list[Staged]) -> list[str]:
    return [item.relative for item in staged]
