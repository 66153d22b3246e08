"""Exit gates: one explicit registry, a check per phase kind, the plan's exit tasks, and the coordinator's
override.

A phase closes when its gate holds and its exit tasks (program.yaml `exit_tasks`) are done, or when the
coordinator's latest decision on it approves closing it; otherwise it is overrun. Every preset kind has its
gate in `GATES`, and a phase of the plan's own kind has the `phase` gate; a kind without one is an error
(GateMissing), never a pass.

- deployment:     every task has a lead unit and a due date or a recurrence;
- implementation: every task instance due within the phase is done;
- self_check:     every unit with tasks returned its form;
- remediation:    every finding has an item, and every item is closed (by its unit) or accepted (by the
coordinator);
- acceptance:     every active task is done (every instance of a recurring one) and has evidence;
- phase (the plan's own phases): every task instance due within the phase is done.
A plan may add its own conditions to a phase (program.yaml `gate:`, checked by `CONDITIONS`): `min_done` (a
share of the phase's tasks done), `no_red` (none of them on a red light), `forms_returned` (every unit's
self-check form returned). A phase of the plan's own kind that declares them is judged by them instead of the
default.
A collective's task (a parent of members' shares) has no lead of its own; its evidence is its shares'.
Reasons are in the program's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from db.events import record_event
from db.models import (
    CoordinatorDecision,
    Finding,
    Phase,
    ProgressReport,
    RemediationItem,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
)
from db.programs import InvalidInput, NotFound, ProgramContext, load_program
from db.selfcheck import missing_units
from schedule import GATE_CONDITIONS, PHASE_KINDS, clean_optional, text

PLAN_PHASE = "phase"  # the gate of a phase whose kind is the plan's own

LIST_LIMIT = 20


@dataclass(frozen=True)
class GateResult:
    holds: bool
    reasons: list[str] = field(default_factory=list)


class GateMissing(LookupError):
    """A phase kind with no gate registered: a programming error, never a silent pass."""


Gate = Callable[[Session, ProgramContext, Phase, date], GateResult]


def _listed(ctx: ProgramContext, codes: list[str], total: int) -> str:
    return ", ".join(codes) + (text(ctx.language, "gate.more") if total > len(codes) else "")


def _result(reasons: list[str]) -> GateResult:
    return GateResult(not reasons, reasons)


def _codes(session: Session, query, limit: int = LIST_LIMIT) -> list[str]:
    return list(session.scalars(query.order_by(Task.code).limit(limit)))


def deployment_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """Every task has a lead unit and a due date or a recurrence."""
    active = (Task.program_id == ctx.id, Task.active.is_(True))
    lead = exists().where(and_(TaskUnit.task_id == Task.id, TaskUnit.role == "lead"))
    dated = exists().where(and_(TaskInstance.task_id == Task.id, TaskInstance.due.is_not(None)))
    reasons = []
    if missing := _codes(session, select(Task.code).where(*active, ~lead, Task.done_when.is_(None))):
        reasons.append(text(ctx.language, "gate.no_lead", codes=", ".join(missing)))
    if missing := _codes(session, select(Task.code).where(*active, Task.recurrence.is_(None), ~dated)):
        reasons.append(text(ctx.language, "gate.undated", codes=", ".join(missing)))
    return _result(reasons)


def implementation_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """Every task instance due within the phase is done."""
    undone = (
        select(Task.code)
        .join(TaskInstance, TaskInstance.task_id == Task.id)
        .where(Task.program_id == ctx.id, Task.active.is_(True), TaskInstance.status != "done",
               TaskInstance.retired_on.is_(None),
               TaskInstance.due >= phase.start, TaskInstance.due <= phase.end)
        .distinct()
    )
    count = session.scalar(select(func.count()).select_from(undone.subquery()))
    if not count:
        return GateResult(True)
    codes = _listed(ctx, _codes(session, undone), count)
    return _result([text(ctx.language, "gate.undone_in_phase", count=count, codes=codes)])


def self_check_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """Every unit with tasks returned its self-check form."""
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.program_id == ctx.id)).all())
    missing = [names[unit_id] for unit_id in missing_units(session, ctx)]
    if not missing:
        return GateResult(True)
    codes = _listed(ctx, missing[:LIST_LIMIT], len(missing))
    return _result([text(ctx.language, "gate.forms_missing", count=len(missing), codes=codes)])


def remediation_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """Every finding has an item, and every item is closed or accepted by the coordinator."""
    reasons = []
    open_items = session.scalars(
        select(RemediationItem.code)
        .where(RemediationItem.program_id == ctx.id, RemediationItem.state == "open")
        .order_by(RemediationItem.id)
    ).all()
    if open_items:
        codes = _listed(ctx, list(open_items[:LIST_LIMIT]), len(open_items))
        reasons.append(text(ctx.language, "gate.items_open", count=len(open_items), codes=codes))
    unitemized = session.scalar(select(func.count(Finding.id)).where(
        Finding.program_id == ctx.id, ~exists().where(RemediationItem.finding_id == Finding.id))) or 0
    if unitemized:
        reasons.append(text(ctx.language, "gate.findings_unitemized", count=unitemized))
    return _result(reasons)


def acceptance_gaps(session: Session, program_id: str) -> tuple[list[str], list[str]]:
    """(codes of active tasks not done, codes of active tasks done without any evidence)."""
    active = (Task.program_id == program_id, Task.active.is_(True))
    not_done = exists().where(and_(TaskInstance.task_id == Task.id, TaskInstance.status != "done",
                                   TaskInstance.retired_on.is_(None)))
    undone = session.scalars(
        select(Task.code).where(*active, not_done).order_by(Task.source_row, Task.code)
    ).all()
    evidenced = {
        task_id
        for task_id, evidence in session.execute(
            select(ProgressReport.task_id, ProgressReport.evidence).where(
                ProgressReport.program_id == program_id
            )
        )
        if evidence
    }
    # A collective's task is evidenced by any of its members' shares.
    evidenced_parents = set(session.scalars(select(Task.parent_code).where(
        Task.id.in_(evidenced), Task.parent_code.is_not(None)))) if evidenced else set()
    done = session.execute(select(Task.id, Task.code).where(*active, ~not_done)
                           .order_by(Task.source_row, Task.code)).all()
    return list(undone), [code for task_id, code in done
                          if task_id not in evidenced and code not in evidenced_parents]


def acceptance_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """Every active task is done (every instance of a recurring one) and has evidence."""
    undone, bare = acceptance_gaps(session, ctx.id)
    reasons = []
    if undone:
        codes = _listed(ctx, undone[:LIST_LIMIT], len(undone))
        reasons.append(text(ctx.language, "gate.tasks_undone", count=len(undone), codes=codes))
    if bare:
        codes = _listed(ctx, bare[:LIST_LIMIT], len(bare))
        reasons.append(text(ctx.language, "gate.tasks_bare", count=len(bare), codes=codes))
    return _result(reasons)


def exit_tasks_gate(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """The plan's exit tasks of the phase are done: every instance due by the phase's end, or undated."""
    if not phase.exit_tasks:
        return GateResult(True)
    undone = (
        select(Task.code)
        .join(TaskInstance, TaskInstance.task_id == Task.id)
        .where(Task.program_id == ctx.id, Task.active.is_(True), Task.code.in_(list(phase.exit_tasks)),
               TaskInstance.status != "done", TaskInstance.retired_on.is_(None),
               or_(TaskInstance.due.is_(None), TaskInstance.due <= phase.end))
        .distinct()
    )
    codes = _codes(session, undone)
    if not codes:
        return GateResult(True)
    listed = _listed(ctx, codes, len(codes))
    return _result([text(ctx.language, "gate.exit_undone", count=len(codes), codes=listed)])


def _phase_tasks(ctx: ProgramContext, phase: Phase) -> tuple:
    return Task.program_id == ctx.id, Task.active.is_(True), Task.phase_kind == phase.kind


def _undone_instance(*where):
    return exists().where(and_(TaskInstance.task_id == Task.id, TaskInstance.status != "done",
                               TaskInstance.retired_on.is_(None), *where))


def min_done_condition(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> list[str]:
    """At least `min_done` percent of the phase's tasks are done (every instance of a recurring one)."""
    wanted = int(phase.gate["min_done"])
    where = _phase_tasks(ctx, phase)
    total = session.scalar(select(func.count(Task.id)).where(*where)) or 0
    undone = select(Task.code).where(*where, _undone_instance())
    count = session.scalar(select(func.count()).select_from(undone.subquery())) or 0
    done = total - count
    if not total or done * 100 >= wanted * total:
        return []
    codes = _listed(ctx, _codes(session, undone), count)
    return [text(ctx.language, "gate.min_done", done=done, total=total, share=done * 100 // total,
                 wanted=wanted, codes=codes)]


