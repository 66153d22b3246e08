"""反馈 → 申请办结 → 审核 (销号 | 退回重办): the rules every report follows, whichever way it arrives (the
portal, a returned 报送表, `duban report`), and the coordinator's review of done claims.

- A unit reports only on tasks it answers for (directly or through a collective).
- Co-units report their part: recorded and shown, the task's status and progress stay the lead's.
- Only the lead unit claims a task done, and a claim needs evidence when the task names a 成果形式 (evidence
  of this report or of an earlier one on the same instance).
- With `review: required` (the default) a claim waits for the coordinator: the instance stays in progress at
  100% until it is passed (销号: done on the claim's date) or returned (退回重办: back in progress, with a
  reason the unit is told, counted in the scores). With `review: none` a claim is done at once.
- While a claim waits, the lead cannot report on the instance again.

Decisions are coordinator_decisions rows (kind `claim`, subject `claim:ID`) and events, like the other
decisions. Notices to the unit: `claim_returned` (with the reason) and `claim_passed`, keys
`claim_returned:P:claimID:UNIT`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Row, String, bindparam, case, cast, exists, func, insert, select
from sqlalchemy.orm import Session

from db.bulk import core, update_row
from db.collectives import follow_shares
from db.events import record_event
from db.models import CoordinatorDecision, DoneClaim, Notice, ProgressReport, Task, TaskInstance, Unit
from db.models.marks import BRINGS_NOTHING
from db.notices import Candidate, notice_key
from db.programs import InvalidInput, NotFound, ProgramContext
from db.tasks import (
    ReportedUnit,
    current_instance,
    current_instance_query,
    refuse_bad_values,
    set_instance,
    task_and_unit,
    write_report,
)
from schedule import Problem, claim_refusal, text

_R = ProgressReport.__table__.c
_EVIDENCE_OF = select(_R.evidence).where(_R.instance_id == bindparam("instance_id"))


# A report's instance with its claim waiting for review, if any: the checks ask both.
_C, _I, _T, _U = DoneClaim.__table__.c, TaskInstance.__table__.c, Task.__table__.c, Unit.__table__.c
_CURRENT_AND_PENDING = current_instance_query(
    select(_C.id).where(_C.instance_id == _I.id, _C.state == "pending").limit(1).scalar_subquery()
    .label("pending"), core=True)


def earlier_evidence(session: Session, instance_id: int) -> list[str]:
    files: list[str] = []
    for evidence in core(session, _EVIDENCE_OF, {"instance_id": instance_id}).scalars():
        files += evidence or []
    return files


class Checked(NamedTuple):
    """A report that passed the rules: what it concerns, looked up once for the checks and the record."""

    task: Row  # the task's columns (db.tasks.task_and_unit)
    unit: ReportedUnit
    instance: Row  # the current instance's columns
    role: str  # lead | co


def check_report(session: Session, ctx: ProgramContext, code: str, unit_code: str, status: str,
                 progress: int | None, evidence: list[str]) -> Checked:
    """The rules, without writing: what the report concerns, or raises InvalidInput/NotFound."""
    language = ctx.language
    refuse_bad_values(language, status, progress)
    task = task_and_unit(session, ctx, code, unit_code)
    if task.unit_id is None:
        raise NotFound(text(language, "error.unit_missing", program=ctx.id, unit=unit_code))
    role = task.role
    if role is None:
        raise InvalidInput(text(language, "error.not_your_task", unit=task.unit_name, code=code))
    instance = core(session, _CURRENT_AND_PENDING, {"task_id": task.id}).one()  # columns named as its own
    if role == "lead" and instance.pending is not None:
        raise InvalidInput(text(language, "refusal.claim_pending", code=code))
    if role == "lead" and instance.status == "done" and status != "done":
        raise InvalidInput(text(language, "refusal.already_done", code=code, done_on=instance.done_on))
    known = evidence + (earlier_evidence(session, instance.id) if status == "done" else [])
    refusal = claim_refusal(status, role == "lead", task.evidence_spec, known, language)
    if refusal:
        raise InvalidInput(refusal)
    return Checked(task, ReportedUnit(task.unit_id, task.unit_code, task.unit_name), instance, role)


# A done claim, inserted on the session (db.models.marks counts claims for the program named) with its id.
_CLAIM_INSERT = insert(DoneClaim.__table__).returning(DoneClaim.__table__.c.id)


def submit_report(
    session: Session,
    ctx: ProgramContext,
    code: str,
    unit_code: str,
    status: str,
    progress: int | None,
    note: str | None,
    evidence: list[str],
    at: datetime,
    actor: str,
) -> dict:
    """A unit's report under the rules above; a done claim opens a review when the program requires one."""
    task, unit, instance, role = check_report(session, ctx, code, unit_code, status, progress, evidence)
    if role == "co":
        effect = "part"
    elif status != "done" or ctx.policies.portal.review == "none":
        effect = "apply"
    else:
        effect = "claim"
    previous = instance.progress
    result = write_report(session, ctx, task, unit, instance, status, progress, note, evidence, at, actor,
                          effect)
    if effect != "claim":
        return {**result, "role": role}
    claim_id = session.execute(_CLAIM_INSERT, {
        "program_id": ctx.id, "task_id": instance.task_id, "instance_id": instance.id, "unit_id": unit.id,
        "report_id": result["report_id"], "previous_progress": previous if previous < 100 else 90,
        "claimed_at": at, "claimed_on": ctx.local_date(at), "state": "pending",
    }, execution_options={"program": ctx.id, BRINGS_NOTHING: True}).scalar_one()  # told once decided
    return {**result, "role": role, "claim": claim_id, "review": "pending"}


