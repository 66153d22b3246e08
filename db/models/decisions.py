"""The coordinator's decisions: closing a phase whose gate does not hold, accepting an item, an extension."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, ProgramRow, UTCDateTime


class CoordinatorDecision(ProgramRow, Base):
    """A decision of the coordinator (牵头办): close a phase whose gate does not hold, accept a remediation
    item, approve or reject an extension. The latest decision on a subject is the one in force."""

    __tablename__ = "coordinator_decisions"
    __table_args__ = (Index("ix_coordinator_decisions_program_subject", "program_id", "subject"),)

    kind: Mapped[str] = mapped_column(String(16))  # phase | item | extension
    subject: Mapped[str] = mapped_column(String(100))  # phase:self_check | item:R-3 | extension:7
    approve: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="cli")  # cli | prefect | simulate