def no_red_condition(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> list[str]:
    """No task of the phase is on a red light: none has an instance past its due date and not done."""
    red = select(Task.code).where(*_phase_tasks(ctx, phase), _undone_instance(TaskInstance.due < today))
    count = session.scalar(select(func.count()).select_from(red.subquery())) or 0
    if not count:
        return []
    return [text(ctx.language, "gate.red", count=count, codes=_listed(ctx, _codes(session, red), count))]


def forms_condition(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> list[str]:
    """Every unit with tasks returned its self-check form (the self_check gate, in a phase of any kind)."""
    return self_check_gate(session, ctx, phase, today).reasons


# The plan's own conditions (program.yaml `gate:`), each by its name; a phase of the plan's own kind that
# declares any is judged by them instead of the default "every instance due within it is done".
Condition = Callable[[Session, ProgramContext, Phase, date], list[str]]
CONDITIONS: dict[str, Condition] = {
    "min_done": min_done_condition, "no_red": no_red_condition, "forms_returned": forms_condition}
assert tuple(CONDITIONS) == GATE_CONDITIONS, "every condition a plan may write has its check"


def plan_conditions(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> list[str]:
    return [reason for key in GATE_CONDITIONS if (phase.gate or {}).get(key)
            for reason in CONDITIONS[key](session, ctx, phase, today)]


# The registry: every preset kind and the plan's own phases, explicitly. The exit tasks are checked beside
# the kind's gate; the coordinator's approval is applied on top by `evaluate`.
GATES: dict[str, Gate] = {
    "deployment": deployment_gate, "implementation": implementation_gate, "self_check": self_check_gate,
    "remediation": remediation_gate, "acceptance": acceptance_gate, PLAN_PHASE: implementation_gate}
assert set(GATES) == {*PHASE_KINDS, PLAN_PHASE}, "every phase kind has its gate"


# Built once: the bulletin's scores and its list of pending decisions ask each week.
_DECISION = (select(CoordinatorDecision)
             .where(CoordinatorDecision.program_id == bindparam("program"),
                    CoordinatorDecision.subject == bindparam("subject"))
             .order_by(CoordinatorDecision.id.desc()).limit(1))


def phase_decision(session: Session, program_id: str, kind: str) -> CoordinatorDecision | None:
    """The coordinator's latest decision on closing the phase, if any."""
    return session.scalar(_DECISION, {"program": program_id, "subject": f"phase:{kind}"})


def gate_of(kind: str) -> Gate:
    try:
        return GATES[kind if kind in PHASE_KINDS or not kind else PLAN_PHASE]
    except KeyError:
        raise GateMissing(text(None, "gate.missing", kind=kind)) from None


def unapproved(session: Session, ctx: ProgramContext, phase: Phase, today: date) -> GateResult:
    """The gate, the plan's conditions and the exit tasks, without the coordinator's decision: what an
    approval overrides."""
    own_gate = phase.kind not in PHASE_KINDS and bool(phase.gate)
    reasons = [] if own_gate else list(gate_of(phase.kind)(session, ctx, phase, today).reasons)
    reasons += plan_conditions(session, ctx, phase, today)
    reasons += exit_tasks_gate(session, ctx, phase, today).reasons
    return _result(reasons)


def evaluate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """The phase's gate, held also when the coordinator's latest decision approves closing the phase."""
    gate_of(phase.kind)  # a kind without a gate fails before anything is read
    ctx = load_program(session, program_id)
    decision = phase_decision(session, program_id, phase.kind)
    if decision is not None and decision.approve:
        note = text(ctx.language, "gate.note", note=decision.note) if decision.note else ""
        return GateResult(True, [text(ctx.language, "gate.approved", actor=decision.decided_by, note=note)])
    return unapproved(session, ctx, phase, today)


def approve_phase(session: Session, ctx: ProgramContext, kind: str, actor: str, at: datetime,
                  note: str | None = None, source: str = "cli", approve: bool = True) -> dict:
    """Records the coordinator's decision to close (or, approve=False, not to close) a phase whose gate does
    not hold. The phase machine closes an overrun phase at its next check; the event log keeps who decided."""
    language = ctx.language
    phase = session.scalar(select(Phase).where(Phase.program_id == ctx.id, Phase.kind == kind))
    if phase is None and kind not in PHASE_KINDS:
        kinds = session.scalars(
            select(Phase.kind).where(Phase.program_id == ctx.id).order_by(Phase.seq)).all()
        raise InvalidInput(text(language, "error.phase_kind", kind=kind, choices=" | ".join(kinds)))
    if phase is None:
        raise NotFound(text(language, "error.phase_absent", kind=kind, program=ctx.id))
    if phase.state == "closed":
        raise InvalidInput(
            text(language, "error.phase_closed", kind=kind, name=phase.name, closed_on=phase.closed_on)
        )
    if phase.state == "pending":
        raise InvalidInput(
            text(language, "error.phase_pending", kind=kind, name=phase.name, start=phase.start)
        )
    # What the coordinator is overriding, for the record (evaluated without the decision being made now).
    reasons = list(unapproved(session, ctx, phase, ctx.local_date(at)).reasons)
    note = clean_optional(note)
    session.add(CoordinatorDecision(program_id=ctx.id, kind="phase", subject=f"phase:{kind}", approve=approve,
                                    decided_by=actor, decided_at=at, note=note, source=source))
    if approve:
        phase.approved_by = actor
    record_event(
        session, ctx.id, at, "phase.approved" if approve else "phase.approval_refused", f"phase:{kind}",
        actor, {"note": note, "state": phase.state, "overridden": reasons, "source": source})
    session.flush()
    return {"program": ctx.id, "phase": kind, "name": phase.name, "state": phase.state, "approve": approve,
            "by": actor, "at": at.isoformat(), "note": note, "overridden": reasons}
