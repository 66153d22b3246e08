"""The coordinator's decisions: what waits for one, recording an answer, and the list of decisions taken.

An answer from the Prefect `decide` flow is recorded exactly as the command line records it (a
coordinator_decisions row and an event naming who decided).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from db.events import record_event
from db.extensions import approve_extension, reject_extension
from db.gates import approve_phase, phase_decision
from db.models import CoordinatorDecision, Phase
from db.programs import ProgramContext
from db.remediation import accept_item
from schedule import is_phase_kind

_OVERRUN = (select(Phase).where(Phase.program_id == bindparam("program"), Phase.state == "overrun")
            .order_by(Phase.seq))  # built once: the bulletin asks each week


def pending_decisions(session: Session, program_id: str) -> list[Phase]:
    """Overrun phases waiting for the coordinator: no approving decision yet (the daily check asks, the
    bulletin lists them)."""
    overrun = session.scalars(_OVERRUN, {"program": program_id}).all()
    return [phase for phase in overrun
            if not ((decision := phase_decision(session, program_id, phase.kind)) and decision.approve)]


def needs_decision(session: Session, ctx: ProgramContext) -> list[str]:
    """The kinds of the overrun phases whose gate waits for the coordinator."""
    return [phase.kind for phase in pending_decisions(session, ctx.id)]


def record_decision(
    session: Session,
    ctx: ProgramContext,
    kind: str,
    approve: bool,
    actor: str,
    note: str | None,
    at: datetime,
    source: str = "prefect",
) -> dict:
    """Records an answer on `kind` (a phase kind, `extension:ID` or `item:R-3`) as the command line does."""
    if is_phase_kind(kind):
        return approve_phase(session, ctx, kind, actor, at, note, source=source, approve=approve)
    if kind.startswith("extension:"):
        decide = approve_extension if approve else reject_extension
        return decide(session, ctx, int(kind.split(":", 1)[1]), actor, at, note, source=source)
    code = kind.split(":", 1)[1]
    if approve:
        return accept_item(session, ctx, code, actor, at, note, source=source)
    record_event(
        session, ctx.id, at, "remediation.acceptance_refused", kind, actor, {"note": note, "source": source}
    )
    return {"program": ctx.id, "item": code, "state": "open", "by": actor}


def decisions(session: Session, program_id: str) -> list[dict]:
    rows = session.scalars(select(CoordinatorDecision).where(CoordinatorDecision.program_id == program_id)
                           .order_by(CoordinatorDecision.id))
    return [{"id": d.id, "kind": d.kind, "subject": d.subject, "approve": d.approve, "by": d.decided_by,
             "at": d.decided_at.isoformat(), "note": d.note, "source": d.source} for d in rows]
