"""Remediation items (补差提升): one per self-check finding, with its unit and due date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, ProgramRow, UTCDateTime


class RemediationItem(ProgramRow, Base):
    """补差提升: one finding to fix, with its unit and due date; closed by the unit or accepted by the
    coordinator."""

    __tablename__ = "remediation_items"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        Index("ix_remediation_items_program_state_due", "program_id", "state", "due"),
    )

    code: Mapped[str] = mapped_column(String(32))  # … per program
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    original_due: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | accepted
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
