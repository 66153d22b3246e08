"""The simulated units' phase work for `duban simulate` and `duban demo`: evidence, self-check forms returned,
remediation items closed, extensions asked for. Everything it writes goes under the simulation's own home."""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import (
    COMPLETION_LABELS,
    Finding,
    InvalidInput,
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
    missing_units,
    phase_decision,
    phases,
    program_end,
    report_item,
    request_extension,
    task_rows,
)
from duban.simulation.evidence import write_evidence
from notifications import FIRST_ROW, form_bytes, form_filename, import_forms
from schedule import text

PROBLEMS_ZH = ("工作推进进度滞后于计划", "部门协同机制尚未完全建立", "经费保障不足", "宣传覆盖面有待扩大",
               "基层执法力量薄弱", "数据统计口径不统一")


PROBLEMS_EN = ("behind the planned schedule", "coordination with other departments not yet in place",
               "insufficient funding", "publicity does not reach far enough", "too few enforcement staff",
               "statistics not yet harmonised")


_DOCUMENT_WORDS = ("表", "台账", "清单", "统计", "名单", "目录")



def _profile(program_id: str, unit_code: str) -> int:
    """A unit's temperament, stable across seeds: 0–9. 0–1: returns its self-check form late and closes
    remediation items late; 2: forgets to attach evidence until a remediation item asks for it."""
    return zlib.crc32(f"{program_id}:{unit_code}".encode()) % 10


