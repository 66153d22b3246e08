"""Notices of the phase content, with exactly-once keys in the style of db/ladder.py, and the simulated units'
content behaviour for `duban simulate`.

Kinds (all keys start `kind:program:`; a key names its subject, its recipient and audience, and the date or
slot, so a re-run claims nothing twice and a moved date re-arms the rungs):
- selfcheck_form         the unit's self-check form (attachment), once, while self-check runs and it is not back
                         `selfcheck_form:P:self_check:UNIT`
- selfcheck_missing      form not back: N workdays before the self-check end (the before_due rungs), then every
                         overdue_every_workdays after it; past escalate_after also to the unit's leader and the
                         coordinator (data.escalated = true). Stops when the form is back or the coordinator
                         approved closing the phase.
                         `selfcheck_missing:P:self_check:UNIT:unit:END:b3` / `…:unit:END:o2` / `…:UNIT:leader:END:o3` /
                         `…:coordinator:UNIT:END:o3`
- remediation_assigned   a new remediation item, to its unit, once: `remediation_assigned:P:R-3:UNIT`
- remediation_before_due / remediation_overdue / remediation_escalation
                         the task ladder on an open item's due date: `remediation_before_due:P:R-3:UNIT:DUE:3`,
                         `remediation_overdue:P:R-3:UNIT:DUE:2`, `remediation_escalation:P:R-3:UNIT:leader:DUE:3`,
                         `remediation_escalation:P:R-3:coordinator:UNIT:DUE:3`
- extension_requested    a pending extension request, to the coordinator: `extension_requested:P:ext7:coordinator`
- extension_decided      the decision, to the requesting unit: `extension_decided:P:ext7:UNIT:approved`
Every candidate's data has `title` and `note` in the program's language (the digest shows them), plus the
structured fields (item, task, due, finding, …). `task_code` is the item code for remediation notices and the
task code for extension notices.
"""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.content_gates import phase_decision
from db.content_models import ExtensionRequest, Finding, RemediationItem
from db.ladder import Candidate, Recipients
from db.models import Phase, Task, Unit
from db.queries import ProgramContext
from db.selfcheck import FINDING_LABELS, lang, returns_by_unit
from notifications.message import Attachment
from schedule.reminders import before_due_offset, overdue_slot

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _t(ctx: ProgramContext, zh: str, en: str) -> str:
    return en if lang(ctx) == "en" else zh


CONTENT_PARTS = ("self_check", "remediation", "extensions")


def content_candidates(session: Session, ctx: ProgramContext, today: date, recipients: Recipients,
                       parts: tuple[str, ...] = CONTENT_PARTS) -> list[Candidate]:
    """The content notices due as of today, before claiming: self-check forms, remediation items, extension
    decisions (or the `parts` named). Nothing on non-workdays."""
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    if "self_check" in parts:
        candidates += _selfcheck(session, ctx, today, calendar, recipients)
    if "remediation" in parts:
        candidates += _remediation(session, ctx, today, calendar)
    if "extensions" in parts:
        candidates += _extensions(session, ctx)
    return candidates


def _units_with_tasks(session: Session, ctx: ProgramContext, recipients: Recipients) -> dict[int, str]:
    active = set(session.scalars(select(Task.id).where(Task.program_id == ctx.id, Task.active.is_(True))))
    units: dict[int, str] = {}
    for task_id, people in recipients.by_task.items():
        if task_id in active:
            for r in people:
                units[r.unit_id] = r.code
    return dict(sorted(units.items(), key=lambda kv: kv[1]))


