"""A program as every rule reads it: its row, parsed policies, zone and phases; the errors commands raise."""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from db.bulk import core
from db.models import CheckMark, Phase, Program
from schedule import Policies, language_of, text


class NotFound(LookupError):
    pass


class InvalidInput(ValueError):
    pass


@dataclass(frozen=True)
class ProgramContext:
    """A program row with its parsed policies, calendar and zone: what every rule needs."""

    program: Program
    policies: Policies

    @property
    def id(self) -> str:
        return self.program.id

    @property
    def language(self) -> str:
        """'zh-CN' or 'en': the catalogue language of everything said about this program."""
        return language_of(self.program.language)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.program.timezone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


# Built once: a statement object keeps its cache key, so running it again skips building and keying it (most
# of what a small query costs); every check reads these two several times.
_PROGRAM = select(Program).where(Program.id == bindparam("program_id"))
_PHASES = select(Phase).where(Phase.program_id == bindparam("program_id")).order_by(Phase.seq)


def load_program(session: Session, program_id: str) -> ProgramContext:
    program = session.scalars(_PROGRAM, {"program_id": program_id}).one_or_none()
    if program is None:
        known = session.scalars(select(Program.id).order_by(Program.id)).all()
        # The program is unknown, so is its language: the default one.
        hint = (
            text(None, "error.program_known", known=", ".join(known))
            if known
            else text(None, "error.no_programs")
        )
        raise NotFound(text(None, "error.program_missing", program=program_id, hint=hint))
    return ProgramContext(program, Policies.from_json(program.settings))


def phases(session: Session, program_id: str) -> list[Phase]:
    return list(session.scalars(_PHASES, {"program_id": program_id}))


@dataclass(frozen=True, slots=True)
class PhaseState:
    """A phase as the daily check reads it every day: its columns but the JSON ones (gate conditions and
    reasons, exit tasks, what a 交办 waits for), without the ORM's work; db.phases.advance loads the Phase it
    moves."""

    id: int
    seq: int
    kind: str
    name: str
    start: date
    end: date
    state: str
    closed_on: date | None


# The row but its change count; its settings as stored, compared as text (decoded only for a new context).
_KEPT = [cast(column, Text) if column.key == "settings" else column
         for column in Program.__table__.c if column.key != "changes"]
# Which of a phase's columns are dates: read as ISO text from the JSON.
_DATED = tuple(name in ("start", "end", "closed_on") for name in PhaseState.__slots__)


@cache
def _daily(dialect: str) -> Select:
    """The program's row beside its phases and its check marks, each as one JSON text (a handful of each):
    one statement and one row a day."""
    def rows(table, *columns):
        aggregate = func.json_agg if dialect == "postgresql" else func.json_group_array
        array = func.json_build_array if dialect == "postgresql" else func.json_array
        return select(cast(aggregate(array(*columns)), Text)).where(table.program_id == Program.id)

    marks = rows(CheckMark, CheckMark.scope, CheckMark.claimed_on, CheckMark.changes)
    plan_phases = rows(Phase, *(getattr(Phase, name) for name in PhaseState.__slots__))
    return select(Program.changes, *_KEPT, plan_phases.scalar_subquery().label("phases"),
                  marks.scalar_subquery().label("marks")).where(Program.id == bindparam("program_id"))


def _phase_state(values: list) -> PhaseState:
    return PhaseState(*(date.fromisoformat(value) if dated and value is not None else value
                        for value, dated in zip(values, _DATED, strict=True)))


# Per database: program id → (its row as last read, but its change count; the context made of it).
_KNOWN: weakref.WeakKeyDictionary[object, dict[str, tuple[tuple, ProgramContext]]] = (
    weakref.WeakKeyDictionary())


class Daily(NamedTuple):
    ctx: ProgramContext
    changes: int                               # the program's change count (db.models.marks)
    phases: list[PhaseState]
    marks: dict[str, tuple[date, int]]         # check mark scope → (claimed on, change count) (db.marks)


def daily_program(session: Session, program_id: str) -> Daily:
    """The program, its change count, its phases and its check marks, as the daily check reads them every
    day: one Core statement. The context is made anew (its Program loaded, its policies parsed) only when the
    row has changed since this process last read it, an import or archiving: a context holds the row's
    values, never its change count, and its Program is kept out of every session (no rollback expires it)."""
    row = core(session, _daily(session.get_bind().dialect.name), {"program_id": program_id}).first()
    if row is None:
        load_program(session, program_id)  # raises NotFound, saying which programs there are
    values = tuple(row[1:1 + len(_KEPT)])
    known = _KNOWN.setdefault(session.get_bind(), {})
    if program_id not in known or known[program_id][0] != values:
        ctx = load_program(session, program_id)
        session.expunge(ctx.program)
        known[program_id] = (values, ctx)
    plan_phases = sorted((_phase_state(values) for values in json.loads(row.phases or "[]")),
                         key=lambda phase: phase.seq)
    held = {scope: (date.fromisoformat(claimed_on), changes)
            for scope, claimed_on, changes in json.loads(row.marks or "[]")}
    return Daily(known[program_id][1], row[0], plan_phases, held)
