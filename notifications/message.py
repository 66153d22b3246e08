"""What a check hands to a channel: one digest message to one recipient, and what became of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from notifications.delivery.inflight import Route  # types only: inflight imports this module

Audience = Literal["unit", "leader"]
DeliveryState = Literal["delivered", "sent", "failed", "deferred", "unknown"]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Recipient:
    program_id: str
    unit_code: str
    unit_name: str
    audience: Audience
    urls: tuple[str, ...]  # apprise URLs as written: ${VAR} is expanded only at send time


@dataclass(frozen=True)
class Message:
    message_id: str
    program_id: str
    at: datetime  # the check's as_of, not the wall clock
    language: str
    recipient: Recipient
    kinds: tuple[str, ...]
    task_codes: tuple[str, ...]
    subject: str
    text: str
    markdown: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    notice_ids: tuple[int, ...] = ()
    link: str | None = (
        None  # the unit's portal link, also in text/markdown/html; kept when a robot cuts the text
    )
    contact: str = ""  # where a robot's reader gets what a robot cannot carry (lists, forms): the coordinator


@dataclass(frozen=True)
class DeliveryResult:
    """delivered: a verified channel accepted it; sent: handed over, unverifiable (outbox, plain email relay
    counts as verified); deferred: not now (rate limit, transient failure), stays queued; unknown: no channel
    verifiably took it but one may have (its answer timed out mid-send); failed: no channel left."""

    state: DeliveryState
    channel: str | None = None  # masked
    code: str | None = None
    reason: str | None = None
    attempts: int = 0
    alerts: tuple[str, ...] = field(default=())  # masked channels newly found broken
    retry_at: datetime | None = None  # deferred: when the earliest waiting channel can go again
    channels: tuple[tuple[str, str], ...] = field(default=())  # (masked channel, its state) for each URL
    alert_keys: tuple[tuple[str, str], ...] = field(
        default=()
    )  # (channel key, masked) of `alerts`: the identity
    # The states its notices took, when the notifier settled them in the transaction that recorded its answer
    # (the outbox with a ledger); None: the caller settles them.
    settled: dict[str, int] | None = None


class Notifier(Protocol):
    def routes(self, urls: tuple[str, ...]) -> tuple[Route, ...]:
        """The channels a message to these URLs would take, each a route of the (notice, channel) ledger."""
        ...

    def send(self, message: Message) -> DeliveryResult: ...

    def send_many(self, messages: Sequence[Message]) -> Iterable[DeliveryResult]:
        """A dispatch's messages, claimed together, in their order; one result each, each given as soon as
        its message has been answered for, before the next leaves (the caller settles a message's notices
        from its result unless the notifier did: the outbox). Each message passes the `after_claim` crash
        point (notifications/delivery/crashpoints.py) before it leaves."""
        ...