def _selfcheck(session: Session, ctx: ProgramContext, today: date, calendar, recipients: Recipients) -> list[Candidate]:
    phase = session.scalar(select(Phase).where(Phase.program_id == ctx.id, Phase.kind == "self_check"))
    if phase is None or phase.state not in ("open", "overrun") or today < phase.start:
        return []
    decision = phase_decision(session, ctx.id, "self_check")
    if decision is not None and decision.approve:
        return []
    returned = returns_by_unit(session, ctx.id)
    missing = {unit_id: code for unit_id, code in _units_with_tasks(session, ctx, recipients).items()
               if unit_id not in returned}
    if not missing:
        return []
    policy = ctx.policies.reminders
    coordinator = ctx.program.coordinator_unit_id
    end = phase.end
    base = {"phase": "self_check", "end": end.isoformat(), "title": _t(ctx, f"{phase.name}：自查表", f"{phase.name}: self-check form")}
    candidates = []
    for unit_id, code in missing.items():
        candidates.append(Candidate(
            f"selfcheck_form:{ctx.id}:self_check:{code}", "selfcheck_form", unit_id,
            data={**base, "note": _t(ctx, f"请填写本单位自查表，于 {end} 前交回",
                                     f"fill in your unit's form and return it by {end}")}))
        offset = before_due_offset(today, end, policy.before_due_workdays, calendar)
        if offset is not None:
            candidates.append(Candidate(
                f"selfcheck_missing:{ctx.id}:self_check:{code}:unit:{end}:b{offset}", "selfcheck_missing", unit_id,
                due=end, data={**base, "stage": "before_end", "workdays": offset,
                               "note": _t(ctx, f"自查表尚未交回，距截止还有 {offset} 个工作日",
                                          f"self-check form not returned, {offset} workday(s) left")}))
            continue
        slot = overdue_slot(today, end, policy.overdue_every_workdays, calendar)
        if slot is None:
            continue
        late = calendar.workdays_between(end, today)
        data = {**base, "stage": "overdue", "slot": slot, "overdue_workdays": late,
                "note": _t(ctx, f"自查表逾期未交回 {late} 个工作日（第 {slot} 次催交）",
                           f"self-check form {late} workday(s) overdue (reminder #{slot})")}
        candidates.append(Candidate(f"selfcheck_missing:{ctx.id}:self_check:{code}:unit:{end}:o{slot}",
                                    "selfcheck_missing", unit_id, due=end, data=data))
        if slot <= policy.escalate_after:
            continue
        escalated = {**data, "escalated": True, "unit": code,
                     "note": _t(ctx, f"单位 {code} 自查表逾期 {late} 个工作日未交回（督办）",
                                f"unit {code}: self-check form {late} workday(s) overdue (escalated)")}
        candidates.append(Candidate(f"selfcheck_missing:{ctx.id}:self_check:{code}:leader:{end}:o{slot}",
                                    "selfcheck_missing", unit_id, "leader", due=end, subject_unit_id=unit_id,
                                    data=escalated))
        if coordinator is not None:
            candidates.append(Candidate(f"selfcheck_missing:{ctx.id}:self_check:coordinator:{code}:{end}:o{slot}",
                                        "selfcheck_missing", coordinator, "unit", due=end, subject_unit_id=unit_id,
                                        data=escalated))
    return candidates


