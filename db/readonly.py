"""An archived program is read-only: one `before_flush` hook refuses a new, changed or deleted row of it
(ProgramArchived), whoever writes it (the command line, the portal, an import); a writer that goes round the
flush (db.events' Core insert) asks `refuse_archived_write` itself.

The program row is read from the session's identity map, where the writer's load_program left it, so the hook
costs no query on the hot path. When it is not there, the hook reads what it needs of it (a few columns, not
the whole row with its policies) once and holds it until the transaction ends: a writer flushes many times.
db.engine imports this module, so the hook is in place for every session made on one of its engines.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session

from db.models import Program
from db.programs import InvalidInput
from schedule import text

_HELD = "duban.archive_checked"  # session.info: program id → what the hook read of it (_ARCHIVED), or None
_P = Program.__table__.c
_ARCHIVED = select(_P.id, _P.archived_at, _P.timezone, _P.language).where(_P.id == bindparam("program"))


class ProgramArchived(InvalidInput):
    """A write to an archived program: refused like any invalid input, with the day it was archived."""


@event.listens_for(Session, "before_flush")
def _refuse_archived_writes(session: Session, _context, _instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Program):
            # Archiving itself sets archived_at; any other change to (or deletion of) an archived program is
            # refused.
            archived = obj.archived_at is not None and not inspect(obj).attrs.archived_at.history.added
            if archived and (obj in session.deleted or session.is_modified(obj)):
                refuse(obj)
            continue
        program_id = getattr(obj, "program_id", None)
        if program_id is not None:
            refuse_archived_write(session, program_id)


def refuse_archived_write(session: Session, program_id: str) -> None:
    """Refuses a write to `program_id` if it is archived: the hook's check, for a writer that goes round the
    flush (a Core insert on the session's connection, db.events). The program as the session holds it, else
    read once per transaction."""
    program = session.identity_map.get(inspect(Program).identity_key_from_primary_key((program_id,)))
    if program is None:
        held = session.info.setdefault(_HELD, {})
        if program_id not in held:  # on the connection: a read that never flushes
            held[program_id] = session.connection().execute(_ARCHIVED, {"program": program_id}).one_or_none()
        program = held[program_id]
    if program is not None and program.archived_at is not None:
        refuse(program)


@event.listens_for(Session, "after_transaction_end")
def _let_go(session: Session, transaction) -> None:
    if transaction.parent is None:  # the session's own transaction, not a flush's or a savepoint's
        session.info.pop(_HELD, None)


def refuse(program) -> None:
    """`program`: the Program row, or what the hook read of it (id, archived_at, timezone, language)."""
    on = program.archived_at.astimezone(ZoneInfo(program.timezone)).date().isoformat()
    raise ProgramArchived(text(program.language, "program_end.archived_refused", program=program.id, on=on))
