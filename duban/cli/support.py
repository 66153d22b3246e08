"""What every command shares: options, error handling, output, --as-of."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from db import InvalidInput, NotFound, Staged, stage
from flows import DAILY_CHECK_TIME, Settings, Wiring, now, wiring
from schedule import labels, language_of, text

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
        except (Failure, NotFound, InvalidInput) as exc:
            err.print(f"[red]{say('error')}[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None
    return wrapper


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_as_of(text: str | None, timezone: str) -> datetime:
    """A date means that day at 08:30 (the daily check's time) in the program's zone; no value means now."""
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
    return wiring(db)




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
    except (Failure, NotFound, InvalidInput):
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


def date_option(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(say("not_date", value=text), param_hint=option) from None


def stage_evidence(files: list[Path]) -> list[Staged]:
    """Checks and hashes evidence files before anything is recorded; nothing is copied yet."""
    for path in files:
        if not path.is_file():
            raise Failure(f"{path}:-:-: " + say("evidence_missing"))
    return stage(files)


def recorded_paths(staged: list[Staged]) -> list[str]:
    return [item.relative for item in staged]
