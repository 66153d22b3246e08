"""自查自评: who gets a self-check form, what is in it, and what a returned form becomes.

The workbook itself (writing and reading the .xlsx) is notifications/workbooks/selfcheck.py; this module is
the database side: the form's content for a unit (`form_spec`), the checks of a returned form against the
program (`validate_returns`), and the all-or-nothing record of returns, their rows and the findings they
produce (`record_returns`).

Findings of a row (at most two):
- completion 未完成 → `not_done`; 部分完成 → `partial` (the problems text, if any, is the detail), unless the
  task's current due date is after the self-check window (then only a problems text counts, as `problem`);
- 已完成 without evidence → `no_evidence`; 已完成 while the database has no 办结 report → `unreported`;
- 已完成 with a problems text → `problem`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Row, bindparam, func, insert, select
from sqlalchemy.orm import Session

from db.bulk import core, flush_pending
from db.events import record_event
from db.models import Finding, Phase, SelfCheckReturn, SelfCheckRow, Task, TaskUnit, Unit, UnitMember
from db.programs import ProgramContext
from db.readonly import refuse_archived_write
from db.signatures import form_signature, verify_form
from db.tasks import collectives_of, task_rows
from schedule import LANGUAGES, Problem, labels, text

# /2: the form carries a signature (db.signatures); a /1 form is refused as of another version.
FORM_FORMAT = "duban-selfcheck/2"
SCORE_MIN, SCORE_MAX = 0, 100
COMPLETIONS = ("done", "partial", "not_done")
COMPLETION_LABELS = {language: labels(language, "completion") for language in LANGUAGES}
# Accepted spellings, compared after removing spaces and lower-casing.
COMPLETION_WORDS = {
    "done": ("已完成", "完成", "已办结", "办结", "done", "completed", "complete", "yes"),
    "partial": ("部分完成", "基本完成", "推进中", "进行中", "partlydone", "partly", "partial", "inprogress"),
    "not_done": ("未完成", "未开展", "未启动", "notdone", "no", "notstarted"),
}
FINDING_LABELS = {language: labels(language, "finding") for language in LANGUAGES}
_EVIDENCE_SEP = re.compile(r"[、，,；;\r\n]+")


def lang(ctx: ProgramContext) -> str:
    return ctx.language


def parse_completion(text: str) -> str | None:
    key = re.sub(r"\s+", "", str(text)).lower()
    for completion, words in COMPLETION_WORDS.items():
        if key in words:
            return completion
    return None


def split_evidence(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in _EVIDENCE_SEP.split(str(text)) if part.strip()]


# ---------------------------------------------------------------- forms out


@dataclass(frozen=True)
class FormRow:
    code: str
    area: str
    title: str
    role: str  # lead | co
    due: str  # ISO date, or the recurrence / time-limit text
    evidence_spec: str
    recorded: str  # the database's status, for reference: 已办结 2024-05-01 / 进行中 60% / 未开始


@dataclass(frozen=True)
class FormSpec:
    program_id: str
    program_name: str
    language: str  # zh | en
    unit_code: str
    unit_name: str
    start: date | None
    end: date | None
    rows: tuple[FormRow, ...]
    signature: str = ""  # HMAC over program, unit and FORM_FORMAT (db.signatures)


# Built once on the tables (db.programs on why; Core: db.bulk.core): a form's spec, its checks and its record
# each ask for the phase's window, the checks and the self-check's daily reminders for the returns.
_P, _SR = Phase.__table__.c, SelfCheckReturn.__table__.c
_PHASE = select(_P.start, _P.end).where(_P.program_id == bindparam("program"), _P.kind == "self_check")
_RETURNS = select(_SR.unit_id, _SR.returned_on, _SR.file_name, _SR.sha256).where(
    _SR.program_id == bindparam("program"))
_NAMES = select(Unit.code, Unit.name).where(Unit.program_id == bindparam("program"))
_RETURN_INSERT = insert(SelfCheckReturn.__table__).returning(_SR.id)


def self_check_phase(session: Session, program_id: str) -> Row | None:
    """The self-check phase's window (start, end), None when the program has none."""
    return core(session, _PHASE, {"program": program_id}).first()