def _remediation(session: Session, ctx: ProgramContext, today: date, calendar) -> list[Candidate]:
    rows = session.execute(
        select(RemediationItem, Unit.code, Finding.kind, Task.code)
        .join(Unit, Unit.id == RemediationItem.unit_id)
        .join(Finding, Finding.id == RemediationItem.finding_id)
        .outerjoin(Task, Task.id == RemediationItem.task_id)
        .where(RemediationItem.program_id == ctx.id, RemediationItem.state == "open")
        .order_by(RemediationItem.id)
    ).all()
    policy = ctx.policies.reminders
    coordinator = ctx.program.coordinator_unit_id
    labels = FINDING_LABELS[lang(ctx)]
    candidates = []
    for item, code, finding_kind, task_code in rows:
        due = item.due
        base = {"item": item.code, "task": task_code, "finding": finding_kind, "finding_label": labels[finding_kind],
                "due": due.isoformat(), "title": f"{item.code} {item.title}"}
        candidates.append(Candidate(
            f"remediation_assigned:{ctx.id}:{item.code}:{code}", "remediation_assigned", item.unit_id,
            task_code=item.code, due=due,
            data={**base, "note": _t(ctx, f"整改事项，请于 {due} 前整改到位，并在本单位督办页面报送办结",
                                     f"remediation item, due {due}; report it done on your unit's page")}))
        if due > today:
            offset = before_due_offset(today, due, policy.before_due_workdays, calendar)
            if offset is not None:
                candidates.append(Candidate(
                    f"remediation_before_due:{ctx.id}:{item.code}:{code}:{due}:{offset}", "remediation_before_due",
                    item.unit_id, task_code=item.code, due=due,
                    data={**base, "workdays": offset,
                          "note": _t(ctx, f"距整改时限还有 {offset} 个工作日", f"{offset} workday(s) left")}))
            continue
        slot = overdue_slot(today, due, policy.overdue_every_workdays, calendar)
        if slot is None:
            continue
        late = calendar.workdays_between(due, today)
        data = {**base, "slot": slot, "overdue_workdays": late,
                "note": _t(ctx, f"整改已逾期 {late} 个工作日（第 {slot} 次催办）",
                           f"overdue {late} workday(s), reminder #{slot}")}
        candidates.append(Candidate(f"remediation_overdue:{ctx.id}:{item.code}:{code}:{due}:{slot}",
                                    "remediation_overdue", item.unit_id, task_code=item.code, due=due, data=data))
        if slot <= policy.escalate_after:
            continue
        escalated = {**data, "unit": code,
                     "note": _t(ctx, f"责任单位 {code}，整改已逾期 {late} 个工作日（督办）",
                                f"unit {code}, overdue {late} workday(s) (escalated)")}
        candidates.append(Candidate(f"remediation_escalation:{ctx.id}:{item.code}:{code}:leader:{due}:{slot}",
                                    "remediation_escalation", item.unit_id, "leader", task_code=item.code, due=due,
                                    subject_unit_id=item.unit_id, data=escalated))
        if coordinator is not None:
            candidates.append(Candidate(f"remediation_escalation:{ctx.id}:{item.code}:coordinator:{code}:{due}:{slot}",
                                        "remediation_escalation", coordinator, "unit", task_code=item.code, due=due,
                                        subject_unit_id=item.unit_id, data=escalated))
    return candidates


def _extensions(session: Session, ctx: ProgramContext) -> list[Candidate]:
    coordinator = ctx.program.coordinator_unit_id
    rows = session.execute(
        select(ExtensionRequest, Unit.code, Task.code)
        .join(Unit, Unit.id == ExtensionRequest.unit_id).join(Task, Task.id == ExtensionRequest.task_id)
        .where(ExtensionRequest.program_id == ctx.id).order_by(ExtensionRequest.id)
    ).all()
    candidates = []
    for request, code, task_code in rows:
        base = {"request": request.id, "task": task_code, "unit": code, "from": request.from_due.isoformat(),
                "to": request.to_due.isoformat(), "reason": request.reason, "state": request.state}
        if request.state == "pending":
            if coordinator is not None:
                candidates.append(Candidate(
                    f"extension_requested:{ctx.id}:ext{request.id}:coordinator", "extension_requested", coordinator,
                    task_code=task_code, due=request.from_due,
                    data={**base, "title": _t(ctx, f"延期申请 #{request.id}：{task_code}（{code}）",
                                              f"extension request #{request.id}: {task_code} ({code})"),
                          "note": _t(ctx, f"{request.from_due} → {request.to_due}，理由：{request.reason}；"
                                          "请在督办门户的审核页面批准或驳回",
                                     f"{request.from_due} → {request.to_due}, reason: {request.reason}; "
                                     "approve or reject it on the portal's review page")}))
            continue
        approved = request.state == "approved"
        verdict = _t(ctx, "已批准" if approved else "未批准", "approved" if approved else "rejected")
        due = request.to_due if approved else request.from_due
        candidates.append(Candidate(
            f"extension_decided:{ctx.id}:ext{request.id}:{code}:{request.state}", "extension_decided", request.unit_id,
            task_code=task_code, due=due,
            data={**base, "decided_by": request.decided_by, "decision_note": request.decision_note,
                  "title": _t(ctx, f"延期申请 #{request.id}（{task_code}）{verdict}",
                              f"extension request #{request.id} ({task_code}) {verdict}"),
                  "note": _t(ctx, f"完成时限为 {due}" + (f"；{request.decision_note}" if request.decision_note else ""),
                             f"the due date is {due}" + (f"; {request.decision_note}" if request.decision_note else ""))}))
    return candidates


