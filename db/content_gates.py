"""The gates of the content phases, and the coordinator's decision that lets any phase close anyway.

- self_check:  every unit with tasks returned its form;
- remediation: every finding has an item, and every item is closed (by its unit) or accepted (by the coordinator);
- acceptance:  every active task is done (its current instance: all instances of a recurring task) and has at
               least one progress report with evidence.
Any gate — these three and those of db/gates.py — also holds when the coordinator's latest decision on the
phase (`approve_phase`, `duban phase approve`, or the Prefect `decide` flow) approves closing it.

db.gates lists these gates in its explicit registry (`base_gates`) and applies the decision in `evaluate`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from db.content_models import CoordinatorDecision, Finding, RemediationItem
from db.events import record_event
from db.gates import GateResult, base_gates
from db.models import Phase, ProgressReport, Task, TaskInstance, Unit
from db.queries import InvalidInput, NotFound, ProgramContext, load_program
from schedule.model import PHASE_KINDS
from schedule.text import clean_optional

LIST_LIMIT = 20


def phase_decision(session: Session, program_id: str, kind: str) -> CoordinatorDecision | None:
    """The coordinator's latest decision on closing the phase, if any."""
    return session.scalar(
        select(CoordinatorDecision)
        .where(CoordinatorDecision.program_id == program_id, CoordinatorDecision.subject == f"phase:{kind}")
        .order_by(CoordinatorDecision.id.desc()).limit(1)
    )


def approved(session: Session, program_id: str, kind: str) -> GateResult | None:
    decision = phase_decision(session, program_id, kind)
    if decision is not None and decision.approve:
        note = f"：{decision.note}" if decision.note else ""
        return GateResult(True, [f"牵头办（{decision.decided_by}）已批准结束本阶段{note}"])
    return None


def _listed(codes: list[str], total: int) -> str:
    return ", ".join(codes) + (" 等" if total > len(codes) else "")


def self_check_reasons(session: Session, program_id: str) -> list[str]:
    from db.selfcheck import missing_units  # late: db.selfcheck imports the ladder

    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.program_id == program_id)).all())
    missing = [names[unit_id] for unit_id in missing_units(session, load_program(session, program_id))]
    if not missing:
        return []
    return [f"未交回自查表的单位 {len(missing)} 个: {_listed(missing[:LIST_LIMIT], len(missing))}"]


def self_check_gate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """Every unit with tasks returned its self-check form."""
    reasons = self_check_reasons(session, program_id)
    return GateResult(not reasons, reasons)


def remediation_reasons(session: Session, program_id: str) -> list[str]:
    reasons = []
    open_items = session.scalars(select(RemediationItem.code).where(
        RemediationItem.program_id == program_id, RemediationItem.state == "open").order_by(RemediationItem.id)).all()
    if open_items:
        reasons.append(f"未办结的整改事项 {len(open_items)} 项: {_listed(list(open_items[:LIST_LIMIT]), len(open_items))}")
    unitemized = session.scalar(select(func.count(Finding.id)).where(
        Finding.program_id == program_id,
        ~exists().where(RemediationItem.finding_id == Finding.id))) or 0
    if unitemized:
        reasons.append(f"尚未转为整改事项的自查问题 {unitemized} 个")
    return reasons


def remediation_gate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """Every finding has an item, and every item is closed or accepted by the coordinator."""
    reasons = remediation_reasons(session, program_id)
    return GateResult(not reasons, reasons)


def acceptance_gaps(session: Session, program_id: str) -> tuple[list[str], list[str]]:
    """(codes of active tasks not done, codes of active tasks done without any evidence)."""
    active = (Task.program_id == program_id, Task.active.is_(True))
    not_done = exists().where(and_(TaskInstance.task_id == Task.id, TaskInstance.status != "done",
                                   TaskInstance.retired_on.is_(None)))
    undone = session.scalars(select(Task.code).where(*active, not_done).order_by(Task.source_row, Task.code)).all()
    evidenced = {task_id for task_id, evidence in session.execute(
        select(ProgressReport.task_id, ProgressReport.evidence).where(ProgressReport.program_id == program_id))
        if evidence}
    done = session.execute(select(Task.id, Task.code).where(*active, ~not_done)
                           .order_by(Task.source_row, Task.code)).all()
    return list(undone), [code for task_id, code in done if task_id not in evidenced]


def acceptance_gate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """Every active task is done (every instance of a recurring one) and has evidence."""
    undone, bare = acceptance_gaps(session, program_id)
    reasons = []
    if undone:
        reasons.append(f"未办结的任务 {len(undone)} 项: {_listed(undone[:LIST_LIMIT], len(undone))}")
    if bare:
        reasons.append(f"已办结但无佐证材料的任务 {len(bare)} 项: {_listed(bare[:LIST_LIMIT], len(bare))}")
    return GateResult(not reasons, reasons)


def approve_phase(session: Session, ctx: ProgramContext, kind: str, actor: str, at: datetime,
                  note: str | None = None, source: str = "cli", approve: bool = True) -> dict:
    """Records the coordinator's decision to close (or, approve=False, not to close) a phase whose gate does
    not hold. The phase machine closes an overrun phase at its next check; the event log keeps who decided."""
    if kind not in PHASE_KINDS:
        raise InvalidInput(f"KIND {kind}: 阶段应为 {' | '.join(PHASE_KINDS)}")
    phase = session.scalar(select(Phase).where(Phase.program_id == ctx.id, Phase.kind == kind))
    if phase is None:
        raise NotFound(f"KIND {kind}: 计划「{ctx.id}」没有这个阶段")
    if phase.state == "closed":
        raise InvalidInput(f"KIND {kind}: 阶段「{phase.name}」已于 {phase.closed_on} 结束，无需批准")
    if phase.state == "pending":
        raise InvalidInput(f"KIND {kind}: 阶段「{phase.name}」尚未开始（{phase.start}）")
    # What the coordinator is overriding, for the record (evaluated without the decision being made now).
    reasons = list(base_gates()[kind](session, ctx.id, phase, ctx.local_date(at)).reasons)
    note = clean_optional(note)
    session.add(CoordinatorDecision(program_id=ctx.id, kind="phase", subject=f"phase:{kind}", approve=approve,
                                    decided_by=actor, decided_at=at, note=note, source=source))
    if approve:
        phase.approved_by = actor
    record_event(session, ctx.id, at, "phase.approved" if approve else "phase.approval_refused", f"phase:{kind}",
                 actor, {"note": note, "state": phase.state, "overridden": reasons, "source": source})
    session.flush()
    return {"program": ctx.id, "phase": kind, "name": phase.name, "state": phase.state, "approve": approve,
            "by": actor, "at": at.isoformat(), "note": note, "overridden": reasons}


def pending_decisions(session: Session, program_id: str) -> list[Phase]:
    """Overrun phases waiting for the coordinator: no approving decision yet (the daily check asks, the
    bulletin lists them)."""
    overrun = session.scalars(select(Phase).where(Phase.program_id == program_id, Phase.state == "overrun")
                              .order_by(Phase.seq)).all()
    return [phase for phase in overrun if not ((decision := phase_decision(session, program_id, phase.kind))
                                               and decision.approve)]


def decisions(session: Session, program_id: str) -> list[dict]:
    rows = session.scalars(select(CoordinatorDecision).where(CoordinatorDecision.program_id == program_id)
                           .order_by(CoordinatorDecision.id))
    return [{"id": d.id, "kind": d.kind, "subject": d.subject, "approve": d.approve, "by": d.decided_by,
             "at": d.decided_at.isoformat(), "note": d.note, "source": d.source} for d in rows]
