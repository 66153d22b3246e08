"""Exit gates: one check per phase kind. A phase closes when its gate holds (or the coordinator approves
closing it); otherwise it is overrun.

The registry is explicit: `gates()` lists every kind's gate, here and in db/content_gates.py, and `evaluate`
loads it each time. Nothing registers itself on import, so a gate never depends on which modules a process
happened to import (a `decide` run on a worker once found no self-check gate and asked nothing), and a phase
kind without a gate is an error, never a gate that silently holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from db.models import Phase, Task, TaskInstance, TaskUnit


@dataclass(frozen=True)
class GateResult:
    holds: bool
    reasons: list[str] = field(default_factory=list)


Gate = Callable[[Session, str, Phase, date], GateResult]


class MissingGate(LookupError):
    """A phase kind with no exit gate: a defect, never a gate that holds."""


def base_gates() -> dict[str, Gate]:
    """Every phase kind's gate without the coordinator's decision (what `approve_phase` records as overridden)."""
    from db.content_gates import acceptance_gate, remediation_gate, self_check_gate  # they import this module

    return {"deployment": deployment_gate, "implementation": implementation_gate, "self_check": self_check_gate,
            "remediation": remediation_gate, "acceptance": acceptance_gate}


def evaluate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """The phase's gate; any gate also holds when the coordinator's latest decision approves closing."""
    from db.content_gates import approved

    check = base_gates().get(phase.kind)
    if check is None:
        raise MissingGate(f"phase kind「{phase.kind}」has no exit gate (db/gates.py base_gates)")
    return approved(session, program_id, phase.kind) or check(session, program_id, phase, today)


def _codes(session: Session, query, limit: int = 20) -> list[str]:
    return list(session.scalars(query.order_by(Task.code).limit(limit)))


def deployment_gate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """Every task has a lead unit and a due date or a recurrence."""
    active = (Task.program_id == program_id, Task.active.is_(True))
    no_lead = select(Task.code).where(*active, ~exists().where(and_(TaskUnit.task_id == Task.id, TaskUnit.role == "lead")))
    undated = select(Task.code).where(*active, Task.recurrence.is_(None), ~exists().where(
        and_(TaskInstance.task_id == Task.id, TaskInstance.due.is_not(None))))
    reasons = []
    if missing := _codes(session, no_lead):
        reasons.append(f"无牵头单位的任务: {', '.join(missing)}")
    if missing := _codes(session, undated):
        reasons.append(f"无完成时限的任务: {', '.join(missing)}")
    return GateResult(not reasons, reasons)


def implementation_gate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    """Every task instance due within the phase is done."""
    undone = (
        select(Task.code)
        .join(TaskInstance, TaskInstance.task_id == Task.id)
        .where(Task.program_id == program_id, Task.active.is_(True), TaskInstance.status != "done", TaskInstance.retired_on.is_(None),
               TaskInstance.due >= phase.start, TaskInstance.due <= phase.end)
        .distinct()
    )
    count = session.scalar(select(func.count()).select_from(undone.subquery()))
    if not count:
        return GateResult(True)
    return GateResult(False, [f"阶段内到期未办结的任务 {count} 项: {', '.join(_codes(session, undone))}"
                              + (" 等" if count > 20 else "")])
