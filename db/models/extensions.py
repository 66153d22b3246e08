"""Extension requests (延期申请) and their decisions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, ProgramRow, UTCDateTime


class ExtensionRequest(ProgramRow, Base):
    """延期申请: filed by a unit on the task before the due date; approved or rejected by the coordinator."""

    __tablename__ = "extension_requests"
    __table_args__ = (Index("ix_extension_requests_program_state", "program_id", "state"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    from_due: Mapped[date] = mapped_column(Date)  # the due date when requested
    to_due: Mapped[date] = mapped_column(Date)
    original_due: Mapped[date | None] = mapped_column(Date)  # the 分工表's date
    reason: Mapped[str] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # the instance's progress when requested
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_note: Mapped[str | None] = mapped_column(Text)