def simulate_units(session: Session, ctx: ProgramContext, today: date, at: datetime, rng: random.Random,
                   settings_home: Path, recipients: Recipients | None = None) -> dict:
    """One simulated workday of the units' content work, after the progress-report model. Deterministic for a
    seed: every draw happens in a fixed order. Returns counts of what happened.

    - evidence: done tasks without evidence get generated files (named after their 成果形式 items, now and
    then
      only the first item) with some delay; forgetful units wait for a remediation item, or the acceptance
      phase;
    - self-check: while it runs, each unit with tasks returns its form (a real workbook, filled in from the
      database and imported through the same reader and checks as `duban selfcheck import`), most before the
      end and late returners after it; a few done tasks without evidence listed, a few problems reported;
    - remediation: open items are closed with evidence, most before their due date, late units after it;
    - extensions: now and then a lead unit behind on a task due within three workdays asks for 15 more
    workdays,
      and the simulated coordinator approves it.

    `recipients`: who answers for each task, when the caller keeps them from day to day.
    """
    calendar = ctx.policies.work_calendar()
    counts: dict[str, int] = {}
    if not calendar.is_workday(today):
        return counts

    def bump(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    by_kind = {p.kind: p for p in phases(session, ctx.id)}
    leads = _Leads(session, ctx, recipients)
    _simulate_evidence(session, ctx, today, at, rng, settings_home, by_kind, leads, bump)
    _simulate_selfcheck(session, ctx, today, at, rng, settings_home, by_kind, calendar, bump)
    _simulate_remediation(session, ctx, today, at, rng, settings_home, calendar, bump)
    _simulate_extensions(session, ctx, today, at, rng, calendar, leads, bump)
    return counts


class _Leads:
    """task id → the code of its first lead unit, read when first asked for (from `recipients` if given)."""

    def __init__(self, session: Session, ctx: ProgramContext, recipients: Recipients | None) -> None:
        self.session, self.ctx, self.recipients, self._leads = session, ctx, recipients, None

    def __call__(self) -> dict[int, str]:
        if self._leads is None:
            recipients = self.recipients or Recipients(self.session, self.ctx.id)
            self._leads = {task_id: first[0].code for task_id in recipients.by_task
                           if (first := recipients.of(task_id, "lead"))}
        return self._leads


def _simulate_evidence(session, ctx, today, at, rng, settings_home, by_kind, lead_units, bump) -> None:

    done = session.execute(
        select(Task.id, Task.code, Task.title, Task.evidence_spec)
        .where(
            Task.program_id == ctx.id,
            Task.active.is_(True),
            select(TaskInstance.id)
            .where(TaskInstance.task_id == Task.id, TaskInstance.status == "done")
            .exists(),
        )
        .order_by(Task.id)
    ).all()
    if not done:
        return
    evidenced = {
        task_id
        for task_id, files in session.execute(
            select(ProgressReport.task_id, ProgressReport.evidence).where(ProgressReport.program_id == ctx.id)
        )
        if files
    }
    done = [row for row in done if row[0] not in evidenced]
    if not done:
        return
    leads = lead_units()
    acceptance = by_kind.get("acceptance")
    in_acceptance = acceptance is not None and acceptance.start <= today
    for task_id, code, title, spec in done:
        if task_id not in leads:
            continue
        unit = leads[task_id]
        forgetful = _profile(ctx.id, unit) == 2
        draw, partial = rng.random(), rng.random()
        chance = (0.3 if forgetful else 0.5) if in_acceptance else (0.0 if forgetful else 0.15)
        if draw >= chance:
            continue
        files = write_evidence(ctx, settings_home, code, title, spec, unit, today, only_first=partial < 0.15)
        add_evidence(
            session, ctx, code, unit, files, at, text(ctx.language, "simulation.evidence"), "simulate"
        )
        bump("evidence_reports")
        bump("evidence_files", len(files))


def _simulate_selfcheck(session, ctx, today, at, rng, settings_home, by_kind, calendar, bump) -> None:

    phase = by_kind.get("self_check")
    if phase is None or phase.state not in ("open", "overrun") or today < phase.start:
        return
    decision = phase_decision(session, ctx.id, "self_check")
    if decision is not None and decision.approve:
        return
    for _unit_id, code in missing_units(session, ctx).items():
        late_returner = _profile(ctx.id, code) in (0, 1)
        draw = rng.random()
        if late_returner:
            after = calendar.workdays_between(phase.end, today)
            returns = after >= 1 and (draw < 0.35 or after >= 12)
        else:
            since = calendar.workdays_between(phase.start, today)
            left = calendar.workdays_between(today, phase.end)
            returns = since >= 5 and (draw < 0.12 or left <= 2)
        if returns:
            _return_form(session, ctx, code, today, at, rng, settings_home, bump)


def _return_form(session, ctx, unit_code, today, at, rng, settings_home, bump) -> None:
    import io



    language = ctx.language
    labels = COMPLETION_LABELS[language]
    problems = PROBLEMS_EN if language == "en" else PROBLEMS_ZH
    status = {row["code"]: row for row in task_rows(session, ctx, today)}
    task_ids = dict(session.execute(select(Task.code, Task.id).where(Task.program_id == ctx.id)).all())
    files_of: dict[int, list[str]] = {}
    for task_id, files in session.execute(
        select(ProgressReport.task_id, ProgressReport.evidence).where(
            ProgressReport.program_id == ctx.id, ProgressReport.task_id.in_(list(task_ids.values()))
        )
    ):
        files_of.setdefault(task_id, []).extend(Path(f).name for f in files or [])
    forgetful = _profile(ctx.id, unit_code) == 2
    workbook = load_workbook(io.BytesIO(form_bytes(session, ctx, unit_code)))
    sheet = workbook.worksheets[0]
    r = FIRST_ROW
    while sheet[f"A{r}"].value:
        code = str(sheet[f"A{r}"].value)
        row = status.get(code)
        d1, d2, d3 = rng.random(), rng.random(), rng.randint(0, 100)
        if row is None or row["status"] == "not_started":
            sheet[f"H{r}"], sheet[f"I{r}"] = labels["not_done"], 20 + d3 % 30
            if row is None or not row["due"] or date.fromisoformat(row["due"]) <= today:
                sheet[f"K{r}"] = problems[d3 % len(problems)]
        elif row["status"] == "in_progress":
            sheet[f"H{r}"], sheet[f"I{r}"] = labels["partial"], 55 + d3 % 26
            if d1 < 0.6:
                sheet[f"K{r}"] = problems[d3 % len(problems)]
        else:
            sheet[f"H{r}"], sheet[f"I{r}"] = labels["done"], 85 + d3 % 16
            files = files_of.get(task_ids.get(code, -1), [])
            if files:
                sheet[f"J{r}"] = "、".join(dict.fromkeys(files))
            elif not forgetful and d1 >= 0.15:

                sheet[f"J{r}"] = "、".join(checklist(row["evidence_spec"]) or [row["title"][:12]])
            if d2 < 0.08:
                sheet[f"K{r}"] = problems[d3 % len(problems)]
        r += 1
    folder = settings_home / "selfcheck" / ctx.id / "returned"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / form_filename(ctx.id, unit_code)
    workbook.save(path)
    results, _problems = import_forms(session, ctx, [path], at, unit_code, actor="simulate")
    if results:
        bump("selfcheck_returned")
    else:
        bump("selfcheck_refused")


def _simulate_remediation(session, ctx, today, at, rng, settings_home, calendar, bump) -> None:

    rows = session.execute(
        select(RemediationItem, Unit.code, Task.code, Task.title, Task.evidence_spec, Finding.kind)
        .join(Unit, Unit.id == RemediationItem.unit_id)
        .join(Finding, Finding.id == RemediationItem.finding_id)
        .outerjoin(Task, Task.id == RemediationItem.task_id)
        .where(RemediationItem.program_id == ctx.id, RemediationItem.state == "open")
        .order_by(RemediationItem.id)).all()
    for item, unit_code, task_code, title, spec, kind in rows:
        draw = rng.random()
        late_unit = _profile(ctx.id, unit_code) in (0, 1)
        since = calendar.workdays_between(item.created_on, today)
        left = calendar.workdays_between(today, item.due)
        if late_unit:
            closes = left < 0 and (draw < 0.3 or -left >= 10)
        else:
            closes = since >= 2 and (draw < 0.1 or left <= 1)
        if not closes:
            continue
        label = text(ctx.language, "simulation.remediation_report") if kind == "problem" else None
        files = write_evidence(
            ctx, settings_home, task_code or item.code, title or item.title, spec, unit_code, today,
            label=label)
        try:
            report_item(session, ctx, item.code, unit_code, "done", None,
                        text(ctx.language, "simulation.fixed"), files, at, "simulate")
        except InvalidInput:
            bump("remediation_refused")
            continue
        bump("remediation_closed")
        bump("remediation_closed_late" if today > item.due else "remediation_closed_on_time")


def _simulate_extensions(session, ctx, today, at, rng, calendar, lead_units, bump) -> None:

    horizon = calendar.add_workdays(today, 3)
    rows = session.execute(
        select(TaskInstance.id, TaskInstance.task_id, Task.code, TaskInstance.due)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(
            TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.status != "done",
            TaskInstance.retired_on.is_(None), TaskInstance.due > today, TaskInstance.due <= horizon,
            TaskInstance.progress <= 60, TaskInstance.due == TaskInstance.original_due)
        .order_by(TaskInstance.id)
    ).all()
    if not rows:
        return
    leads = lead_units()
    end = program_end(session, ctx.id)
    for _instance_id, task_id, code, due in rows:
        if rng.random() >= 0.1 or task_id not in leads:
            continue
        to = min(calendar.add_workdays(due, 15), end) if end else calendar.add_workdays(due, 15)
        if to <= due:
            continue
        try:
            request = request_extension(session, ctx, code, leads[task_id], to,
                                        text(ctx.language, "simulation.more_coordination"),
                                        at, f"unit:{leads[task_id]}")
            approve_extension(session, ctx, request["id"], text(ctx.language, "simulation.coordinator"),
                              at, source="simulate")
        except InvalidInput:
            continue
        bump("extensions_approved")

