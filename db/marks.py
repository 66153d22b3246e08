"""What the daily check already decided, so that a re-run visits only what can be new.

Per program and claim step, `check_marks` holds the day the step last claimed everything due and the
program's change count (db.models.marks) it read before reading its candidates, written in the same
transaction as the claims. While the count is unchanged, nothing that could bring new candidates was written
since: the rungs move with the date alone, and the ladders (db.ladders) visit only the due dates whose rung
moved since that day — none when it is the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from db.models import CheckMark, Program
from db.models.marks import written_in_transaction
from db.notices import upsert


@dataclass(frozen=True)
class Mark:
    scope: str                # the claim step: `phase:KIND` or `program`
    since: date | None        # the last day it claimed everything due, if nothing has changed since
    changes: int              # the program's change count, read before its candidates


def read_mark(session: Session, program_id: str, scope: str) -> Mark:
    changes, claimed_on, seen = session.execute(
        select(Program.changes, CheckMark.claimed_on, CheckMark.changes)
        .outerjoin(CheckMark, and_(CheckMark.program_id == Program.id, CheckMark.scope == scope))
        .where(Program.id == program_id)
    ).one()
    if written_in_transaction(session, program_id):
        # This transaction wrote for the program (a phase transition): the count it will have once committed.
        return Mark(scope, None, changes + 1)
    return Mark(scope, claimed_on if seen == changes else None, changes)


_RECORD = upsert(CheckMark.__table__, ("program_id", "scope", "claimed_on", "changes"),
                 conflict=("program_id", "scope"), replace=("claimed_on", "changes"))


def record_mark(session: Session, program_id: str, mark: Mark, today: date) -> None:
    """The step claimed everything due today, as of `mark.changes`."""
    if mark.since == today:
        return  # recorded already, and nothing changed since
    session.execute(_RECORD, {"program_id": program_id, "scope": mark.scope, "claimed_on": today,
                              "changes": mark.changes})
