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


def content_candidates(session: Session, ctx: ProgramContext, today: date, recipients: Recipients) -> list[Candidate]:
    """Every content notice due as of today, before claiming. Nothing on non-workdays."""
    calendar = ctx.policies.work_calendar()
    if not calendar.is_workday(today):
        return []
    candidates: list[Candidate] = []
    candidates += _selfcheck(session, ctx, today, calendar, recipients)
    candidates += _remediation(session, ctx, today, calendar)
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
    from db.content_gates import phase_decision

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
            data={**base, "note": _t(ctx, f"请填写附件中的自查表，于 {end} 前交回",
                                     f"fill in the attached form and return it by {end}")}))
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
            data={**base, "note": _t(ctx, f"整改事项，请于 {due} 前整改到位，用 duban report 报送办结",
                                     f"remediation item, due {due}; report it done with duban report")}))
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
                                          f"duban extension approve|reject {ctx.id} {request.id}",
                                     f"{request.from_due} → {request.to_due}, reason: {request.reason}; "
                                     f"duban extension approve|reject {ctx.id} {request.id}")}))
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


def _profile(program_id: str, unit_code: str) -> int:
    """A unit's temperament, stable across seeds: 0–9 (0–1 late returners, 2 forgetful with evidence)."""
    return zlib.crc32(f"{program_id}:{unit_code}".encode()) % 10


def simulate_units(session: Session, ctx: ProgramContext, today: date, at: datetime, rng: random.Random,
                   settings_home: Path) -> dict:
    """One simulated workday of the units' content work, after the progress-report model. Deterministic for a
    seed (the draws follow a fixed order). Returns counts of what happened.

    - self-check: while it runs, each unit with tasks returns its form (a real workbook, filled in and imported
      through the same reader and checks as `duban selfcheck import`), most before the end, late returners after;
      rows follow the database (done / partly / not done), a few done tasks listed without evidence, a few problems;
    - evidence: done tasks without evidence get generated evidence files (named after their 成果形式 items) with
      some delay; forgetful units wait until a remediation item asks for it;
    - remediation: open items are closed, most before their due date, some late, with evidence files;
    - extensions: now and then a unit behind on a task due within three workdays asks for 15 more workdays,
      and the simulated coordinator approves.
    """
    from db.simulation_support import simulate_day  # noqa: F401  (placeholder guard, replaced below)

    raise NotImplementedError