# A claim with its task's code and parent and the claiming unit's code, in one Core read built once: the
# columns the decision changes and says, named as the claim's (program_id and parent_code: its task's too, for
# db.collectives.follow_shares).
_CLAIMED = (
    select(_C.id, _C.program_id, _C.state, _C.instance_id, _C.claimed_on, _C.previous_progress,
           _C.decided_by, _C.decided_on, _T.code, _T.parent_code, _U.code.label("unit"))
    .select_from(DoneClaim.__table__.join(Task.__table__, _T.id == _C.task_id)
                 .join(Unit.__table__, _U.id == _C.unit_id))
    .where(_C.id == bindparam("claim_id")))
_DECISION_INSERT = insert(CoordinatorDecision.__table__)


def _claim(session: Session, ctx: ProgramContext, claim_id: int) -> Row:
    claim = core(session, _CLAIMED, {"claim_id": claim_id}).first()
    if claim is None or claim.program_id != ctx.id:
        raise NotFound(text(ctx.language, "refusal.claim_missing", program=ctx.id, id=claim_id))
    if claim.state != "pending":
        raise InvalidInput(text(ctx.language, f"refusal.claim_{claim.state}", id=claim_id,
                                by=claim.decided_by, on=claim.decided_on))
    return claim


def pass_claim(session: Session, ctx: ProgramContext, claim_id: int, actor: str, at: datetime,
               note: str | None = None, source: str = "portal") -> dict:
    """销号: the instance is done on the claim's date."""
    claim = _claim(session, ctx, claim_id)
    set_instance(session, ctx, claim.instance_id, status="done", progress=100, done_on=claim.claimed_on)
    follow_shares(session, claim)
    return _decide(session, ctx, claim, "passed", actor, at, note, source)


def return_claim(session: Session, ctx: ProgramContext, claim_id: int, reason: str, actor: str, at: datetime,
                 source: str = "portal") -> dict:
    """退回重办: back in progress, with the reason; the unit is told and the return counts in the scores."""
    if not reason or not reason.strip():
        raise InvalidInput(text(ctx.language, "refusal.return_reason"))
    claim = _claim(session, ctx, claim_id)
    set_instance(session, ctx, claim.instance_id, status="in_progress", progress=claim.previous_progress,
                 done_on=None)
    follow_shares(session, claim)
    return _decide(session, ctx, claim, "returned", actor, at, reason.strip(), source)


