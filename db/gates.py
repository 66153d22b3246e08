"""Exit gates: a pluggable check per phase kind. A phase closes when its gate holds (or the coordinator
approves closing it); otherwise it is overrun."""

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
GATES: dict[str, Gate] = {}


def gate(kind: str) -> Callable[[Gate], Gate]:
    def register(check: Gate) -> Gate:
        GATES[kind] = check
        return check
    return register


def evaluate(session: Session, program_id: str, phase: Phase, today: date) -> GateResult:
    check = GATES.get(phase.kind)
    return check(session, program_id, phase, today) if check else GateResult(True)


def _codes(session: Session, query, limit: int = 20) -> list[str]:
    return list(session.scalars(query.order_by(Task.code).limit(limit)))


@gate("deployment")
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


@gate("implementation")
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
