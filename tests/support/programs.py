"""Factories for imported programs: the factory plan (demo-city) in a fresh database, its context, the CLI,
and the self-check forms a unit fills in. Time here is program time (Asia/Shanghai), never the wall clock."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from openpyxl import load_workbook
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from db import Notice, Phase, ProgramContext, get_engine, import_program, load_program, record_report
from duban import app
from flows import Settings, Wiring, run_check
from notifications import OutboxNotifier, import_forms, write_forms
from schedule import read_plan
from tests.support.factories import write_plan

ZONE = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


def at(day: date, hour: int = 8, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def make_db(
    tmp_path: Path, *, program: dict | None = None, name: str = "plan", tasks: list[list] | None = None
) -> tuple[sessionmaker[Session], str]:
    """The factory plan (demo-city) imported into a fresh SQLite file: (sessions, database URL)."""
    plan = write_plan(tmp_path, program=program, name=name, tasks=tasks)
    reading = read_plan(plan)
    assert reading.ok, [str(p) for p in reading.problems]
    url = f"sqlite:///{tmp_path / 'duban.db'}"
    sessions = sessionmaker(get_engine(url), expire_on_commit=False)
    with sessions.begin() as session:
        import_program(session, reading.program, at(date(2023, 2, 1)))
    return sessions, url


def set_phase(session: Session, program_id: str, kind: str, state: str) -> None:
    phase = session.scalar(select(Phase).where(Phase.program_id == program_id, Phase.kind == kind))
    phase.state = state


def ctx_of(session: Session, program_id: str = "demo-city") -> ProgramContext:
    return load_program(session, program_id)


def cli_app() -> typer.Typer:
    """The `duban` command line, as the user runs it."""
    return app


def fill(path: Path, rows: dict[str, tuple], out: Path | None = None) -> Path:
    """Fills a written form: code → (completion, score, evidence, problems); other rows done, 90, a file."""
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    r = 6
    while sheet[f"A{r}"].value:
        values = rows.get(sheet[f"A{r}"].value, ("已完成", 90, "文件.pdf", None))
        for column, value in zip("HIJK", values, strict=True):
            sheet[f"{column}{r}"] = value
        r += 1
    workbook.save(out or path)
    return out or path


def forms(sessions, tmp_path: Path) -> dict[str, Path]:
    with sessions.begin() as session:
        written = write_forms(session, ctx_of(session), tmp_path / "forms")
    return {w["unit"]: Path(w["file"]) for w in written}


def setup(tmp_path: Path, *, tasks=None, program=None, units=None, database_url: str | None = None) -> Wiring:
    plan = write_plan(tmp_path, tasks=tasks, program=program, units=units)
    return import_folder(tmp_path, plan, database_url)


def import_folder(tmp_path: Path, plan: Path, database_url: str | None = None) -> Wiring:
    """The plan folder read and imported (on 2023-02-01) into an outbox home under `tmp_path` (its SQLite
    database unless `database_url` names another)."""
    reading = read_plan(plan)
    assert reading.ok, [str(p) for p in reading.problems]
    wired = Wiring(Settings(home=tmp_path / "home", notifier="outbox", database_url=database_url))
    with wired.transaction() as session:
        import_program(session, reading.program, at(date(2023, 2, 1)))
    return wired


def check(wired: Wiring, day: date, hour: int = 8, minute: int = 30):
    return run_check(
        wired.sessions, "demo-city", at(day, hour, minute), OutboxNotifier(wired.settings.outbox_path)
    )


def check_statements(wired: Wiring, day: date, hour: int = 8) -> tuple[list[str], object]:
    """The SQL a check runs, and its result."""
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    engine = get_engine(wired.settings.db_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        return statements, check(wired, day, hour)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def outbox_lines(wired: Wiring) -> list[dict]:
    path = wired.settings.outbox_path
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def notices(wired: Wiring, **where) -> list[Notice]:
    with wired.transaction() as session:
        query = select(Notice).where(*(getattr(Notice, k) == v for k, v in where.items())).order_by(Notice.id)
        return list(session.scalars(query))


def replay(wired: Wiring, start: date, end: date) -> None:
    day = start
    while day <= end:
        check(wired, day)
        day += timedelta(days=1)


def with_findings(tmp_path, returned_on: date = date(2024, 6, 20)):
    """msa returns A2 partly done and B1 done without evidence; police returns C1 not done."""
    sessions, url = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "A1", "msa", "done", None, None, [], at(date(2023, 6, 20)))
        record_report(session, ctx, "B1", "police", "done", None, None, [], at(date(2024, 5, 20)))
        for _ in range(8):  # every quarterly instance of B2
            record_report(session, ctx, "B2", "police", "done", None, None, [], at(date(2024, 5, 20)))
    written = forms(sessions, tmp_path)
    files = [
        fill(
            written["msa"],
            {
                "A1": ("已完成", 95, "a.pdf", None),
                "A2": ("部分完成", 70, None, "协作机制未落地"),
                "B1": ("已完成", 88, None, None),
            },
        ),
        fill(
            written["police"],
            {
                "C1": ("未完成", 40, None, "培训未开展"),
                "B1": ("已完成", 90, "b.pdf", None),
                "B2": ("已完成", 90, "c.pdf", None),
            },
        ),
    ]
    with sessions.begin() as session:
        results, problems = import_forms(session, ctx_of(session), files, at(returned_on))
        assert results, problems
    return sessions, url
