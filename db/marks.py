"""What the daily check already decided, so that a re-run visits only what can be new.

Per program and claim step, `check_marks` holds the day the step last claimed everything due and the
program's change count (db.models.marks) it read before reading its candidates, written in the same
transaction as the claims. While the count is unchanged, nothing that could bring new candidates was written
since: the rungs move with the date alone, and the ladders (db.ladders) visit only the due dates whose rung
moved since that day — none when it is the same day. The roll-up of collectives' tasks is marked alike
(scope `roll_up`): while the count is unchanged since, no share has moved, and the check does not roll up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from db.bulk import core, upsert
from db.models import CheckMark
from db.models.marks import written_in_transaction


@dataclass(frozen=True)
class Mark:
    scope: str                # the claim step: `phase:KIND` or `program`
    since: date | None        # the last day it claimed everything due, if nothing has changed since
    changes: int              # the program's change count, read before its candidates


ROLL_UP = "roll_up"  # the scope of the roll-up of collectives' tasks (db.collectives), not a claim step


class Marks:
    """A program's marks (`rows`: scope → (claimed on, change count), as db.programs.daily_program reads them)
    against the change count of its row as the check read it (`changes`), before anything else: each scope's
    Mark is made when asked, after the phases have moved."""

    def __init__(self, session: Session, program_id: str, changes: int,
                 rows: dict[str, tuple[date, int]]) -> None:
        self.session, self.program_id, self.changes, self.rows = session, program_id, changes, rows

    def current(self, scope: str) -> bool:
        """Nothing that could bring `scope` new work was written since it was last recorded."""
        return scope in self.rows and self.rows[scope][1] == self.changes

    def of(self, scope: str) -> Mark:
        if written_in_transaction(self.session, self.program_id):
            # This transaction wrote for the program (a phase transition, a roll-up): the count it will have
            # once committed.
            return Mark(scope, None, self.changes + 1)
        return Mark(scope, self.rows[scope][0] if self.current(scope) else None, self.changes)


_RECORD = upsert(CheckMark.__table__, ("program_id", "scope", "claimed_on", "changes"),
                 conflict=("program_id", "scope"), replace=("claimed_on", "changes"))


def record_marks(session: Session, program_id: str, marks: list[Mark], today: date) -> None:
    """Each step claimed everything due today, as of its `mark.changes` (one statement); a mark of today is
    recorded already, nothing having changed since."""
    rows = [{"program_id": program_id, "scope": mark.scope, "claimed_on": today, "changes": mark.changes}
            for mark in marks if mark.since != today]
    if rows:
        core(session, _RECORD, rows)
