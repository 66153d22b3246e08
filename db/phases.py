"""The phase machine: pending → open → closed | overrun (→ closed when the gate later holds or the
coordinator approves). Transitions are performed in date order, so a check after downtime catches up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, func, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.bulk import core
from db.collectives import roll_up
from db.events import record_event
from db.gates import evaluate
from db.models import Phase, Task, TaskInstance
from db.programs import PhaseState, ProgramContext, phases


@dataclass(frozen=True)
class Transition:
    kind: str          # phase kind
    name: str
    state: str         # open | closed | overrun
    on: date           # the date the transition belongs to (the phase's start, or the day after its end)
    reasons: tuple[str, ...] = ()

    @property
    def event(self) -> str:
        return {
            "open": "duban.phase.opened",
            "closed": "duban.phase.closed",
            "overrun": "duban.phase.overrun",
        }[self.state]


def _move(session: Session, phase: Phase, state: dict[int, str], to: str, **values) -> bool:
    """A transition is claimed like a notice: a compare-and-set on the state, so of two overlapping checks
    only
    one records it and emits its event."""
    moved = session.execute(
        update(Phase).where(Phase.id == phase.id, Phase.state == state[phase.id]).values(state=to, **values)
        .execution_options(synchronize_session=False, program=phase.program_id)  # counted for it (db.marks)
    ).rowcount == 1
    if moved:
        state[phase.id] = to
        for name, value in {"state": to, **values}.items():
            set_committed_value(phase, name, value)
    else:
        state[phase.id] = "taken"
    return moved


def advance(
    session: Session, ctx: ProgramContext, today: date, at: datetime, actor: str = "supervise", *,
    plan_phases: list[Phase | PhaseState] | None = None, rolled_up: bool = False
) -> list[Transition]:
    """Open phases whose start has come; close (or overrun) phases whose end has passed (`plan_phases`: the
    program's phases as read already in this session, Phase or PhaseState; they are moved in place).

    Collectives' tasks are rolled up from their members' shares first: a gate reads the parent's state
    (`rolled_up`: they are as rolled up already, no share having moved since; db.marks)."""
    if not rolled_up:
        roll_up(session, ctx.id)
    plan_phases = phases(session, ctx.id) if plan_phases is None else plan_phases
    pending: list[tuple[date, int, str, object]] = []
    for phase in plan_phases:
        if phase.state == "pending" and phase.start <= today:
            pending.append((phase.start, phase.seq, "open", phase))
        if phase.state in ("pending", "open") and phase.end < today:
            pending.append((phase.end + timedelta(days=1), phase.seq, "close", phase))
        elif phase.state == "overrun":
            pending.append((today, phase.seq, "recheck", phase))
    if pending and not all(isinstance(phase, Phase) for phase in plan_phases):
        # Phases read as PhaseState (db.programs.daily_program): moved as the ORM's, in the list too.
        attached = {phase.id: phase for phase in phases(session, ctx.id)}
        plan_phases[:] = [attached[phase.id] for phase in plan_phases]
        pending = [(on, seq, action, attached[phase.id]) for on, seq, action, phase in pending]
    transitions = []
    state = {phase.id: phase.state for _on, _seq, _action, phase in pending}
    for _on, _seq, action, phase in sorted(pending, key=lambda item: (item[0], item[1], item[2] != "open")):
        if action == "open":
            if _move(session, phase, state, "open", opened_on=phase.start):
                transitions.append(Transition(phase.kind, phase.name, "open", phase.start))
            continue
        if state[phase.id] not in ("open", "overrun"):
            continue  # an overlapping check moved it first
        result = evaluate(session, ctx.id, phase, today)
        if result.holds:
            # On time, the phase closes on its end date; an overrun phase closes on the day its gate holds.
            closed_on = phase.end if action == "close" else today
            if _move(session, phase, state, "closed", closed_on=closed_on):
                transitions.append(
                    Transition(phase.kind, phase.name, "closed", closed_on, tuple(result.reasons))
                )
        elif action == "close" and _move(session, phase, state, "overrun", gate_reasons=list(result.reasons)):
            transitions.append(
                Transition(phase.kind, phase.name, "overrun", phase.end, tuple(result.reasons))
            )
    for transition in transitions:
        record_event(session, ctx.id, at, f"phase.{transition.state}", f"phase:{transition.kind}", actor,
                     {"on": transition.on.isoformat(), "reasons": list(transition.reasons)})
    session.flush()
    return transitions


@cache
def waiting_query(dialect: str) -> Select:
    """The kinds of the phases whose 交办 waits (program.yaml `assign_after`): one of the tasks it waits for,
    such as the deployment tasks that issue the 方案 and the 分工表, has an instance not done. Built once per
    database; db.ladders leaves their tasks out of the 交办 with it, in the same statement."""
    elements = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    code = elements(Phase.assign_after).table_valued("value").alias("waited")
    task, instance = Task.__table__.alias("waited_task"), TaskInstance.__table__.alias("waited_instance")
    undone = (select(instance.c.id).join(task, task.c.id == instance.c.task_id)
              .where(task.c.program_id == Phase.program_id, task.c.code == code.c.value,
                     task.c.active.is_(True), instance.c.status != "done", instance.c.retired_on.is_(None)))
    return (select(Phase.kind).select_from(Phase).join(code, true())
            .where(Phase.program_id == bindparam("program_id"), undone.exists()).distinct())


def waiting_assignment(session: Session, program_id: str) -> set[str]:
    """The kinds of the phases whose 交办 waits (waiting_query)."""
    return set(core(session, waiting_query(session.get_bind().dialect.name), {"program_id": program_id})
               .scalars())
