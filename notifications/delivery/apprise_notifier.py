"""AppriseNotifier: deliver a message to every notify URL of its recipient, verified, rate-limited, on record.

For each URL of the recipient (in order; the same message goes to each, as apprise does with a list):
1. expand `${VAR}` (environment, else Prefect Secret block); a variable without a value fails that channel and
   alerts the coordinator once (`DeliveryResult.alerts`), and is tried again on the next send;
2. open the ledger row (message, channel) — a channel that already carried this message (same message_id, or
   all of its notice ids) is not sent to again;
3. skip a channel marked broken (until it is reset, its URL or secret changes, or `reprobe_after` passes);
4. take a slot from the shared rate limiter, waiting up to `max_wait` for one; none: the channel is deferred;
5. send and read the answer: ok → delivered; permanent (bad token, keyword/signature mismatch, 4xx, SMTP
   5xx) → the channel is marked broken, the coordinator alerted once, the next URL still carries the message;
   transient (timeout, 5xx, over-limit codes, SMTP 4xx) → retried with exponential backoff, then deferred; a
   robot that answers over-limit is blocked in the limiter for ten minutes; a channel failing for
   `give_up_after` fails.

The message's state: deferred if any channel is deferred (it stays queued: re-send it, ideally with the same
message_id, and only the channels still owed get it), else delivered if a verified channel accepted it, else
failed with the last code and reason. Robots are verified by their answer body; an accepted SMTP transaction
and a gateway's HTTP 2xx count as verified too.

No expanded URL or secret is stored, logged or returned: channels are masked, keys are hashes, reasons are
redacted, and the log redactor is installed on every library logger that could print a request line.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from notifications.delivery import inflight, ledger
from notifications.delivery.channels import (
    Channel,
    InvalidChannel,
    Outcome,
    SendContext,
    channel_kind,
    mask_url,
    parse_channel,
)
from notifications.delivery.crashpoints import crash_point
from notifications.delivery.outbox import OutboxNotifier
from notifications.delivery.ratelimit import OVER_LIMIT_BLOCK, Limit, RateLimiter, limits_for
from notifications.delivery.secrets import (
    SecretResolver,
    SecretUnavailable,
    install_redaction,
    is_single_reference,
    redact,
)
from notifications.message import DeliveryResult, Message

log = logging.getLogger("duban.delivery")

NOTICE_LOOKBACK = timedelta(days=14)
NO_CHANNEL = "none"  # the route of a unit without any notify URL and no outbox to fall back on
CHECK_SPAN = timedelta(hours=1)  # how much later within its check a post may come than the day before


@dataclass(frozen=True)
class ChannelResult:
    state: str  # delivered | sent | failed | deferred
    channel: str
    code: str | None = None
    reason: str | None = None
    attempts: int = 0
    retry_at: datetime | None = None


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


@dataclass
class _Waits:
    """How long one delivery has waited for rate-limit slots, across its retries."""

    waited: float = 0.0
    spins: int = 0


def _slot_refusal(slot, limits: Sequence[Limit]) -> str:
    if slot.reason == "blocked":
        return f"robot blocked after an over-limit answer until {slot.retry_at:%H:%M:%S} UTC"
    limit_text = ", ".join(str(limit) for limit in limits)
    return f"rate limit {limit_text}: next slot at {slot.retry_at:%H:%M:%S} UTC"


class AppriseNotifier:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings,
        clock: Callable[[], datetime],
        *,
        retry_attempts: int = 3,
        retry_base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        limits: Mapping[str, Sequence[Limit]] | None = None,
        max_wait: timedelta = timedelta(seconds=65),
        give_up_after: timedelta = timedelta(hours=24),
        reprobe_after: timedelta | None = timedelta(hours=24),
        resolver: SecretResolver | None = None,
        outbox: OutboxNotifier | None = None,
        http: httpx.Client | None = None,
    ):
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        self._sessions = session_factory
        self._settings = settings
        self._clock = clock
        self._retry_attempts = retry_attempts
        self._retry_base_delay = retry_base_delay
        self._sleep = sleep
        self._limits = limits
        self._max_wait = max_wait.total_seconds()
        self._give_up_after = give_up_after
        self._reprobe_after = reprobe_after
        self._resolver = resolver or SecretResolver()
        self._outbox = outbox
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=settings.http_timeout_seconds, follow_redirects=False)
        self._ctx = SendContext(
            http=self._http, timeout=float(settings.http_timeout_seconds),
            dingtalk_endpoint=settings.dingtalk_endpoint, wecom_endpoint=settings.wecom_endpoint,
            feishu_endpoint=settings.feishu_endpoint)
        self._endpoints = {
            "dingtalk": settings.dingtalk_endpoint,
            "wecombot": settings.wecom_endpoint,
            "feishu": settings.feishu_endpoint,
        }
        self.limiter = RateLimiter(session_factory, clock)

    # ------------------------------------------------------------------------------------------ plumbing

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> AppriseNotifier:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware datetime")
        return now

    def _outbox_notifier(self) -> OutboxNotifier | None:
        if self._outbox is None and getattr(self._settings, "outbox_path", None) is not None:
            self._outbox = OutboxNotifier(self._settings.outbox_path, self._sessions)
        return self._outbox

    # ------------------------------------------------------------------------------------------ send

    def routes(self, urls: tuple[str, ...]) -> tuple[inflight.Route, ...]:
        urls = tuple(dict.fromkeys(u.strip() for u in urls if u and u.strip()))
        if urls:
            return tuple(
                inflight.Route(inflight.route_of(u), u, mask_url(u), channel_kind(u) or "?") for u in urls
            )
        if self._outbox_notifier() is not None:
            return self._outbox.routes(urls)
        return (inflight.Route(NO_CHANNEL, None, "—", "none"),)

    def send_many(self, messages: Sequence[Message]) -> Iterator[DeliveryResult]:
        """One message after the other, each result given before the next leaves: the caller settles its
        notices first (a run that dies later leaves no notice of an answered message `sending`)."""
        for message in messages:
            crash_point("after_claim")
            yield self.send(message)

    def send(self, message: Message) -> DeliveryResult:
        install_redaction()
        urls = list(dict.fromkeys(u.strip() for u in message.recipient.urls if u and u.strip()))
        if not urls:
            outbox = self._outbox_notifier()
            if outbox is not None:
                return outbox.send(message)
            with self._sessions() as session, session.begin():
                inflight.settle(
                    session, message.message_id, NO_CHANNEL, "failed", self._now(), "no notify URL"
                )
            return DeliveryResult("failed", None, "no_channel", "the unit has no notify URL", 0)
        alerts: list[tuple[str, str]] = []
        results = [self._send_url(message, url, alerts) for url in urls]
        return self._aggregate(results, alerts)

    @staticmethod
    def _aggregate(results: list[ChannelResult], alert_keys: list[tuple[str, str]]) -> DeliveryResult:
        alerts = [masked for _channel_key, masked in alert_keys]
        channels = tuple((r.channel, r.state) for r in results)
        attempts = sum(r.attempts for r in results)
        deferred = [r for r in results if r.state == "deferred"]
        if deferred:
            timed = [r for r in deferred if r.retry_at is not None]
            first = min(timed, key=lambda r: r.retry_at) if timed else deferred[0]
            retry = first.retry_at
            return DeliveryResult(
                "deferred", first.channel, first.code, first.reason, attempts, tuple(alerts), retry, channels,
                tuple(alert_keys),
            )
        for state in ("delivered", "sent"):
            reached = [r for r in results if r.state == state]
            if reached:
                return DeliveryResult(
                    state,
                    reached[0].channel,
                    reached[0].code,
                    reached[0].reason,
                    attempts,
                    tuple(alerts),
                    None,
                    channels,
                    tuple(alert_keys),
                )
        last = next((r for r in results if r.state == "unknown"), results[-1])
        return DeliveryResult(
            last.state, last.channel, last.code, last.reason, attempts, tuple(alerts), None, channels,
            tuple(alert_keys),
        )

    def _send_url(self, message: Message, url: str, alerts: list[tuple[str, str]]) -> ChannelResult:
        now = self._now()
        route = inflight.route_of(url)
        written_mask = mask_url(url)
        # 1. expand
        try:
            expanded = self._resolver.expand(url)
        except SecretUnavailable as exc:
            reason = redact(str(exc))
            log.warning("channel %s: %s", written_mask, reason)
            return self._channel_failed(
                message,
                _key("unresolved", url),
                written_mask,
                channel_kind(url) or "?",
                "secret_unavailable",
                reason,
                now,
                alerts,
                ledger.mark_unresolved,
                route,
            )
        # 2. parse
        shown = mask_url(expanded) if is_single_reference(url) else written_mask
        try:
            channel = parse_channel(expanded, written=url, masked=shown, endpoints=self._endpoints)
        except InvalidChannel as exc:
            return self._channel_failed(
                message,
                _key("invalid", url),
                shown,
                channel_kind(url) or "?",
                "invalid_url",
                redact(str(exc)),
                now,
                alerts,
                ledger.mark_broken,
                route,
            )
        del expanded  # the channel holds what it needs; the expanded URL goes no further
        unresolved_key = _key("unresolved", url) if "${" in url else None
        return self._send_channel(message, channel, alerts, now, unresolved_key, route)

    def _channel_failed(self, message: Message, key: str, shown: str, kind: str, code: str, reason: str,
                        now: datetime, alerts: list[tuple[str, str]], mark, route: str) -> ChannelResult:
        """A channel that cannot even be tried (secret missing, URL invalid): on the ledger, alerted once."""
        with self._sessions() as session, session.begin():
            ledger.open_delivery(
                session, message, channel=shown, channel_key=key, kind=kind, now=now, route=route
            )
            ledger.finish_delivery(
                session, message.message_id, key, state="failed", now=now, code=code, reason=reason
            )
            inflight.settle(session, message.message_id, route, "failed", now, reason)
            newly = mark(session, key=key, channel=shown, kind=kind, code=code, reason=reason,
                         program_id=message.program_id, unit_code=message.recipient.unit_code, now=now)
        if newly:
            alerts.append((key, shown))
        return ChannelResult("failed", shown, code, reason)

    def _send_channel(
        self, message: Message, channel: Channel, alerts: list[tuple[str, str]], now: datetime,
        unresolved_key: str | None, route: str,
    ) -> ChannelResult:
        recipient = message.recipient
        with self._sessions() as session, session.begin():
            if unresolved_key is not None:
                ledger.mark_ok(session, unresolved_key, now)  # its variables resolve now
            row = ledger.open_delivery(
                session, message, channel=channel.masked, channel_key=channel.key, kind=channel.kind, now=now,
                route=route,
            )
            if row.state in ledger.TERMINAL:
                inflight.settle(session, message.message_id, route, row.state, now, row.reason)
                return ChannelResult(row.state, channel.masked, row.code, row.reason)
            if message.notice_ids:
                carried = ledger.delivered_notice_ids(
                    session, message.program_id, recipient.unit_code, channel.key, now - NOTICE_LOOKBACK
                )
                if set(message.notice_ids) <= carried:
                    reason = "already delivered on this channel by an earlier message"
                    ledger.finish_delivery(
                        session,
                        message.message_id,
                        channel.key,
                        state="delivered",
                        now=now,
                        code="dup",
                        reason=reason,
                    )
                    inflight.settle(session, message.message_id, route, "delivered", now, reason)
                    return ChannelResult("delivered", channel.masked, "dup", reason)
            state = ledger.health(session, channel.key)
            probing = False
            if state is not None and state.state == "broken":
                if self._reprobe_after is not None and ledger.claim_probe(
                    session, channel.key, state.last_checked_at, now, self._reprobe_after
                ):
                    probing = True
                else:
                    reason = (
                        f"channel broken since {state.since:%Y-%m-%d %H:%M} UTC: {state.reason or ''}".strip()
                    )
                    ledger.finish_delivery(
                        session,
                        message.message_id,
                        channel.key,
                        state="failed",
                        now=now,
                        code=state.code,
                        reason=reason,
                    )
                    inflight.settle(session, message.message_id, route, "failed", now, reason)
                    return ChannelResult("failed", channel.masked, state.code, reason)
        result = self._attempt(message, channel, row, alerts, route)
        if probing:
            log.info("re-probed broken channel %s: %s", channel.masked, result.state)
        return result

    def _attempt(
        self,
        message: Message,
        channel: Channel,
        row: ledger.DeliveryRow,
        alerts: list[tuple[str, str]],
        route: str,
    ) -> ChannelResult:
        limits = limits_for(channel.kind, self._limits)
        attempts = 0
        waits = _Waits()
        failing_since: datetime | None = None
        while True:
            slot, now = self._slot(channel, limits, waits)
            if not slot.ok:
                return self._finish(message, channel, "deferred", now, attempts, slot.reason,
                                    _slot_refusal(slot, limits), failing_since, slot.retry_at, route)
            outcome = self._post(message, channel, route, now)
            if outcome is None:  # recovered by another run while this message waited its turn: theirs now
                taken = "another run took this channel's notices over"
                return self._finish(message, channel, "deferred", now, attempts, "taken_over", taken,
                                    failing_since, None, route)
            attempts += 1
            settled = self._settled(message, channel, outcome, now, alerts)
            if settled is not None:
                state, reason = settled
                return self._finish(message, channel, state, now, attempts, outcome.code, reason, None, None,
                                    route)
            if failing_since is None:
                with self._sessions() as session, session.begin():
                    failing_since = ledger.failing_since(session, key=channel.key, channel=channel.masked,
                                                         kind=channel.kind, program_id=message.program_id,
                                                         unit_code=message.recipient.unit_code, now=now)
            if outcome.over_limit:
                until = now + OVER_LIMIT_BLOCK
                self.limiter.block(channel.limit_key, until)
                return self._finish(message, channel, "deferred", now, attempts, outcome.code, outcome.reason,
                                    failing_since, until, route)
            if attempts >= self._retry_attempts:
                return self._after_retries(message, channel, outcome, attempts, failing_since, alerts, route)
            self._sleep(self._retry_base_delay * 2 ** (attempts - 1))

    def _slot(self, channel: Channel, limits: Sequence[Limit], waits: _Waits):
        """A slot under the channel's rate limits, waiting for one while the wait stays within `max_wait`;
        or the refused slot. Returns the slot and the time it was asked for."""
        while True:
            waits.spins += 1
            slot = self.limiter.acquire(channel.limit_key, limits)
            now = self._now()
            if slot.ok:
                return slot, now
            delay = max((slot.retry_at - now).total_seconds(), 0.0) if slot.retry_at else 0.0
            within = waits.waited + delay <= self._max_wait and waits.spins < 10_000
            if slot.reason != "rate_limited" or not within:
                return slot, now
            self._sleep(delay)
            waits.waited += max(delay, 0.001)

    def _post(self, message: Message, channel: Channel, route: str, now: datetime) -> Outcome | None:
        """One POST to the channel, marked in flight first: from then on the message may arrive. None, and
        nothing sent, when the route is no longer this message's."""
        install_redaction()  # loggers of libraries imported since the last send (urllib3 via apprise, …)
        with self._sessions() as session, session.begin():
            if not inflight.mark_posting(session, message.message_id, route, message.notice_ids, now):
                return None
        crash_point("after_sending")
        crash_point("mid_post")
        try:
            outcome = channel.deliver(message, now, self._ctx)
        except Exception as exc:  # noqa: BLE001 - a library's exception may quote the URL: never let it out
            outcome = Outcome("permanent", "error", redact(f"{type(exc).__name__}: {exc}")[:300])
        crash_point("after_post")
        return outcome

    def _settled(
        self,
        message: Message,
        channel: Channel,
        outcome: Outcome,
        now: datetime,
        alerts: list[tuple[str, str]],
    ) -> tuple[str, str | None] | None:
        """The final state and reason of an answer that ends the attempts; None for one worth retrying."""
        if outcome.status == "ok":
            with self._sessions() as session, session.begin():
                ledger.mark_ok(session, channel.key, now)
            return "delivered", outcome.reason
        if outcome.status == "permanent":
            if self._mark(ledger.mark_broken, message, channel, outcome.code, outcome.reason, now, alerts):
                log.warning("channel %s broken: %s %s", channel.masked, outcome.code, outcome.reason)
            return "failed", outcome.reason
        if outcome.status == "unknown" and channel.kind not in inflight.IDEMPOTENT_KINDS:
            # The far end may have processed the request: sending again could deliver it twice.
            return "unknown", f"{outcome.reason}: it may have arrived; not sent again"
        return None

    def _after_retries(
        self,
        message: Message,
        channel: Channel,
        outcome: Outcome,
        attempts: int,
        failing_since: datetime,
        alerts: list[tuple[str, str]],
        route: str,
    ) -> ChannelResult:
        """Deferred with a growing delay; failed once the channel has been failing for `give_up_after`."""
        now = self._now()
        if now - failing_since >= self._give_up_after - CHECK_SPAN:
            # The clock is the channel's, across messages and checks: a robot answering 500 for a day is
            # given up. Daily checks start at the same hour, but the post that first failed may have come
            # later within its check than today's (yesterday it waited behind a hanging robot): without the
            # slack, "a day" would come one check late, on the third day.
            since = f"{failing_since:%Y-%m-%d %H:%M} UTC"
            reason = f"gave up after failing since {since}: {outcome.reason or ''}".strip()
            self._mark(ledger.mark_failing, message, channel, outcome.code, reason, now, alerts)
            return self._finish(
                message, channel, "failed", now, attempts, outcome.code, reason, failing_since, None, route
            )
        retry_at = now + timedelta(seconds=self._retry_base_delay * 2**attempts)
        return self._finish(message, channel, "deferred", now, attempts, outcome.code, outcome.reason,
                            failing_since, retry_at, route)

    def _mark(self, mark: Callable, message: Message, channel: Channel, code: str | None, reason: str | None,
              now: datetime, alerts: list[tuple[str, str]]) -> bool:
        """Records the channel's health with `mark` (ledger.mark_broken or mark_failing); a channel that has
        just turned bad is added to `alerts`. Whether it has."""
        with self._sessions() as session, session.begin():
            newly = mark(
                session,
                key=channel.key,
                channel=channel.masked,
                kind=channel.kind,
                code=code,
                reason=reason,
                program_id=message.program_id,
                unit_code=message.recipient.unit_code,
                now=now,
            )
        if newly:
            alerts.append((channel.key, channel.masked))
        return newly

    def _finish(
        self,
        message: Message,
        channel: Channel,
        state: str,
        now: datetime,
        attempts: int,
        code: str | None,
        reason: str | None,
        failing_since: datetime | None,
        retry_at: datetime | None,
        route: str,
    ) -> ChannelResult:
        reason = redact(reason)
        with self._sessions() as session, session.begin():
            ledger.finish_delivery(
                session,
                message.message_id,
                channel.key,
                state=state,
                now=now,
                add_attempts=attempts,
                code=code,
                reason=reason,
                failing_since=failing_since,
                retry_at=retry_at,
                channel=channel.masked,
            )
            inflight.settle(session, message.message_id, route, state, now, reason)
        log.info("message %s on %s: %s %s", message.message_id, channel.masked, state, code or "")
        return ChannelResult(state, channel.masked, code, reason, attempts, retry_at)
