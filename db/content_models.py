"""Phase content tables (migration 0003): self-check returns and their rows, findings, remediation items,
extension requests (延期申请) and the coordinator's decisions.

Every row carries `program_id` like the core tables. Nothing here is deleted by a check: a return, a finding,
an item or a decision is history, and the event log tells who did what when.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class SelfCheckReturn(Base):
    """A unit's returned self-check form (自查表): one per unit and program; a second return is refused."""

    __tablename__ = "selfcheck_returns"
    __table_args__ = (UniqueConstraint("program_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_on: Mapped[date] = mapped_column(Date)  # the program-zone date: on time when <= the phase's end
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100))


class SelfCheckRow(Base):
    """One task line of a returned form, as the unit filled it in."""

    __tablename__ = "selfcheck_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("selfcheck_returns.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)  # the spreadsheet row it came from
    completion: Mapped[str] = mapped_column(String(16))  # done | partial | not_done
    self_score: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # file names or links, as written
    problems: Mapped[str | None] = mapped_column(Text)


class Finding(Base):
    """A gap the self-check found: a task not (fully) done, done without evidence, or a problem reported."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_program_unit", "program_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("selfcheck_returns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # not_done | partial | no_evidence | problem
    detail: Mapped[str | None] = mapped_column(Text)
    found_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RemediationItem(Base):
    """补差提升: one finding to fix, with its unit and due date; closed by the unit or accepted by the coordinator."""

    __tablename__ = "remediation_items"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        Index("ix_remediation_items_program_state_due", "program_id", "state", "due"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
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


class ExtensionRequest(Base):
    """延期申请: filed by a unit on the task before the due date; approved or rejected by the coordinator."""

    __tablename__ = "extension_requests"
    __table_args__ = (Index("ix_extension_requests_program_state", "program_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
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


class CoordinatorDecision(Base):
    """A decision of the coordinator (牵头办): close a phase whose gate does not hold, accept a remediation
    item, approve or reject an extension. The latest decision on a subject is the one in force."""

    __tablename__ = "coordinator_decisions"
    __table_args__ = (Index("ix_coordinator_decisions_program_subject", "program_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # phase | item | extension
    subject: Mapped[str] = mapped_column(String(100))  # phase:self_check | item:R-3 | extension:7
    approve: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="cli")  # cli | prefect | simulate