def _decide(session: Session, ctx: ProgramContext, claim: Row, state: str, actor: str,
            at: datetime, note: str | None, source: str) -> dict:
    """The claim decided, as Core statements on the session (db.bulk.update_row on why): the claim updated,
    the decision inserted, the event recorded."""
    decided = {"state": state, "decided_at": at, "decided_on": ctx.local_date(at), "decided_by": actor,
               "reason": note}
    update_row(session, DoneClaim, claim.id, ctx.id, **decided)
    session.connection().execute(_DECISION_INSERT, {
        "program_id": ctx.id, "kind": "claim", "subject": f"claim:{claim.id}", "approve": state == "passed",
        "decided_by": actor, "decided_at": at, "note": note, "source": source})
    record_event(session, ctx.id, at, f"claim.{state}", f"task:{claim.code}", actor,
                 {"claim": claim.id, "unit": claim.unit, "claimed_on": claim.claimed_on.isoformat(),
                  "note": note, "source": source})
    return {
        "claim": claim.id,
        "code": claim.code,
        "unit": claim.unit,
        "state": state,
        "claimed_on": claim.claimed_on.isoformat(),
        "decided_on": decided["decided_on"].isoformat(),
        "by": actor,
        "reason": note,
    }


# claims(): the joined query built once, with each filter that may be asked for.
_CLAIMS = (
    select(DoneClaim.id, DoneClaim.claimed_on, DoneClaim.state, DoneClaim.reason, DoneClaim.decided_by,
           DoneClaim.decided_on, DoneClaim.instance_id, Task.code, Task.title, Task.evidence_spec, Unit.code,
           Unit.name, ProgressReport.note, ProgressReport.evidence, TaskInstance.due)
    .join(Task, Task.id == DoneClaim.task_id)
    .join(Unit, Unit.id == DoneClaim.unit_id)
    .join(ProgressReport, ProgressReport.id == DoneClaim.report_id)
    .join(TaskInstance, TaskInstance.id == DoneClaim.instance_id)
    .where(DoneClaim.program_id == bindparam("program"))
    .order_by(DoneClaim.id)
)


@cache
def _claims_query(by_state: bool, by_unit: bool, limited: bool):
    query = _CLAIMS
    if by_state:
        query = query.where(DoneClaim.state == bindparam("state"))
    if by_unit:
        query = query.where(DoneClaim.unit_id == bindparam("unit_id"))
    if limited:
        query = query.limit(bindparam("limit"))
    return query


def claims(session: Session, ctx: ProgramContext, state: str | None = None, unit_id: int | None = None,
           limit: int | None = None) -> list[dict]:
    """Claims with their task, unit, report (note, evidence) and decision, oldest first."""
    query = _claims_query(state is not None, unit_id is not None, limit is not None)
    rows = core(session, query, {"program": ctx.id, "state": state, "unit_id": unit_id, "limit": limit})
    return [
        {
            "id": claim_id,
            "code": code,
            "title": title,
            "evidence_spec": spec,
            "unit": unit,
            "unit_name": name,
            "note": note,
            "evidence": list(evidence or []),
            "due": due.isoformat() if due else None,
            "claimed_on": claimed_on.isoformat(),
            "state": claim_state,
            "reason": reason,
            "decided_by": decided_by,
            "decided_on": decided_on.isoformat() if decided_on else None,
            "instance_id": instance_id,
        }
        for (claim_id, claimed_on, claim_state, reason, decided_by, decided_on, instance_id, code, title,
             spec, unit, name, note, evidence, due) in rows
    ]


def pending_count(session: Session, ctx: ProgramContext) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DoneClaim)
            .where(DoneClaim.program_id == ctx.id, DoneClaim.state == "pending")
        )
        or 0
    )


