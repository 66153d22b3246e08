"""The units' side (migration 0006): personal links, 签收 of each 交办, done claims and their review (审核),
coordinator accounts, and the little the web portal must share between its workers (a signing key, bad-token
counts per address, submitted form ids). The portal process keeps nothing itself: every worker reads these.

Nothing here is deleted by a check or an import: an acknowledgement, a claim and its decision are history.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, IndexedProgramRow, ProgramRow, Serial, UTCDateTime


class UnitLink(ProgramRow, Base):
    """A unit's personal portal link. Only the SHA-256 of the token is kept: the token itself is in the digest
    that carried it and nowhere else."""

    __tablename__ = "unit_links"
    __table_args__ = (Index("ix_unit_links_program_unit", "program_id", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(128))  # the digest that carried it


class AssignmentAck(IndexedProgramRow, Base):
    """签收: a unit acknowledges the 交办 of one task, once."""

    __tablename__ = "assignment_acks"
    __table_args__ = (UniqueConstraint("task_id", "unit_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    acked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))


class DoneClaim(ProgramRow, Base):
    """申请办结: the lead unit's claim that a task instance is done, waiting for the coordinator's 审核.
    passed (销号: done on the claim's date) or returned (退回重办, with a reason)."""

    __tablename__ = "done_claims"
    __table_args__ = (Index("ix_done_claims_program_state", "program_id", "state"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id", ondelete="CASCADE"))
    previous_progress: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | passed | returned
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)


class PortalUser(ProgramRow, Base):
    """A coordinator's account on the portal: a scrypt hash of the password, never the password."""

    __tablename__ = "portal_users"
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # coordinator
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PortalKey(Base):
    """The key that signs session cookies, shared by every portal worker (made once, on first use)."""

    __tablename__ = "portal_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PortalFailure(Serial, Base):
    """A bad link token or password from an address: repeated ones are slowed down."""

    __tablename__ = "portal_failures"
    __table_args__ = (Index("ix_portal_failures_address_at", "address", "at"),)

    at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64))


class PortalSubmission(Base):
    """The one-time id of a submitted form: a second submit of the same form records nothing."""

    __tablename__ = "portal_submissions"

    form_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