def listed_on(ctx: ProgramContext, phase: Row | None) -> date:
    """The day a form's task list is read as of: the self-check's first day. What a form shows and what its
    record reads of a task (status, due date) does not change with the day, only its light, never shown; one
    day for all lets them share the list db.tasks.task_rows keeps for the transaction."""
    return phase.start if phase is not None else ctx.program.imported_at.date()


def _units_with_tasks():
    """Built once on the tables (Core): the bulletin asks twice a week (the summary and the scores)."""
    units, task_units, tasks, members = (Unit.__table__, TaskUnit.__table__, Task.__table__,
                                         UnitMember.__table__)
    member = units.alias("member")
    return (
        select(func.coalesce(member.c.id, units.c.id), func.coalesce(member.c.code, units.c.code)).distinct()
        .select_from(task_units)
        .join(tasks, tasks.c.id == task_units.c.task_id)
        .join(units, units.c.id == task_units.c.unit_id)
        .outerjoin(members, members.c.collective_id == units.c.id)
        .outerjoin(member, member.c.id == members.c.member_id)
        .where(tasks.c.program_id == bindparam("program"), tasks.c.active.is_(True))
    )


_UNITS_WITH_TASKS = _units_with_tasks()


def units_with_tasks(session: Session, ctx: ProgramContext) -> dict[int, str]:
    """unit id → code of every unit that answers for an active task (a collective's members stand for it)."""
    units = core(session, _UNITS_WITH_TASKS, {"program": ctx.id}).tuples()
    return dict(sorted(units, key=lambda kv: kv[1]))


def _recorded(row: dict, language: str) -> str:
    if row["status"] == "done":
        return text(language, "selfcheck.recorded_done_on" if row["done_on"] else "selfcheck.recorded_done",
                    on=row["done_on"])
    if row["status"] == "in_progress":
        return text(language, "selfcheck.recorded_in_progress", progress=row["progress"])
    return text(language, "selfcheck.recorded_not_started")


def form_specs(session: Session, ctx: ProgramContext, unit_codes: list[str] | None = None) -> list[FormSpec]:
    """The self-check form of every unit with tasks (or of the units named), its tasks in the table's
    order."""
    phase = self_check_phase(session, ctx.id)
    language = lang(ctx)
    rows = task_rows(session, ctx, listed_on(ctx, phase))
    collectives = collectives_of(session, ctx.id)
    names = dict(core(session, _NAMES, {"program": ctx.id}).all())
    wanted = list(units_with_tasks(session, ctx).values()) if unit_codes is None else list(unit_codes)
    specs = []
    for code in wanted:
        mine = {code} | collectives.get(code, set())
        form_rows = []
        for row in rows:
            if mine & set(row["lead"]):
                role = "lead"
            elif mine & set(row["co"]):
                role = "co"
            else:
                continue
            form_rows.append(FormRow(row["code"], row["area"] or "", row["title"], role,
                                     row["due"] or row["time_limit"] or row["recurrence"] or "",
                                     row["evidence_spec"] or "", _recorded(row, language)))
        specs.append(FormSpec(ctx.id, ctx.program.name, language, code, names.get(code, code),
                              phase.start if phase else None, phase.end if phase else None, tuple(form_rows),
                              form_signature(session, ctx.id, code, FORM_FORMAT)))
    return specs


def form_spec(session: Session, ctx: ProgramContext, unit_code: str) -> FormSpec:
    return form_specs(session, ctx, [unit_code])[0]


def issued_codes(session: Session, ctx: ProgramContext, unit_codes: list[str]) -> dict[str, set[str]]:
    """unit code → the task codes its form carries now: a returned row of any other task is skipped. Worked
    out once per import, for the checks and the record alike."""
    return {spec.unit_code: {row.code for row in spec.rows} for spec in form_specs(session, ctx, unit_codes)}


