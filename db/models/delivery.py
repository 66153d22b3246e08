"""Delivery tables: the ledger, channel health and the shared rate limiter (migration 0002), and the
(notice, channel) ledger with its leases (migration 0005).

No column ever holds an expanded URL or a secret: channels are stored in their masked form, and identified
by a hash (`channel_key`) of the URL as written plus its non-secret expanded parts (robot tokens and signing
secrets are hashed, SMTP passwords are left out).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base, Serial, UTCDateTime


class Delivery(Serial, Base):
    """One message on one channel: its state, attempts and, for a failure, the far end's code and reason.

    state: queued (about to go, or in flight) | sent (handed over, unverifiable: the outbox) | delivered (a
    verified channel accepted it) | deferred (rate limit or transient failure; its notices are owed again) |
    superseded (a deferred or recovered attempt whose notices a later message carries) | retried (failed or
    unknown, re-sent on the coordinator's order) | failed (permanent, or gave up) | unknown (may have arrived:
    the run died or the answer timed out mid-send)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "channel_key"),
        Index("ix_deliveries_program_state", "program_id", "state"),
        Index("ix_deliveries_program_unit", "program_id", "unit_code", "channel_key"),
    )

    message_id: Mapped[str] = mapped_column(String(128))
    program_id: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(8), default="unit")
    channel: Mapped[str] = mapped_column(String(300))  # masked
    channel_key: Mapped[str] = mapped_column(String(64))
    route: Mapped[str | None] = mapped_column(String(64))  # the notice_channels route of this URL
    kind: Mapped[str] = mapped_column(String(16))  # email | dingtalk | wecombot | feishu | json | outbox
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    task_codes: Mapped[list] = mapped_column(JSON, default=list)
    notice_ids: Mapped[list] = mapped_column(JSON, default=list)
    message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the check's as_of
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(
        UTCDateTime
    )  # first transient failure, for giving up
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelHealth(Base):
    """A channel found broken (a permanent rejection) or unresolved (a ${VAR} with no value).

    A broken channel is skipped until it is reset, its URL changes, or the re-probe interval passes.
    `alerted_at` is set by the one sender that moved the row into its bad state: the coordinator is alerted
    once per breakage."""

    __tablename__ = "channel_health"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(300))  # masked
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok | broken | unresolved | failing
    code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    program_id: Mapped[str | None] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The give-up clock: first transient failure of this channel, across messages and checks; cleared by a
    # success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeChannel(Serial, Base):
    """One notice on one channel (a route: the hash of a notify URL as written, or `outbox`).

    state: claimed (taken by a dispatch, not yet handed to the channel) | posting (handed over: may arrive) |
    delivered | sent | failed | unknown (the run died or the answer timed out while posting) | deferred (owed
    again: rate limit, transient failure, a send that provably did not start) | retry (owed again under the
    same message id: an idempotent channel). A channel owes a notice unless a row says it took, refused or may
    have taken it. `owner` (host:pid:token) and `lease_until` let the next check tell a live run from a dead
    one."""

    __tablename__ = "notice_channels"
    __table_args__ = (
        UniqueConstraint("notice_id", "route"),
        Index("ix_notice_channels_program_state", "program_id", "state"),
        Index("ix_notice_channels_message", "message_id"),
    )

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    program_id: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(300))  # masked
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class RateLimit(Base):
    """One row per rate-limited identity (a robot, an SMTP account); locked while a send slot is taken."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateEvent(Serial, Base):
    """A send slot taken: the sliding-window log (pruned past the longest window)."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)

    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
