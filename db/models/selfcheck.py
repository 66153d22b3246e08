"""Self-check (自查自评) tables: returned forms, their rows, and the findings read from them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, IndexedProgramRow, ProgramRow, UTCDateTime


class SelfCheckReturn(IndexedProgramRow, Base):
    """A unit's returned self-check form (自查表): one per unit and program; a second return is refused."""

    __tablename__ = "selfcheck_returns"
    __table_args__ = (UniqueConstraint("program_id", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_on: Mapped[date] = mapped_column(Date)  # the program-zone date: on time when <= the phase's end
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100))


class SelfCheckRow(IndexedProgramRow, Base):
    """One task line of a returned form, as the unit filled it in."""

    __tablename__ = "selfcheck_rows"

    return_id: Mapped[int] = mapped_column(ForeignKey("selfcheck_returns.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)  # the spreadsheet row it came from
    completion: Mapped[str] = mapped_column(String(16))  # done | partial | not_done
    self_score: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # file names or links, as written
    problems: Mapped[str | None] = mapped_column(Text)


class Finding(ProgramRow, Base):
    """A gap the self-check found: a task not (fully) done, done without evidence, or a problem reported."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_program_unit", "program_id", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("selfcheck_returns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # not_done | partial | no_evidence | problem
    detail: Mapped[str | None] = mapped_column(Text)
    found_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


