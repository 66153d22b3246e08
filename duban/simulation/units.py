"""The simulated units' phase work for `duban simulate` and `duban demo`: evidence, self-check forms returned,
remediation items closed, extensions asked for. Everything it writes goes under the simulation's own home."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Row, String, bindparam, cast, select
from sqlalchemy.orm import Session

from db import (
    COMPLETION_LABELS,
    Finding,
    InvalidInput,
    Phase,
    ProgramContext,
    ProgressReport,
    Recipients,
    RemediationItem,
    Task,
    TaskInstance,
    Unit,
    add_evidence,
    approve_extension,
    checklist,
    core,
    form_spec,
    missing_units,
    phase_decision,
    report_item,
    request_extension,
    task_rows,
)
from duban.simulation.evidence import write_evidence
from notifications import form_filename, import_forms, write_form
from schedule import WorkCalendar, cell_value, text

if TYPE_CHECKING:
    from flows import CheckResult  # for the annotations only: the units need nothing else of flows

PROBLEMS_ZH = ("工作推进进度滞后于计划", "部门协同机制尚未完全建立", "经费保障不足", "宣传覆盖面有待扩大",
               "基层执法力量薄弱", "数据统计口径不统一")


PROBLEMS_EN = ("behind the planned schedule", "coordination with other departments not yet in place",
               "insufficient funding", "publicity does not reach far enough", "too few enforcement staff",
               "statistics not yet harmonised")


def _profile(program_id: str, unit_code: str) -> int:
    """A unit's temperament, stable across seeds: 0–9. 0–1: returns its self-check form late and closes
    remediation items late; 2: forgets to attach evidence until a remediation item asks for it."""
    return zlib.crc32(f"{program_id}:{unit_code}".encode()) % 10


# The units' daily reads, built once (a statement object keeps its cache key: db.programs) on the tables, not
# the mapped classes: the session runs them as plain Core statements, at half the cost of ORM-enabled ones.
# Core statements are not autoflushed: db.core flushes first, so that they see the units' own writes.
_T, _I, _R = Task.__table__.c, TaskInstance.__table__.c, ProgressReport.__table__.c
_P, _RI, _U, _F = Phase.__table__.c, RemediationItem.__table__.c, Unit.__table__.c, Finding.__table__.c
_PHASES = select(_P.kind, _P.state, _P.start, _P.end).where(_P.program_id == bindparam("program_id"))
# Done tasks none of whose reports carries a file, through the instances' (program, status) index and the
# reports' task index: one read a workday, not the reports read as they grow beside the done tasks (two).
# A report's evidence is a JSON list, written by the program itself: no file is `[]` (or `null`).
_NO_FILES = ("[]", "null")
_DONE = (
    select(_T.id, _T.code, _T.title, _T.evidence_spec)
    .where(_T.id.in_(select(_I.task_id).where(_I.program_id == bindparam("program_id"), _I.status == "done")),
           _T.active.is_(True),
           ~select(_R.id).where(_R.task_id == _T.id, cast(_R.evidence, String).not_in(_NO_FILES)).exists())
    .order_by(_T.id))
_REPORTS_SINCE = (
    select(_R.id, _T.code, _R.evidence)
    .select_from(ProgressReport.__table__.join(Task.__table__, _T.id == _R.task_id))
    .where(_R.program_id == bindparam("program_id"), _R.id > bindparam("after")).order_by(_R.id))
_OPEN_ITEMS = (
    select(_RI.code, _RI.title, _RI.created_on, _RI.due, _U.code, _T.code, _T.title, _T.evidence_spec,
           _F.kind)
    .select_from(RemediationItem.__table__.join(Unit.__table__, _U.id == _RI.unit_id)
                 .join(Finding.__table__, _F.id == _RI.finding_id)
                 .outerjoin(Task.__table__, _T.id == _RI.task_id))
    .where(_RI.program_id == bindparam("program_id"), _RI.state == "open")
    .order_by(_RI.id))
_DUE_SOON = (
    select(_I.id, _I.task_id, _T.code, _I.due)
    .select_from(TaskInstance.__table__.join(Task.__table__, _T.id == _I.task_id))
    .where(
        _I.program_id == bindparam("program_id"), _T.active.is_(True), _I.status != "done",
        _I.retired_on.is_(None), _I.due > bindparam("today"), _I.due <= bindparam("horizon"),
        _I.progress <= 60, _I.due == _I.original_due)
    .order_by(_I.id))


class SimulatedUnits:
    """The simulated units of one program through a replay, one workday at a time (`work`), after the
    progress-report model. Deterministic for a seed: every draw happens in a fixed order.

    - evidence: done tasks without evidence get generated files (named after their 成果形式 items, now and
      then only the first item) with some delay; forgetful units wait for a remediation item, or the
      acceptance phase;
    - self-check: while it runs, each unit with tasks returns its form (a real workbook, filled in from the
      database and imported through the same reader and checks as `duban selfcheck import`), most before
      the end and late returners after it; a few done tasks without evidence listed, a few problems reported;
    - remediation: open items are closed with evidence, most before their due date, late units after it;
    - extensions: now and then a lead unit behind on a task due within three workdays asks for 15 more
      workdays, and the simulated coordinator approves it.

    What only an import changes (who leads each task) is read once; what only grows (the names of the files
    the tasks' reports carry: reports are never changed) is read as it grows, on the days a form lists them
    (the evidence of done tasks is looked for in SQL). The phases are read again only
    after a check that moved one, when the replay passes its checks on (`heard`); else every workday.
    Everything written goes under `settings_home`.
    """

    def __init__(self, settings_home: Path) -> None:
        self.home = settings_home
        self._leads: dict[int, str] | None = None
        self._files: dict[str, list[str]] = {}  # task code → the names of the files its reports carry
        self._last_report = 0
        self._phases: tuple[dict[str, Row], date | None] | None = None  # kept while no check moved one
        self._told = False  # the replay passes its checks on: the phases may be kept between them

    def heard(self, check: CheckResult) -> None:
        """The morning's check: a phase it moved (opened, closed, overran) is read again."""
        self._told = True
        if check.transitions:
            self._phases = None

    def phases(self, session: Session, ctx: ProgramContext) -> tuple[dict[str, Row], date | None]:
        """kind → the phase, and the program's last day (the latest end of its phases)."""
        if self._phases is None or not self._told:
            rows = core(session, _PHASES, {"program_id": ctx.id}).all()
            self._phases = ({p.kind: p for p in rows}, max((p.end for p in rows), default=None))
        return self._phases

    def work(self, session: Session, ctx: ProgramContext, today: date, at: datetime,
             rng: random.Random) -> dict:
        """One simulated day of the units' content work (nothing on a rest day): counts of what happened."""
        calendar = ctx.policies.work_calendar()
        counts: dict[str, int] = {}
        if not calendar.is_workday(today):
            return counts

        def bump(key: str, n: int = 1) -> None:
            counts[key] = counts.get(key, 0) + n

        by_kind, end = self.phases(session, ctx)
        day = _Day(session, ctx, today, at, rng, calendar, bump)
        self._evidence(day, by_kind.get("acceptance"))
        _simulate_selfcheck(day, by_kind.get("self_check"), self.home, self.reported_files)
        _simulate_remediation(day, by_kind.get("remediation"), self.home)
        _simulate_extensions(day, self.leads, end)
        return counts

    def leads(self, session: Session, ctx: ProgramContext) -> dict[int, str]:
        """task id → the code of its first lead unit."""
        if self._leads is None:
            recipients = Recipients(session, ctx.id)
            self._leads = {task_id: first[0].code for task_id in recipients.by_task
                           if (first := recipients.of(task_id, "lead"))}
        return self._leads

    def reported_files(self, session: Session, ctx: ProgramContext) -> dict[str, list[str]]:
        """task code → the names of the files its reports carry, the reports made since the last call read."""
        for report_id, code, files in core(session, _REPORTS_SINCE,
                                                    {"program_id": ctx.id, "after": self._last_report}):
            self._last_report = max(self._last_report, report_id)
            if files:
                self._files.setdefault(code, []).extend(Path(f).name for f in files)
        return self._files

    def _evidence(self, day: _Day, acceptance) -> None:
        """Done tasks none of whose reports carries evidence yet get some, now and then."""
        session, ctx, rng = day.session, day.ctx, day.rng
        done = core(session, _DONE, {"program_id": ctx.id}).all()
        if not done:
            return
        leads = self.leads(session, ctx)
        in_acceptance = acceptance is not None and acceptance.start <= day.today
        for task_id, code, title, spec in done:
            if task_id not in leads:
                continue
            unit = leads[task_id]
            forgetful = _profile(ctx.id, unit) == 2
            draw, partial = rng.random(), rng.random()
            chance = (0.3 if forgetful else 0.5) if in_acceptance else (0.0 if forgetful else 0.15)
            if draw >= chance:
                continue
            files = write_evidence(ctx, self.home, code, title, spec, unit, day.today,
                                   only_first=partial < 0.15)
            add_evidence(session, ctx, code, unit, files, day.at, text(ctx.language, "simulation.evidence"),
                         "simulate")
            day.bump("evidence_reports")
            day.bump("evidence_files", len(files))


@dataclass(frozen=True)
class _Day:
    """One simulated workday of one program, as every part of the units' work reads it."""

    session: Session
    ctx: ProgramContext
    today: date
    at: datetime
    rng: random.Random
    calendar: WorkCalendar
    bump: Callable[..., None]


def _simulate_selfcheck(day: _Day, phase, settings_home: Path,
                        reported_files: Callable[[Session, ProgramContext], dict[str, list[str]]]) -> None:
    if phase is None or phase.state not in ("open", "overrun") or day.today < phase.start:
        return
    session, ctx, today, calendar = day.session, day.ctx, day.today, day.calendar
    decision = phase_decision(session, ctx.id, "self_check")
    if decision is not None and decision.approve:
        return
    for _unit_id, code in missing_units(session, ctx).items():
        late_returner = _profile(ctx.id, code) in (0, 1)
        draw = day.rng.random()
        if late_returner:
            after = calendar.workdays_between(phase.end, today)
            returns = after >= 1 and (draw < 0.35 or after >= 12)
        else:
            since = calendar.workdays_between(phase.start, today)
            left = calendar.workdays_between(today, phase.end)
            returns = since >= 5 and (draw < 0.12 or left <= 2)
        if returns:
            _return_form(day, code, settings_home, phase.start, reported_files(session, ctx))


def _return_form(day: _Day, unit_code: str, settings_home: Path, listed_on: date,
                 files_of: dict[str, list[str]]) -> None:
    """The unit fills in the form it was sent and returns it: read back like any returned form. `listed_on`:
    the day the form's task list is read as of (db.selfcheck.listed_on; the rows' light is not read), so that
    the unit, the form and its record share one read of it."""
    session, ctx, rng = day.session, day.ctx, day.rng
    labels = COMPLETION_LABELS[ctx.language]
    problems = PROBLEMS_EN if ctx.language == "en" else PROBLEMS_ZH
    status = {row["code"]: row for row in task_rows(session, ctx, listed_on)}
    forgetful = _profile(ctx.id, unit_code) == 2
    spec = form_spec(session, ctx, unit_code)
    answers = {}  # task code → what the unit writes in H–K of its row, row by row as it reads the form
    for row in spec.rows:
        code = str(cell_value(row.code))  # as the form shows it
        status_row = status.get(code)
        d1, d2, d3 = rng.random(), rng.random(), rng.randint(0, 100)
        problem = problems[d3 % len(problems)]
        if status_row is None or status_row["status"] == "not_started":
            due = None if status_row is None else status_row["due"]
            late = status_row is None or not due or date.fromisoformat(due) <= day.today
            answers[row.code] = (labels["not_done"], 20 + d3 % 30, None, problem if late else None)
        elif status_row["status"] == "in_progress":
            answers[row.code] = (labels["partial"], 55 + d3 % 26, None, problem if d1 < 0.6 else None)
        else:
            files = files_of.get(code, [])
            if files:
                evidence = "、".join(dict.fromkeys(files))
            elif not forgetful and d1 >= 0.15:
                evidence = "、".join(checklist(status_row["evidence_spec"]) or [status_row["title"][:12]])
            else:
                evidence = None
            answers[row.code] = (labels["done"], 85 + d3 % 16, evidence, problem if d2 < 0.08 else None)
    folder = settings_home / "selfcheck" / ctx.id / "returned"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / form_filename(ctx.id, unit_code)
    # The form as issued, filled in and saved by the unit, then read back like any returned form.
    path.write_bytes(write_form(spec, answers))
    results, _problems = import_forms(session, ctx, [path], day.at, unit_code, actor="simulate",
                                      issued={unit_code: {row.code for row in spec.rows}})
    day.bump("selfcheck_returned" if results else "selfcheck_refused")


def _simulate_remediation(day: _Day, phase, settings_home: Path) -> None:
    session, ctx, today, calendar = day.session, day.ctx, day.today, day.calendar
    if phase is None or today < phase.start:
        return  # db.remediation.derive_items makes items once the remediation window has opened, not before
    for item_code, item_title, created_on, due, unit_code, task_code, title, spec, kind in core(
            session, _OPEN_ITEMS, {"program_id": ctx.id}).all():
        draw = day.rng.random()
        late_unit = _profile(ctx.id, unit_code) in (0, 1)
        since = calendar.workdays_between(created_on, today)
        left = calendar.workdays_between(today, due)
        if late_unit:
            closes = left < 0 and (draw < 0.3 or -left >= 10)
        else:
            closes = since >= 2 and (draw < 0.1 or left <= 1)
        if not closes:
            continue
        label = text(ctx.language, "simulation.remediation_report") if kind == "problem" else None
        files = write_evidence(
            ctx, settings_home, task_code or item_code, title or item_title, spec, unit_code, today,
            label=label)
        try:
            # As a unit closes its item in the portal: with its 原因分析 and 整改措施.
            report_item(session, ctx, item_code, unit_code, "done", None,
                        text(ctx.language, "simulation.fixed"), files, day.at, "simulate",
                        cause=text(ctx.language, "simulation.cause"),
                        measure=text(ctx.language, "simulation.measure"))
        except InvalidInput:
            day.bump("remediation_refused")
            continue
        day.bump("remediation_closed")
        day.bump("remediation_closed_late" if today > due else "remediation_closed_on_time")


def _simulate_extensions(day: _Day, lead_units: Callable[[Session, ProgramContext], dict[int, str]],
                         end: date | None) -> None:
    """`end`: the program's last day (its phases' latest end)."""
    session, ctx, calendar = day.session, day.ctx, day.calendar
    rows = core(session, _DUE_SOON, {"program_id": ctx.id, "today": day.today,
                                      "horizon": calendar.add_workdays(day.today, 3)}).all()
    if not rows:
        return
    leads = lead_units(session, ctx)
    for _instance_id, task_id, code, due in rows:
        if day.rng.random() >= 0.1 or task_id not in leads:
            continue
        to = min(calendar.add_workdays(due, 15), end) if end else calendar.add_workdays(due, 15)
        if to <= due:
            continue
        try:
            request = request_extension(session, ctx, code, leads[task_id], to,
                                        text(ctx.language, "simulation.more_coordination"),
                                        day.at, f"unit:{leads[task_id]}")
            approve_extension(session, ctx, request["id"], text(ctx.language, "simulation.coordinator"),
                              day.at, source="simulate")
        except InvalidInput:
            continue
        day.bump("extensions_approved")
