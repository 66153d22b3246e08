"""补差提升: findings become remediation items with a unit and a due date; units close them, the coordinator
may accept one that stays open.

An item's due date: `DUE_WORKDAYS` (20) workdays after the later of the finding's date and the day before
the remediation window opens, and never past the window's end. Items are coded R-1, R-2, … per program in
the order of their findings. Closing an item (`report_item` with status done) that concerns a task not done,
partly done or without evidence also records the task's 办结 report with the evidence, so the acceptance
gate and package see it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from db.bulk import core, flush_pending, update_row
from db.events import record_event
from db.models.core import Phase, Task, Unit
from db.models.decisions import CoordinatorDecision
from db.models.remediation import RemediationItem
from db.models.selfcheck import Finding
from db.programs import InvalidInput, NotFound, ProgramContext
from db.readonly import refuse_archived_write
from db.selfcheck import FINDING_LABELS, lang
from db.tasks import REPORT_STATUSES, current_instance_query, insert_report, record_report
from schedule import clean_optional, text

DUE_WORKDAYS = 20
ITEM_CODE = re.compile(r"^R-\d+$")
ITEM_STATES = ("open", "closed", "accepted")
# Finding kinds whose fix is the task itself being done (with evidence).
TASK_KINDS = ("not_done", "partial", "unreported")


def is_item_code(code: str) -> bool:
    return bool(ITEM_CODE.match(code.strip()))


_REMEDIATION = select(Phase).where(Phase.program_id == bindparam("program_id"), Phase.kind == "remediation")
# Built once, as each check of a running remediation phase reads them.
_WITHOUT_ITEM = (
    select(Finding.id, Finding.found_on, Finding.kind, Finding.unit_id, Finding.task_id,
           Task.code.label("task_code"), Task.title.label("task_title"))
    .outerjoin(Task, Task.id == Finding.task_id)
    .where(Finding.program_id == bindparam("program_id"),
           ~select(RemediationItem.id).where(RemediationItem.finding_id == Finding.id).exists())
    .order_by(Finding.id)
)


def remediation_phase(session: Session, program_id: str) -> Phase | None:
    return session.scalar(_REMEDIATION, {"program_id": program_id})


def item_due(found_on: date, phase: Phase, calendar, workdays: int = DUE_WORKDAYS) -> date:
    anchor = max(found_on, phase.start - timedelta(days=1))
    return min(calendar.add_workdays(anchor, workdays), phase.end)


def _short(text: str, width: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def derive_items(session: Session, ctx: ProgramContext, today: date, at: datetime,
                 phase: Phase | None = None, workdays: int = DUE_WORKDAYS) -> list[dict]:
    """Once the remediation window has opened, every finding without an item gets one. Idempotent. `phase`:
    the remediation phase, as the check has read it already."""
    phase = phase or remediation_phase(session, ctx.id)
    if phase is None or today < phase.start:
        return []
    pending = core(session, _WITHOUT_ITEM, {"program_id": ctx.id}).all()  # the findings' columns, as named
    if not pending:
        return []
    calendar = ctx.policies.work_calendar()
    labels = FINDING_LABELS[lang(ctx)]
    number = (
        session.scalar(select(func.count(RemediationItem.id)).where(RemediationItem.program_id == ctx.id))
        or 0
    )
    created = []
    for finding in pending:
        task_code, task_title = finding.task_code, finding.task_title
        number += 1
        due = item_due(finding.found_on, phase, calendar, workdays)
        title = (
            f"{task_code} {_short(task_title)}：{labels[finding.kind]}" if task_code else labels[finding.kind]
        )
        item = RemediationItem(
            program_id=ctx.id, code=f"R-{number}", finding_id=finding.id, unit_id=finding.unit_id,
            task_id=finding.task_id, title=title, due=due, original_due=due, state="open", created_on=today,
            created_at=at, evidence=[])
        session.add(item)
        created.append({"code": item.code, "task": task_code, "kind": finding.kind, "due": due.isoformat()})
    session.flush()
    record_event(session, ctx.id, at, "remediation.derived", f"phase:{phase.kind}", "supervise",
                 {"items": [c["code"] for c in created]})
    return created


# A unit's report on its item and the evidence it adds look these up, built once (db.programs on why).
_OF_PROGRAM = (RemediationItem.program_id == bindparam("program"), RemediationItem.code == bindparam("code"))
_ITEM = select(RemediationItem).where(*_OF_PROGRAM)
# The item with its unit, finding and task (if any), as a unit's report on it reads them: one Core read of the
# columns it reads (the unit's and the task's named unit_*, task_*), not four objects.
_RI, _U, _F, _T = RemediationItem.__table__.c, Unit.__table__.c, Finding.__table__.c, Task.__table__.c
_ITEM_WITH = (
    select(_RI.id, _RI.code, _RI.state, _RI.due, _RI.title, _RI.cause, _RI.measure, _U.id.label("unit_id"),
           _U.code.label("unit_code"), _U.name.label("unit_name"), _F.kind, _T.id.label("task_id"),
           _T.code.label("task_code"), _T.active.label("task_active"))
    .select_from(RemediationItem.__table__.join(Unit.__table__, _U.id == _RI.unit_id)
                 .join(Finding.__table__, _F.id == _RI.finding_id)
                 .outerjoin(Task.__table__, _T.id == _RI.task_id))
    .where(_RI.program_id == bindparam("program"), _RI.code == bindparam("code")))
# A task's current instance as the program's ranking has it (current_instances: retired ones left out): the
# columns a report that repeats its state reads.
_CURRENT = current_instance_query(core=True)
# What add_evidence looks up: the task and the unit by their codes, in one read.
_TASK_AND_UNIT = (
    select(_T.id, _T.code, _U.id.label("unit_id"), _U.code.label("unit_code"))
    .join_from(Task.__table__, Unit.__table__, _U.program_id == _T.program_id)  # one of each, by code
    .where(_T.program_id == bindparam("program"), _T.code == bindparam("code"),
           _U.code == bindparam("unit_code")))


def _item(session: Session, ctx: ProgramContext, code: str, statement: Select = _ITEM) -> Row:
    found = session.execute(statement, {"program": ctx.id, "code": code.strip()}).first()
    if found is None:
        raise NotFound(text(ctx.language, "remediation.missing", program=ctx.id, code=code))
    return found


def report_item(session: Session, ctx: ProgramContext, code: str, unit_code: str, status: str,
                progress: int | None, note: str | None, evidence: list[str], at: datetime,
                actor: str = "cli", cause: str | None = None, measure: str | None = None) -> dict:
    """A unit's report on its remediation item: status done closes it (duban report PROGRAM R-3 --unit …).
    `cause` (原因分析) and `measure` (整改措施), as 补差提升 asks, are kept on the item whenever given; the
    acceptance package shows them, and lists an item closed without them as a gap."""
    if status not in REPORT_STATUSES:
        raise InvalidInput(text(ctx.language, "error.status_invalid", status=status,
                                choices=" | ".join(REPORT_STATUSES)))
    flush_pending(session)  # the item's read is Core
    item = _item(session, ctx, code, _ITEM_WITH)
    note = clean_optional(note)
    if unit_code != item.unit_code:
        raise InvalidInput(text(ctx.language, "remediation.other_unit", code=item.code, name=item.unit_name,
                                unit=item.unit_code, given=unit_code))
    if item.state != "open":
        raise InvalidInput(text(ctx.language, f"remediation.{item.state}_no_report", code=item.code))
    if status == "done" and item.kind in ("no_evidence",) and not evidence:
        raise InvalidInput(text(ctx.language, "remediation.evidence_needed", code=item.code))
    refuse_archived_write(session, ctx.id)  # before anything is written: the statements below are Core
    today = ctx.local_date(at)
    unit = item.unit_code
    explained = {"cause": clean_optional(cause) or item.cause,
                 "measure": clean_optional(measure) or item.measure}
    data = {"unit": unit, "status": status, "progress": progress, "note": note, "evidence": evidence,
            "due": item.due.isoformat(), **explained}
    if status != "done":
        update_row(session, RemediationItem, item.id, ctx.id, **explained)
        record_event(session, ctx.id, at, "remediation.reported", f"item:{item.code}", actor, data)
        return {
            "program": ctx.id, "item": item.code, "code": item.code, "unit": unit, "state": item.state,
            "status": status, "progress": progress or 0, "due": item.due.isoformat(), "evidence": evidence}
    update_row(session, RemediationItem, item.id, ctx.id, state="closed", closed_on=today, closed_at=at,
               closed_by=actor, note=note, evidence=list(evidence), **explained)
    if item.task_id is not None and item.task_active:
        instance = core(session, _CURRENT, {"task_id": item.task_id}).first()
        if item.kind in TASK_KINDS and (instance is None or instance.status != "done"):
            record_report(session, ctx, item.task_code, unit, "done", 100, note or item.title, evidence,
                          at, actor)
        elif evidence:
            _evidence_report(session, ctx, item.task_id, item.task_code, item.unit_id, unit, instance,
                             evidence, at, note or item.title, actor)
    record_event(session, ctx.id, at, "remediation.closed", f"item:{item.code}", actor,
                 {**data, "late": today > item.due})
    return {"program": ctx.id, "item": item.code, "code": item.code, "unit": unit, "state": "closed",
            "status": status, "progress": 100, "due": item.due.isoformat(), "evidence": evidence,
            "closed_on": today.isoformat(), "late": today > item.due, "reported_at": at.isoformat(),
            **explained}


def add_evidence(session: Session, ctx: ProgramContext, code: str, unit_code: str, evidence: list[str],
                 at: datetime, note: str | None = None, actor: str = "cli") -> None:
    """Evidence for a task without changing its status or 办结 date: a report that repeats the current
    state."""
    found = core(session, _TASK_AND_UNIT, {"program": ctx.id, "code": code, "unit_code": unit_code}).first()
    if found is None:
        raise NotFound(text(ctx.language, "error.ack_unknown", program=ctx.id, code=code, unit=unit_code))
    refuse_archived_write(session, ctx.id)
    instance = core(session, _CURRENT, {"task_id": found.id}).first()
    _evidence_report(session, ctx, found.id, found.code, found.unit_id, found.unit_code, instance, evidence,
                     at, note, actor)


def _evidence_report(session: Session, ctx: ProgramContext, task_id: int, task_code: str, unit_id: int,
                     unit_code: str, instance: Row, evidence: list[str], at: datetime, note: str | None,
                     actor: str) -> None:
    """A report that repeats the instance's state with the evidence, inserted through Core (db.tasks)."""
    insert_report(session, {"program_id": ctx.id, "task_id": task_id, "instance_id": instance.id,
                            "unit_id": unit_id, "status": instance.status, "progress": instance.progress,
                            "note": note, "evidence": list(evidence), "reported_at": at})
    record_event(session, ctx.id, at, "task.evidence", f"task:{task_code}", actor,
                 {"unit": unit_code, "evidence": evidence})


