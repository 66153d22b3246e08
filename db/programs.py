"""A program as every rule reads it: its row, parsed policies, zone and phases; the errors commands raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from db.models import Phase, Program
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


# The phases' JSON columns (gate reasons and conditions, exit tasks, what a 交办 waits for) are loaded when
# first used, on a day a phase moves: decoding them for every phase was most of reading the phases.
_WITH_PHASES = (select(Program, Phase).outerjoin(Phase, Phase.program_id == Program.id)
                .where(Program.id == bindparam("program_id")).order_by(Phase.seq)
                .options(defer(Phase.gate_reasons), defer(Phase.exit_tasks), defer(Phase.assign_after),
                         defer(Phase.gate)))


def program_and_phases(session: Session, program_id: str) -> tuple[ProgramContext, list[Phase]]:
    """load_program and phases in one statement, for the daily check that reads both every day."""
    rows = session.execute(_WITH_PHASES, {"program_id": program_id}).all()
    if not rows:
        load_program(session, program_id)  # raises NotFound, saying which programs there are
    program = rows[0][0]
    return (ProgramContext(program, Policies.from_json(program.settings)),
            [phase for _program, phase in rows if phase is not None])