def selfcheck_form_attachment(session: Session, ctx: ProgramContext, unit_code: str, rows: list | None = None) -> Attachment:
    """The unit's self-check workbook, for the selfcheck_form notice. (`rows` is ignored: it matches the
    dispatcher's AttachmentBuilder signature.)"""
    from notifications.selfcheck_forms import form_bytes, form_filename

    return Attachment(form_filename(ctx.id, unit_code), form_bytes(session, ctx, unit_code), XLSX)


# ---------------------------------------------------------------- simulation

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


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ASCII lines: enough for a reviewer's viewer to open."""
    def escape(text: str) -> str:
        return text.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = "BT /F1 12 Tf 72 770 Td " + " ".join(f"({escape(line)}) Tj 0 -18 Td" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(body)} >>\nstream\n{body}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def write_evidence(ctx: ProgramContext, settings_home: Path, code: str, title: str, spec: str | None,
                   unit_code: str, today: date, only_first: bool = False, label: str | None = None) -> list[str]:
    """Generated evidence files named after the task's checklist items, under settings_home/evidence/PROGRAM/CODE/."""
    from db.acceptance import checklist

    items = [label] if label else (checklist(spec) or [title[:12]])
    if only_first:
        items = items[:1]
    folder = settings_home / "evidence" / ctx.id / "".join(c if c.isalnum() or c in "-_." else "_" for c in code)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, item in enumerate(items, 1):
        safe = "".join(c for c in item if c not in '\\/:*?"<>|').strip() or f"item{number}"
        if any(word in item for word in _DOCUMENT_WORDS):
            path = folder / f"{safe}.csv"
            path.write_text(f"task,unit,date,item\n{code},{unit_code},{today},{item}\n", "utf-8")
        else:
            path = folder / f"{safe}.pdf"
            path.write_bytes(_pdf(["duban simulated evidence", f"program: {ctx.id}", f"task: {code}",
                                   f"item {number} of {len(items)}", f"unit: {unit_code}", f"date: {today}"]))
        paths.append(str(path))
    return paths