def accept_item(session: Session, ctx: ProgramContext, code: str, actor: str, at: datetime,
                note: str | None = None, source: str = "cli") -> dict:
    """The coordinator accepts an item that stays open (认可): it no longer holds the remediation gate."""
    item, = _item(session, ctx, code)
    note = clean_optional(note)
    if item.state != "open":
        raise InvalidInput(text(ctx.language, f"remediation.already_{item.state}", code=item.code))
    item.state, item.closed_on, item.closed_at, item.closed_by, item.note = (
        "accepted", ctx.local_date(at), at, actor, note)
    session.add(CoordinatorDecision(program_id=ctx.id, kind="item", subject=f"item:{item.code}", approve=True,
                                    decided_by=actor, decided_at=at, note=note, source=source))
    record_event(session, ctx.id, at, "remediation.accepted", f"item:{item.code}", actor, {"note": note})
    return {"program": ctx.id, "item": item.code, "state": "accepted", "by": actor}


def list_items(
    session: Session, ctx: ProgramContext, today: date, unit_code: str | None = None
) -> list[dict]:
    calendar = ctx.policies.work_calendar()
    labels = FINDING_LABELS[lang(ctx)]
    query = (
        select(RemediationItem, Finding, Unit.code, Unit.name, Task.code)
        .join(Finding, Finding.id == RemediationItem.finding_id)
        .join(Unit, Unit.id == RemediationItem.unit_id)
        .outerjoin(Task, Task.id == RemediationItem.task_id)
        .where(RemediationItem.program_id == ctx.id, *([] if unit_code is None else [Unit.code == unit_code]))
        .order_by(RemediationItem.id)
    )
    rows = []
    for item, finding, code, name, task_code in session.execute(query):
        overdue = (
            calendar.workdays_between(item.due, today) if item.state == "open" and item.due < today else 0
        )
        late = item.closed_on is not None and item.state == "closed" and item.closed_on > item.due
        rows.append(
            {
                "code": item.code, "unit": code, "unit_name": name, "task": task_code, "kind": finding.kind,
                "finding": labels[finding.kind], "detail": finding.detail,
                "found_on": finding.found_on.isoformat(), "title": item.title, "due": item.due.isoformat(),
                "original_due": item.original_due.isoformat() if item.original_due != item.due else None,
                "state": item.state, "closed_on": item.closed_on.isoformat() if item.closed_on else None,
                "closed_by": item.closed_by, "late": late, "overdue_workdays": overdue,
                "evidence": item.evidence, "note": item.note, "cause": item.cause, "measure": item.measure}
        )
    return rows


def pending_findings(session: Session, program_id: str) -> int:
    return session.scalar(select(func.count(Finding.id)).where(
        Finding.program_id == program_id,
        ~select(RemediationItem.id).where(RemediationItem.finding_id == Finding.id).exists())) or 0