_DECISION = case((DoneClaim.state == "returned", "claim_returned"), else_="claim_passed")
# The decision notice's key as notice_key spells it, so that a decision already claimed is not read again.
_DECISION_KEY = (cast(_DECISION, String).concat(":").concat(DoneClaim.program_id).concat(":claim")
                 .concat(cast(DoneClaim.id, String)).concat(":").concat(Unit.code))
# Columns, run through Core (db.bulk.core): read every workday, mostly to find nothing new.
_DECIDED = (
    select(DoneClaim.id, DoneClaim.state, DoneClaim.unit_id, DoneClaim.instance_id, DoneClaim.claimed_on,
           DoneClaim.decided_on, DoneClaim.reason, Task.code, Task.title, Unit.code.label("unit_code"))
    .join(Task, Task.id == DoneClaim.task_id)
    .join(Unit, Unit.id == DoneClaim.unit_id)
    .where(DoneClaim.program_id == bindparam("program"), DoneClaim.state != "pending",
           ~exists().where(Notice.key == _DECISION_KEY))
    .order_by(DoneClaim.id)
)


def claim_candidates(session: Session, ctx: ProgramContext) -> list[Candidate]:
    """The decision on each claim, to the claiming unit, once (the reason of a return in its note)."""
    candidates = []
    for claim in core(session, _DECIDED, {"program": ctx.id}).all():  # the claim's columns, named as its own
        code, title, unit_code = claim.code, claim.title, claim.unit_code
        kind = "claim_returned" if claim.state == "returned" else "claim_passed"
        if claim.state == "returned":
            note = text(ctx.language, "ladder.claim_returned", on=claim.decided_on, reason=claim.reason)
        else:
            note = text(ctx.language, "ladder.claim_passed", on=claim.claimed_on)
        key = notice_key(kind, ctx.id, f"claim{claim.id}", unit_code)
        candidates.append(
            Candidate(
                key,
                kind,
                claim.unit_id,
                instance_id=claim.instance_id,
                task_code=code,
                data={"claim": claim.id, "title": title, "note": note, "reason": claim.reason},
            )
        )
    return candidates


def import_reports(session: Session, ctx: ProgramContext, forms: list, at: datetime, actor: str,
                   unit_code: str | None = None) -> tuple[list[dict], list]:
    """Returned 报送表 (notifications.workbooks.report_forms.ReportForm), all or nothing: every row is checked
    against the rules first; any problem (FILE:ROW:COLUMN) and nothing is written. `unit_code`: the uploading
    unit, whose forms these must be."""

    problems = [p for form in forms for p in form.problems]
    planned = []
    for form in forms:
        if form.problems:
            continue
        if form.program_id != ctx.id:
            problems.append(
                Problem(form.file, None, None,
                        text(ctx.language, "refusal.form_program", form=form.program_id, program=ctx.id))
            )
            continue
        if unit_code is not None and form.unit_code != unit_code:
            problems.append(
                Problem(form.file, None, None, text(ctx.language, "refusal.form_unit", unit=form.unit_code))
            )
            continue
        for row in form.rows:
            try:
                task = task_and_unit(session, ctx, row.code)
                current = current_instance(session, task.id)
            except NotFound as exc:
                problems.append(Problem(form.file, row.row, row.columns["code"], str(exc)))
                continue
            progress = current.progress if row.progress < 0 else row.progress
            if row.note is None and not row.evidence and progress == current.progress:
                continue  # an untouched row
            status = "done" if progress == 100 else "in_progress"
            try:
                check_report(session, ctx, row.code, form.unit_code, status, progress, list(row.evidence))
            except (InvalidInput, NotFound) as exc:
                column = row.columns["progress"] if status == "done" else row.columns["code"]
                problems.append(Problem(form.file, row.row, column, str(exc)))
                continue
            planned.append((form.unit_code, row, status, progress))
    if problems:
        return [], problems
    results = [
        submit_report(session, ctx, row.code, unit, status, progress, row.note, list(row.evidence), at, actor)
        for unit, row, status, progress in planned
    ]
    return results, []
