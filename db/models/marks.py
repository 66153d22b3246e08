"""The check's marks, and the change count they are read against (db.marks).

`programs.changes` is counted up by every write that can bring a claim step new candidates: any write to a
program, its phases, units, collectives, tasks, their units or their instances (an import adding or re-dating
tasks, an extension moving a due date, a report reopening a task or finishing one a 交办 waits for, a phase
transition), its extension requests and done claims (a request or a decision to tell of); not a unit's
progress report on an instance that stays open, nor a done claim while it waits for review. It is counted
here, from the session's own events, where every session of every command has the models loaded, not by each
writer: a writer added later cannot forget it. A write whose program is not at
hand (a bulk statement without the execution option `program`, a task's units, a collective's members)
counts for every program. The count is taken when the transaction commits (`before_commit`).
"""

from __future__ import annotations

from datetime import date
from itertools import chain

from sqlalchemy import Date, Integer, String, UniqueConstraint, bindparam, event, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.base import NO_VALUE

from db.models.core import Base, Phase, Program, ProgramRow, Task, TaskInstance, TaskUnit, Unit, UnitMember
from db.models.extensions import ExtensionRequest
from db.models.portal import DoneClaim


class CheckMark(ProgramRow, Base):
    """A claim step (`scope`: `phase:KIND` or `program`) claimed everything due on `claimed_on`, the program's
    change count being `changes` when it read its candidates."""

    __tablename__ = "check_marks"
    __table_args__ = (UniqueConstraint("program_id", "scope"),)

    scope: Mapped[str] = mapped_column(String(64))
    claimed_on: Mapped[date] = mapped_column(Date)
    changes: Mapped[int] = mapped_column(Integer)


WATCHED = (Program, Phase, Unit, UnitMember, Task, TaskUnit, TaskInstance, ExtensionRequest, DoneClaim)
_WATCHED_TABLES = frozenset(model.__table__ for model in WATCHED)
_WRITTEN = "duban.programs_written"  # session.info: the programs written in this transaction, not yet counted
EVERY = "*"  # a write whose program is not at hand


def written_in_transaction(session: Session, program_id: str) -> bool:
    """The session wrote what can bring `program_id` new candidates, to be counted when it commits."""
    written = session.info.get(_WRITTEN, ())
    return program_id in written or EVERY in written


def _note(session: Session, programs) -> None:
    session.info.setdefault(_WRITTEN, set()).update(programs)


@event.listens_for(Session, "before_flush")
def _note_flushed(session: Session, _context, _instances) -> None:
    written = chain(session.deleted, (o for o in session.new if not _waiting_claim(o)),
                    (o for o in session.dirty if session.is_modified(o) and not _progress_only(o)))
    _note(session, {o.id if isinstance(o, Program) else getattr(o, "program_id", EVERY)
                    for o in written if isinstance(o, WATCHED)})


# What a unit's progress report writes on an instance that stays open (its progress, its last report, not
# started → in progress) brings a claim step nothing new: the rungs move with an instance's due date and its
# status into or out of done, never with these; the progress reports owed are read whole every workday
# (db.ladders.tasks), keyed by the last report. A collective's parent follows its shares by a roll-up write
# of its own, which counts (db.collectives.follow_shares).
_PROGRESS = frozenset({"progress", "last_report_at", "status"})


def _progress_only(written: object) -> bool:
    if not isinstance(written, TaskInstance):
        return False
    was = inspect(written).committed_state
    changed = {name for name, old in was.items() if old is NO_VALUE or old != getattr(written, name)}
    return changed <= _PROGRESS and "done" not in (was.get("status"), written.status)


def _waiting_claim(written: object) -> bool:
    """A done claim waiting for the coordinator: only its decision is told (db.reviews.claim_candidates)."""
    return isinstance(written, DoneClaim) and written.state == "pending"


# The execution option of a Core write that, by the rules above, brings nothing new: a progress report on an
# instance that stays open, a done claim while it waits (db.tasks.write_report, db.reviews.submit_report).
# Only its writer knows the row's old state; a writer that leaves it out is counted, which is never wrong.
BRINGS_NOTHING = "duban.brings_nothing"


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state) -> None:
    """A bulk statement names its program with the execution option `program`, else it counts for all."""
    if (not state.is_select and getattr(state.statement, "table", None) in _WATCHED_TABLES
            and not state.execution_options.get(BRINGS_NOTHING)):
        _note(state.session, {state.execution_options.get("program", EVERY)})


@event.listens_for(Session, "before_commit")
def _count(session: Session) -> None:
    """Counted at commit, in the same transaction: the programs' rows are locked for an instant, not for as
    long as a check runs."""
    session.flush()
    programs = session.info.pop(_WRITTEN, None)
    if not programs:
        return
    # On the connection: the session's own events stay out of it.
    if EVERY in programs:
        session.connection().execute(_BUMP_ALL)
    else:
        session.connection().execute(_BUMP, {"programs": sorted(programs)})


# Built once: every commit that wrote what the marks watch runs one (a statement built per commit was most of
# the count's cost).
_PROGRAMS = Program.__table__
_BUMP_ALL = update(_PROGRAMS).values(changes=_PROGRAMS.c.changes + 1)
_BUMP = _BUMP_ALL.where(_PROGRAMS.c.id.in_(bindparam("programs", expanding=True)))


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has counted them already)
        session.info.pop(_WRITTEN, None)