# ---------------------------------------------------------------- forms back


@dataclass(frozen=True)
class ReturnedRow:
    row: int
    code: str
    completion: str
    self_score: int | None
    evidence: tuple[str, ...]
    problems: str | None


@dataclass
class ReturnedForm:
    """What the workbook reader found in one returned file; `problems` are those of the file itself."""

    file: str  # as shown in messages
    sha256: str
    program_id: str | None = None
    unit_code: str | None = None
    rows: list[ReturnedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    signature: str | None = None
    program_cell: tuple[int, str] = (2, "B")
    unit_cell: tuple[int, str] = (3, "B")


# What the checks and the record read of the program's units and tasks: a few columns, not whole rows.
_UNITS = select(Unit.code, Unit.id, Unit.name).where(Unit.program_id == bindparam("program_id"))
_TASKS = select(Task.code, Task.id, Task.active).where(Task.program_id == bindparam("program_id"))


def validate_returns(session: Session, ctx: ProgramContext, forms: list[ReturnedForm],
                     unit_code: str | None = None,
                     issued: dict[str, set[str]] | None = None) -> list[Problem]:
    """The checks against the program: its id, the unit, a return already on file, tasks still current
    (`issued`: issued_codes of the forms' units, if already at hand)."""
    problems: list[Problem] = []
    if self_check_phase(session, ctx.id) is None:
        return [Problem(form.file, None, None, text(ctx.language, "selfcheck.no_phase", program=ctx.id))
                for form in forms]
    units = {u.code: u for u in core(session, _UNITS, {"program_id": ctx.id})}
    returned = returns_by_unit(session, ctx.id)
    tasks = {t.code: t for t in core(session, _TASKS, {"program_id": ctx.id})}
    seen: dict[str, str] = {}
    for form in forms:
        if form.program_id is None or form.unit_code is None:
            continue  # the reader already said why
        refusal = _refusal(session, ctx, form, units, returned, seen, unit_code)
        if refusal is not None:
            problems.append(refusal)
            continue
        seen[form.unit_code] = form.file
        if not form.problems:
            current = (issued or issued_codes(session, ctx, [form.unit_code]))[form.unit_code]
            problems.extend(_rows_no_longer_current(ctx, form, units[form.unit_code], tasks, current))
    return problems


def _refusal(session: Session, ctx: ProgramContext, form: ReturnedForm, units: dict, returned: dict,
             seen: dict[str, str], unit_code: str | None) -> Problem | None:
    """Why the whole form is not imported: another program, a bad signature, an unknown or other unit, a
    return already on file or earlier in this import. None when it may be."""
    prow, pcol = form.program_cell
    urow, ucol = form.unit_cell
    if form.program_id != ctx.id:
        return Problem(form.file, prow, pcol,
                       text(ctx.language, "selfcheck.other_program", form=form.program_id, program=ctx.id))
    if not verify_form(session, form.program_id, form.unit_code, FORM_FORMAT, form.signature):
        # Edited hidden sheet and header, or a form this installation did not issue.
        return Problem(form.file, urow, ucol, text(ctx.language, "selfcheck.signature", unit=form.unit_code))
    unit = units.get(form.unit_code)
    if unit is None:
        return Problem(form.file, urow, ucol,
                       text(ctx.language, "error.unit_missing", program=ctx.id, unit=form.unit_code))
    if unit_code is not None and form.unit_code != unit_code:
        return Problem(form.file, urow, ucol, text(ctx.language, "selfcheck.other_unit", name=unit.name,
                                                   unit=form.unit_code, given=unit_code))
    if unit.id in returned:
        earlier = returned[unit.id]
        same = text(ctx.language, "selfcheck.same_file") if earlier.sha256 == form.sha256 else ""
        return Problem(form.file, None, None, text(ctx.language, "selfcheck.returned_before", same=same,
                                                   name=unit.name, on=earlier.returned_on,
                                                   file=earlier.file_name))
    if form.unit_code in seen:
        return Problem(
            form.file, None, None,
            text(ctx.language, "selfcheck.returned_twice", name=unit.name, file=seen[form.unit_code]))
    return None


def _rows_no_longer_current(ctx: ProgramContext, form: ReturnedForm, unit, tasks: dict,
                            current: set[str]) -> list[Problem]:
    """Warnings for rows of tasks dropped from the 分工表 or no longer the unit's (not in `current`): those
    rows are skipped."""
    problems = []
    for row in form.rows:
        task = tasks.get(row.code)
        if task is None or not task.active:
            problems.append(
                Problem(form.file, row.row, "A", text(ctx.language, "selfcheck.task_gone", code=row.code),
                        "warning")
            )
        elif row.code not in current:
            problems.append(
                Problem(
                    form.file, row.row, "A",
                    text(ctx.language, "selfcheck.no_longer_responsible", name=unit.name, code=row.code),
                    "warning")
            )
    return problems


def record_returns(session: Session, ctx: ProgramContext, forms: list[ReturnedForm], at: datetime,
                   actor: str = "cli", issued: dict[str, set[str]] | None = None) -> list[dict]:
    """Writes validated returns (call validate_returns first; the caller owns the transaction). `issued`:
    issued_codes of the forms' units, if already at hand."""
    refuse_archived_write(session, ctx.id)  # before anything is written: the inserts below are Core
    today = ctx.local_date(at)
    phase = self_check_phase(session, ctx.id)
    units = {u.code: u for u in core(session, _UNITS, {"program_id": ctx.id})}
    tasks = {t.code: t for t in core(session, _TASKS, {"program_id": ctx.id}) if t.active}
    # The rows' light is not read here: the task list as the forms' specs read it, kept for the transaction.
    status = {row["code"]: row for row in task_rows(session, ctx, listed_on(ctx, phase))}
    issued = issued or issued_codes(session, ctx, sorted({form.unit_code for form in forms}))
    results = []
    for form in forms:
        unit = units[form.unit_code]
        current = issued[form.unit_code]
        rows = [row for row in form.rows if row.code in tasks and row.code in current]
        # The return, its rows and their findings go in as one Core insert each on the session's connection,
        # not as objects through the flush: nothing reads them back as objects, the check's marks do not count
        # them (db.models.marks), and a flush would drop the task list the next form of the day reads.
        return_id = session.connection().execute(_RETURN_INSERT, {
            "program_id": ctx.id, "unit_id": unit.id, "returned_at": at, "returned_on": today,
            "file_name": form.file, "sha256": form.sha256, "rows": len(rows), "actor": actor}).scalar_one()
        kinds: dict[str, int] = defaultdict(int)
        lines, findings = [], []
        for row in rows:
            task = tasks[row.code]
            due = status[row.code]["due"] if row.code in status else None
            future = phase is not None and due is not None and date.fromisoformat(due) > phase.end
            lines.append({"program_id": ctx.id, "return_id": return_id, "task_id": task.id, "row": row.row,
                          "completion": row.completion, "self_score": row.self_score,
                          "evidence": list(row.evidence), "problems": row.problems})
            for kind, detail in row_findings(row, status.get(row.code), future):
                kinds[kind] += 1
                findings.append({"program_id": ctx.id, "unit_id": unit.id, "task_id": task.id,
                                 "return_id": return_id, "kind": kind, "detail": detail, "found_on": today,
                                 "created_at": at})
        for model, values in ((SelfCheckRow, lines), (Finding, findings)):
            if values:
                session.connection().execute(insert(model.__table__), values)
        on_time = phase is None or today <= phase.end
        data = {
            "unit": unit.code, "file": form.file, "rows": len(rows), "findings": dict(kinds),
            "on_time": on_time}
        record_event(session, ctx.id, at, "selfcheck.returned", f"unit:{unit.code}", actor, data)
        results.append({**data, "returned_on": today.isoformat()})
    return results


def row_findings(
    row: ReturnedRow, current: dict | None, future: bool = False
) -> list[tuple[str, str | None]]:
    """The findings of one returned row. `future`: the task's current due date is after the self-check
    window, so not being done yet is no gap (a problem reported for it still is)."""
    if row.completion in ("not_done", "partial"):
        if future:
            return [("problem", row.problems)] if row.problems else []
        return [(row.completion, row.problems)]
    findings: list[tuple[str, str | None]] = []
    if not row.evidence:
        findings.append(("no_evidence", row.problems))
    elif current is not None and current["status"] != "done":
        findings.append(("unreported", None))
    if row.problems:
        findings.append(("problem", row.problems))
    return findings


# ---------------------------------------------------------------- read side


def returns_by_unit(session: Session, program_id: str) -> dict[int, Row]:
    """unit id → its return: returned_on, file_name, sha256."""
    return {r.unit_id: r for r in core(session, _RETURNS, {"program": program_id})}


def missing_units(session: Session, ctx: ProgramContext) -> dict[int, str]:
    """Units with tasks whose form is not back: unit id → code."""
    returned = returns_by_unit(session, ctx.id)
    return {
        unit_id: code for unit_id, code in units_with_tasks(session, ctx).items() if unit_id not in returned
    }


# The summary's reads, built once on the tables (Core): the bulletin carries the summary each week while the
# self-check runs and after.
_PHASE_ROWS, _RETURN_ROWS, _FINDING_ROWS = Phase.__table__, SelfCheckReturn.__table__, Finding.__table__
class SelfCheckKnown(NamedTuple):
    """What a caller of selfcheck_summary holds already: the phase's end, returned_on(), unit id → code."""

    end: date | None
    returned: dict[int, date]
    codes: dict[int, str]


_SELF_CHECK_END = select(_PHASE_ROWS.c.end).where(_PHASE_ROWS.c.program_id == bindparam("program"),
                                                 _PHASE_ROWS.c.kind == "self_check")
_RETURNED_ON = select(_RETURN_ROWS.c.unit_id, _RETURN_ROWS.c.returned_on).where(
    _RETURN_ROWS.c.program_id == bindparam("program"))
_UNIT_CODES = select(Unit.__table__.c.id, Unit.__table__.c.code).where(
    Unit.__table__.c.program_id == bindparam("program"))
_FINDING_KINDS = select(_FINDING_ROWS.c.kind, _FINDING_ROWS.c.id).where(
    _FINDING_ROWS.c.program_id == bindparam("program"))


def returned_on(session: Session, ctx: ProgramContext) -> dict[int, date]:
    """unit id → the day its self-check form came back (one form per unit)."""
    return dict(core(session, _RETURNED_ON, {"program": ctx.id}).all())


def selfcheck_summary(session: Session, ctx: ProgramContext, expected: dict[int, str] | None = None,
                      known: SelfCheckKnown | None = None) -> dict:
    """`expected`: units_with_tasks(), and `known`, when the caller has read them already (the bulletin
    scores the forms too)."""
    flush_pending(session)  # the reads below are Core: they do not flush
    program = {"program": ctx.id}
    end = core(session, _SELF_CHECK_END, program).scalar() if known is None else known.end
    if expected is None:
        expected = units_with_tasks(session, ctx)
    returned = returned_on(session, ctx) if known is None else known.returned
    codes = dict(core(session, _UNIT_CODES, program).all()) if known is None else known.codes
    by_kind: dict[str, int] = defaultdict(int)
    for kind, _id in core(session, _FINDING_KINDS, program):
        by_kind[kind] += 1
    return {
        "units": len(expected),
        "returned": sorted(codes[u] for u in returned),
        "late": sorted(codes[u] for u, on in returned.items() if end is not None and on > end),
        "missing": sorted(code for unit_id, code in expected.items() if unit_id not in returned),
        "findings": dict(by_kind),
    }
