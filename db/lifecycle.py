"""A program ends: once its last phase has closed it is `completed` (no more reminders, 催办 or 督办; one
final summary bulletin to the coordinator), and an ended program can be archived: read-only, its record
kept whole.

Read-only is enforced for every ORM write in one place, db/readonly.py's `before_flush` hook; the daily check
(bulk statements) skips an archived program.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from db.events import record_event
from db.models import Phase
from db.notices import Candidate, notice_key
from db.programs import InvalidInput, PhaseState, ProgramContext
from db.readonly import refuse
from schedule import text

STATES = ("running", "completed", "archived")


_CLOSINGS = select(Phase.state, Phase.closed_on).where(Phase.program_id == bindparam("program_id"))


def ended_on(session: Session, program_id: str) -> date | None:
    """The day the last phase closed, once every phase has; None while one is pending, open or overrun."""
    return _ended(session.execute(_CLOSINGS, {"program_id": program_id}).all())


def ended_by(plan_phases: list[Phase] | list[PhaseState]) -> date | None:
    """ended_on, from the program's phases as read already (ORM rows, or the daily check's plain ones)."""
    return _ended([(phase.state, phase.closed_on) for phase in plan_phases])


def _ended(closings: list[tuple[str, date | None]]) -> date | None:
    if not closings or any(state != "closed" for state, _closed_on in closings):
        return None
    return max((closed_on for _state, closed_on in closings if closed_on is not None), default=None)


def program_state(session: Session, ctx: ProgramContext) -> dict:
    """running | completed | archived, with the day it ended and who archived it when."""
    end = ended_on(session, ctx.id)
    archived = ctx.program.archived_at
    state = "archived" if archived is not None else "completed" if end is not None else "running"
    ended = text(ctx.language, "program_end.ended_on", on=end.isoformat()) if end else ""
    return {"state": state, "label": text(ctx.language, f"program_end.{state}") + ended,
            "ended_on": end.isoformat() if end else None,
            "archived_on": ctx.local_date(archived).isoformat() if archived else None,
            "archived_by": ctx.program.archived_by}


def summary_candidates(session: Session, ctx: ProgramContext) -> list[Candidate]:
    """The final summary bulletin, once, to the coordinator: all a completed program still sends."""
    end = ended_on(session, ctx.id)
    coordinator = ctx.program.coordinator_unit_id
    if end is None or coordinator is None:
        return []
    note = text(ctx.language, "program_end.summary_note", on=end.isoformat())
    return [Candidate(notice_key("final_summary", ctx.id), "final_summary", coordinator,
                      data={"title": text(ctx.language, "program_end.summary_title", name=ctx.program.name),
                            "note": note, "ended_on": end.isoformat()})]


def archive_program(session: Session, ctx: ProgramContext, actor: str, at: datetime) -> dict:
    """An ended program becomes read-only; nothing of its record is deleted. Archiving twice is a no-op."""
    if ctx.program.archived_at is not None:
        return program_state(session, ctx) | {"program": ctx.id}
    if ended_on(session, ctx.id) is None:
        running = [p.name for p in session.scalars(select(Phase).where(Phase.program_id == ctx.id,
                                                                       Phase.state != "closed"))]
        raise InvalidInput(text(ctx.language, "program_end.not_ended", program=ctx.id,
                                phases=text(ctx.language, "digest_text.kinds_separator").join(running)))
    # The event goes first: once the program is archived, the hook refuses every row of it.
    record_event(session, ctx.id, at, "program.archived", f"program:{ctx.id}", actor, {})
    session.flush()
    ctx.program.archived_at, ctx.program.archived_by = at, actor
    session.flush()
    return program_state(session, ctx) | {"program": ctx.id}


def refuse_archived(ctx: ProgramContext) -> None:
    if ctx.program.archived_at is not None:
        refuse(ctx.program)