def simulate_units(session: Session, ctx: ProgramContext, today: date, at: datetime, rng: random.Random,
                   settings_home: Path) -> dict:
    """One simulated workday of the units' content work, after the progress-report model. Deterministic for a
    seed: every draw happens in a fixed order. Returns counts of what happened.

    - evidence: done tasks without evidence get generated files (named after their 成果形式 items, now and then
      only the first item) with some delay; forgetful units wait for a remediation item, or the acceptance phase;
    - self-check: while it runs, each unit with tasks returns its form (a real workbook, filled in from the
      database and imported through the same reader and checks as `duban selfcheck import`), most before the
      end and late returners after it; a few done tasks without evidence listed, a few problems reported;
    - remediation: open items are closed with evidence, most before their due date, late units after it;
    - extensions: now and then a lead unit behind on a task due within three workdays asks for 15 more workdays,
      and the simulated coordinator approves it.
    """
    calendar = ctx.policies.work_calendar()
    counts: dict[str, int] = {}
    if not calendar.is_workday(today):
        return counts

    def bump(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    phases = {p.kind: p for p in session.scalars(select(Phase).where(Phase.program_id == ctx.id))}
    _simulate_evidence(session, ctx, today, at, rng, settings_home, phases, bump)
    _simulate_selfcheck(session, ctx, today, at, rng, settings_home, phases, calendar, bump)
    _simulate_remediation(session, ctx, today, at, rng, settings_home, calendar, bump)
    _simulate_extensions(session, ctx, today, at, rng, phases, calendar, bump)
    return counts


def _lead_units(session: Session, ctx: ProgramContext) -> dict[int, str]:
    recipients = Recipients(session, ctx.id)
    leads = {}
    for task_id in recipients.by_task:
        first = recipients.of(task_id, "lead")
        if first:
            leads[task_id] = first[0].code
    return leads


def _simulate_evidence(session, ctx, today, at, rng, settings_home, phases, bump) -> None:
    from db.models import ProgressReport, TaskInstance
    from db.remediation import add_evidence

    done = session.execute(
        select(Task.id, Task.code, Task.title, Task.evidence_spec)
        .where(Task.program_id == ctx.id, Task.active.is_(True),
               select(TaskInstance.id).where(TaskInstance.task_id == Task.id, TaskInstance.status == "done",
                                             TaskInstance.retired_on.is_(None)).exists())
        .order_by(Task.id)).all()
    if not done:
        return
    evidenced = {task_id for task_id, files in session.execute(
        select(ProgressReport.task_id, ProgressReport.evidence).where(ProgressReport.program_id == ctx.id)) if files}
    done = [row for row in done if row[0] not in evidenced]
    if not done:
        return
    leads = _lead_units(session, ctx)
    acceptance = phases.get("acceptance")
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
        add_evidence(session, ctx, code, unit, files, at, _t(ctx, "模拟报送佐证材料", "simulated evidence"), "simulate")
        bump("evidence_reports")
        bump("evidence_files", len(files))


def _simulate_selfcheck(session, ctx, today, at, rng, settings_home, phases, calendar, bump) -> None:
    from db.selfcheck import missing_units

    phase = phases.get("self_check")
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

    from openpyxl import load_workbook

    from db.models import ProgressReport
    from db.queries import task_rows
    from db.selfcheck import COMPLETION_LABELS
    from notifications.selfcheck_forms import FIRST_ROW, form_bytes, form_filename, import_forms

    language = lang(ctx)
    labels = COMPLETION_LABELS[language]
    problems = PROBLEMS_EN if language == "en" else PROBLEMS_ZH
    status = {row["code"]: row for row in task_rows(session, ctx, today)}
    task_ids = dict(session.execute(select(Task.code, Task.id).where(Task.program_id == ctx.id)).all())
    files_of: dict[int, list[str]] = {}
    for task_id, files in session.execute(select(ProgressReport.task_id, ProgressReport.evidence)
                                          .where(ProgressReport.program_id == ctx.id, ProgressReport.task_id.in_(
                                              list(task_ids.values())))):
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
                from db.acceptance import checklist

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
    from db.queries import InvalidInput
    from db.remediation import report_item

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
        label = _t(ctx, "整改报告", "remediation report") if kind == "problem" else None
        files = write_evidence(ctx, settings_home, task_code or item.code, title or item.title, spec, unit_code,
                               today, label=label)
        try:
            report_item(session, ctx, item.code, unit_code, "done", None,
                        _t(ctx, "模拟：已整改到位", "simulated: fixed"), files, at, "simulate")
        except InvalidInput:
            bump("remediation_refused")
            continue
        bump("remediation_closed")
        bump("remediation_closed_late" if today > item.due else "remediation_closed_on_time")


def _simulate_extensions(session, ctx, today, at, rng, phases, calendar, bump) -> None:
    from db.extensions import approve_extension, program_end, request_extension
    from db.models import TaskInstance
    from db.queries import InvalidInput

    horizon = calendar.add_workdays(today, 3)
    rows = session.execute(
        select(TaskInstance.id, TaskInstance.task_id, Task.code, TaskInstance.due)
        .join(Task, Task.id == TaskInstance.task_id)
        .where(TaskInstance.program_id == ctx.id, Task.active.is_(True), TaskInstance.status != "done", TaskInstance.retired_on.is_(None),
               TaskInstance.due > today, TaskInstance.due <= horizon, TaskInstance.progress <= 60,
               TaskInstance.due == TaskInstance.original_due)
        .order_by(TaskInstance.id)).all()
    if not rows:
        return
    leads = _lead_units(session, ctx)
    end = program_end(session, ctx.id)
    for _instance_id, task_id, code, due in rows:
        if rng.random() >= 0.1 or task_id not in leads:
            continue
        to = min(calendar.add_workdays(due, 15), end) if end else calendar.add_workdays(due, 15)
        if to <= due:
            continue
        try:
            request = request_extension(session, ctx, code, leads[task_id], to,
                                        _t(ctx, "模拟：需与配合单位进一步协调", "simulated: more coordination needed"),
                                        at, f"unit:{leads[task_id]}")
            approve_extension(session, ctx, request["id"], _t(ctx, "领导小组办公室（模拟）", "coordinator (simulated)"),
                              at, source="simulate")
        except InvalidInput:
            continue
        bump("extensions_approved")
