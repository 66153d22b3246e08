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

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from db.bulk import core, upsert
from db.models import CheckMark, Program
from db.models.marks import written_in_transaction


@dataclass(frozen=True)
class Mark:
    scope: str                # the claim step: `phase:KIND` or `program`
    since: date | None        # the last day it claimed everything due, if nothing has changed since
    changes: int              # the program's change count, read before its candidates


_MARKS = (select(Program.changes, CheckMark.scope, CheckMark.claimed_on, CheckMark.changes)
          .outerjoin(CheckMark, and_(CheckMark.program_id == Program.id,
                                     CheckMark.scope.in_(bindparam("scopes", expanding=True))))
          .where(Program.id == bindparam("program_id")))


def read_marks(session: Session, program_id: str, scopes: list[str]) -> dict[str, Mark]:
    """scope → its Mark, for the claim steps of one check (one statement)."""
    rows = core(session, _MARKS, {"program_id": program_id, "scopes": scopes}).all()
    changes = rows[0][0]
    if written_in_transaction(session, program_id):
        # This transaction wrote for the program (a phase transition): the count it will have once committed.
        return {scope: Mark(scope, None, changes + 1) for scope in scopes}
    held = {scope: claimed_on for _changes, scope, claimed_on, seen in rows if seen == changes}
    return {scope: Mark(scope, held.get(scope), changes) for scope in scopes}


_RECORD = upsert(CheckMark.__table__, ("program_id", "scope", "claimed_on", "changes"),
                 conflict=("program_id", "scope"), replace=("claimed_on", "changes"))


def record_marks(session: Session, program_id: str, marks: list[Mark], today: date) -> None:
    """Each step claimed everything due today, as of its `mark.changes` (one statement); a mark of today is
    recorded already, nothing having changed since."""
    rows = [{"program_id": program_id, "scope": mark.scope, "claimed_on": today, "changes": mark.changes}
            for mark in marks if mark.since != today]
    if rows:
        core(session, _RECORD, rows)
