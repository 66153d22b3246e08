"""The notices table: one row per rule, recipient and task instance, claimed under a unique key."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, ProgramRow, UTCDateTime

# queued → sending (compare-and-set, before the notifier is called) → sent (outbox) | delivered | failed;
# a deferred attempt (outside limits, a transient failure) goes back to queued; unknown: it may have arrived
# (a run died or an answer timed out mid-send); superseded: a newer notice of the same rule replaced it
# unsent.
NOTICE_STATES = ("queued", "sending", "sent", "delivered", "failed", "unknown", "superseded")


class Notice(ProgramRow, Base):
    """One rule for one recipient for one task instance; its unique key makes sending exactly-once."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_program_state", "program_id", "state"), Index("ix_notices_message", "message_id"),
        Index("ix_notices_instance_kind", "instance_id", "kind"), Index("ix_notices_claim", "claim"))

    key: Mapped[str] = mapped_column(String(300), unique=True)
    claim: Mapped[str | None] = mapped_column(String(32))  # the check that inserted the row
    kind: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(8), default="unit")  # unit | leader
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"))
    task_code: Mapped[str | None] = mapped_column(String(64))
    due: Mapped[date | None] = mapped_column(Date)
    subject_unit_id: Mapped[int | None] = mapped_column(Integer)  # for escalations: the lagging unit
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    channel: Mapped[str | None] = mapped_column(String(300))  # masked, never expanded
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
