"""The delivery ledger and channel health: what the notifiers write, and what the command line and the
bulletin read.

Readers:
    list_deliveries(session, program_id, failed_only=False) -> list[dict]     (`duban deliveries`)
    failed_delivery_counts(session, program_id, since=None, until=None) -> dict[unit_code, int]
        (the bulletin)
    broken_channels(session, program_id=None) -> list[dict]
    reset_channel(session, channel, program_id=None) -> int
        (`duban deliveries reset`: the unit fixed its robot)

Writers (used by AppriseNotifier and OutboxNotifier, each in its own short transaction):
    open_delivery, finish_delivery, record_deliveries (the outbox), delivered_notice_ids, mark_broken,
    mark_unresolved, mark_ok.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select, text, update
from sqlalchemy.orm import Session

from db import ChannelHealth, Delivery, core, one_of
from notifications.delivery.ratelimit import _insert
from notifications.message import Message

TERMINAL = ("delivered", "sent", "failed", "unknown")
REACHED = ("delivered", "sent")
DOUBTFUL = ("failed", "unknown")  # what `deliveries --failed`, the artifact and the bulletin show


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _as_dict(row: Delivery) -> dict:
    return {
        "at": _iso(row.last_at),
        "first_at": _iso(row.first_at),
        "last_at": _iso(row.last_at),
        "message_at": _iso(row.message_at),
        "unit": row.unit_code,
        "audience": row.audience,
        "channel": row.channel,
        "channel_kind": row.kind,
        "state": row.state,
        "attempts": row.attempts,
        "code": row.code,
        "reason": row.reason,
        "message_id": row.message_id,
        "kinds": list(row.kinds or []),
        "tasks": list(row.task_codes or []),
        "retry_at": _iso(row.retry_at),
        "channel_key": row.channel_key,
    }


def list_deliveries(session: Session, program_id: str, failed_only: bool = False) -> list[dict]:
    """One entry per message per channel, oldest first. Keys: at (last attempt), unit, channel (masked),
    state, attempts, code, reason, message_id, kinds, tasks, and first_at, last_at, message_at, audience,
    channel_kind, retry_at. `failed_only`: the failed ones (a broken channel, a rejection, a send given up)
    and the unknown ones (the run died or the answer timed out mid-send: it may have arrived; `duban
    deliveries retry` re-sends)."""
    query = select(Delivery).where(Delivery.program_id == program_id)
    if failed_only:
        query = query.where(Delivery.state.in_(DOUBTFUL))
    rows = session.scalars(query.order_by(Delivery.first_at, Delivery.id)).all()
    return [_as_dict(row) for row in rows]


def _unreached():
    """(unit, message) of the messages that reached their unit through no channel. Only a message with a
    failed or unknown row can be one: those are found by the (program, state) index first, so the bulletin
    never groups the program's whole ledger. Built once on the table (Core)."""
    rows = _DELIVERIES.c
    reached = func.sum(case((one_of(rows.state, REACHED), 1), else_=0))
    pending = func.sum(case((one_of(rows.state, ("queued", "deferred")), 1), else_=0))
    failed = func.sum(case((one_of(rows.state, DOUBTFUL), 1), else_=0))
    doubtful = select(rows.message_id).where(rows.program_id == bindparam("program"),
                                             one_of(rows.state, DOUBTFUL))
    # A message belongs to one program: its rows are found by the (message, channel) key.
    return (select(rows.unit_code, rows.message_id).where(rows.message_id.in_(doubtful))
            .group_by(rows.unit_code, rows.message_id).having(reached == 0, pending == 0, failed > 0))


_DELIVERIES = Delivery.__table__
_UNREACHED = _unreached()


def failed_delivery_counts(
    session: Session, program_id: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, int]:
    """Per unit, the number of messages that reached it through no channel: every channel failed, or its fate
    is unknown.

    A message with a failed robot but a delivered email reached the unit and is not counted. `since`/`until`
    bound the message's first attempt (the bulletin's period)."""
    query = _UNREACHED
    if since is not None:
        query = query.where(_DELIVERIES.c.first_at >= since)
    if until is not None:
        query = query.where(_DELIVERIES.c.first_at < until)
    counts: dict[str, int] = defaultdict(int)
    for unit_code, _message_id in core(session, query, {"program": program_id}):
        counts[unit_code] += 1
    return dict(counts)


def broken_channels(session: Session, program_id: str | None = None) -> list[dict]:
    query = select(ChannelHealth).where(ChannelHealth.state != "ok")
    if program_id is not None:
        query = query.where(ChannelHealth.program_id == program_id)
    return [
        {
            "channel": row.channel,
            "kind": row.kind,
            "state": row.state,
            "code": row.code,
            "reason": row.reason,
            "unit": row.unit_code,
            "program": row.program_id,
            "since": _iso(row.since),
            "key": row.key,
            "last_checked_at": _iso(row.last_checked_at),
        }
        for row in session.scalars(query.order_by(ChannelHealth.since))
    ]


def reset_channel(session: Session, channel: str, program_id: str | None = None) -> int:
    """Mark channels healthy again by masked form or key (the caller commits). Returns how many. Two tokens
    can mask alike: the key names one channel exactly."""
    query = update(ChannelHealth).where(
        or_(ChannelHealth.channel == channel, ChannelHealth.key == channel), ChannelHealth.state != "ok"
    )
    if program_id is not None:
        query = query.where(ChannelHealth.program_id == program_id)
    result = session.execute(query.values(state="ok", alerted_at=None, failing_since=None))
    return result.rowcount or 0


# ---------------------------------------------------------------------------------------------------- writers


@dataclass(frozen=True)
class DeliveryRow:
    state: str
    attempts: int
    code: str | None
    reason: str | None
    failing_since: datetime | None
    retry_at: datetime | None
    channel: str


def open_delivery(
    session: Session, message: Message, *, channel: str, channel_key: str, kind: str, now: datetime,
    route: str | None = None,
) -> DeliveryRow:
    """Get or create the ledger row of (message, channel), state queued when new."""
    insert = _insert(session)
    recipient = message.recipient
    session.execute(
        insert(Delivery)
        .values(
            message_id=message.message_id,
            program_id=message.program_id,
            unit_code=recipient.unit_code,
            audience=recipient.audience,
            channel=channel,
            channel_key=channel_key,
            route=route,
            kind=kind,
            state="queued",
            attempts=0,
            kinds=list(message.kinds),
            task_codes=list(message.task_codes),
            notice_ids=list(message.notice_ids),
            message_at=message.at,
            first_at=now,
            last_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Delivery.message_id, Delivery.channel_key])
    )
    row = session.execute(
        select(Delivery).where(Delivery.message_id == message.message_id, Delivery.channel_key == channel_key)
    ).scalar_one()
    return DeliveryRow(
        row.state, row.attempts, row.code, row.reason, row.failing_since, row.retry_at, row.channel
    )


# The same text on SQLite and PostgreSQL, compiled once (a dialect's upsert construct carries no cache key):
# a resumed message's row takes the new attempt, else the row is new.
_RECORDED = ("message_id", "program_id", "unit_code", "audience", "channel", "channel_key", "route", "kind",
             "state", "kinds", "task_codes", "notice_ids", "message_at", "reason")
_RECORD_DELIVERY = text(
    f"INSERT INTO deliveries ({', '.join(_RECORDED)}, attempts, first_at, last_at) "
    f"VALUES ({', '.join(f':{name}' for name in _RECORDED)}, 1, :now, :now) "
    "ON CONFLICT (message_id, channel_key) DO UPDATE SET state = excluded.state, last_at = excluded.last_at, "
    "attempts = deliveries.attempts + 1, code = NULL, reason = excluded.reason, failing_since = NULL, "
    "retry_at = NULL"
).bindparams(*(bindparam(name, type_=Delivery.__table__.c[name].type)
               for name in ("kinds", "task_codes", "notice_ids", "message_at")),
             bindparam("now", type_=Delivery.last_at.type))


def record_deliveries(
    session: Session, messages: Sequence[Message], *, channel: str, route: str | None, kind: str, state: str,
    reason: str | None = None,
) -> None:
    """Attempts whose answer is known at once (the outbox): the row of each (message, channel) ends in
    `state`, at the message's own time, in one statement for all."""
    core(session, _RECORD_DELIVERY, [{
        "message_id": message.message_id, "program_id": message.program_id,
        "unit_code": message.recipient.unit_code, "audience": message.recipient.audience, "channel": channel,
        "channel_key": channel, "route": route, "kind": kind, "state": state, "kinds": list(message.kinds),
        "task_codes": list(message.task_codes), "notice_ids": list(message.notice_ids),
        "message_at": message.at, "reason": reason, "now": message.at} for message in messages])


def finish_delivery(
    session: Session,
    message_id: str,
    channel_key: str,
    *,
    state: str,
    now: datetime,
    add_attempts: int = 0,
    code: str | None = None,
    reason: str | None = None,
    failing_since: datetime | None = None,
    retry_at: datetime | None = None,
    channel: str | None = None,
) -> None:
    values: dict = {
        "state": state, "last_at": now, "attempts": Delivery.attempts + add_attempts, "code": code,
        "reason": reason, "failing_since": failing_since, "retry_at": retry_at}
    if channel is not None:
        values["channel"] = channel
    session.execute(
        update(Delivery)
        .where(Delivery.message_id == message_id, Delivery.channel_key == channel_key)
        .values(**values)
    )


def delivered_notice_ids(
    session: Session, program_id: str, unit_code: str, channel_key: str, since: datetime
) -> set[int]:
    """Notice ids this channel already carried to this unit since `since` (so a re-grouped digest does not
    repeat a channel that already delivered all of its notices)."""
    rows = session.scalars(
        select(Delivery.notice_ids).where(
            Delivery.program_id == program_id, Delivery.unit_code == unit_code,
            Delivery.channel_key == channel_key, Delivery.state.in_(REACHED), Delivery.first_at >= since)
    )
    carried: set[int] = set()
    for ids in rows:
        carried.update(int(i) for i in ids or [])
    return carried


def health(session: Session, key: str) -> ChannelHealth | None:
    return session.get(ChannelHealth, key)


def _mark_bad(
    session: Session,
    state: str,
    *,
    key: str,
    channel: str,
    kind: str,
    code: str | None,
    reason: str | None,
    program_id: str,
    unit_code: str,
    now: datetime,
) -> bool:
    """Move a channel into `state`; True only for the one caller that made the move (it alerts)."""
    insert = _insert(session)
    inserted = session.execute(
        insert(ChannelHealth)
        .values(
            key=key, channel=channel, kind=kind, state=state, code=code, reason=reason,
            program_id=program_id, unit_code=unit_code, since=now, last_checked_at=now, alerted_at=now)
        .on_conflict_do_nothing(index_elements=[ChannelHealth.key])
        .returning(ChannelHealth.key)
    ).first()
    if inserted is not None:
        return True
    moved = session.execute(
        update(ChannelHealth)
        .where(ChannelHealth.key == key, ChannelHealth.state != state)
        .values(
            state=state, channel=channel, code=code, reason=reason, program_id=program_id,
            unit_code=unit_code, since=now, last_checked_at=now, alerted_at=now)
    )
    if moved.rowcount == 1:
        return True
    session.execute(
        update(ChannelHealth)
        .where(ChannelHealth.key == key)
        .values(last_checked_at=now, code=code, reason=reason)
    )
    return False


def mark_broken(session: Session, **kwargs) -> bool:
    return _mark_bad(session, "broken", **kwargs)


def mark_unresolved(session: Session, **kwargs) -> bool:
    return _mark_bad(session, "unresolved", **kwargs)


def mark_failing(session: Session, **kwargs) -> bool:
    """A channel failing transiently past the give-up time: alerted once, still tried (it may come back)."""
    return _mark_bad(session, "failing", **kwargs)


def mark_ok(session: Session, key: str, now: datetime) -> None:
    session.execute(
        update(ChannelHealth)
        .where(
            ChannelHealth.key == key,
            or_(ChannelHealth.state != "ok", ChannelHealth.failing_since.is_not(None)),
        )
        .values(state="ok", last_checked_at=now, alerted_at=None, failing_since=None)
    )


def failing_since(session: Session, *, key: str, channel: str, kind: str, program_id: str, unit_code: str,
                  now: datetime) -> datetime:
    """The channel's give-up clock: its first transient failure since it last worked, across messages and
    checks."""
    insert = _insert(session)
    session.execute(
        insert(ChannelHealth)
        .values(key=key, channel=channel, kind=kind, state="ok", program_id=program_id, unit_code=unit_code,
                last_checked_at=now, failing_since=now)
        .on_conflict_do_update(index_elements=[ChannelHealth.key],
                               set_={"failing_since": func.coalesce(ChannelHealth.failing_since, now)})
    )
    return session.scalar(select(ChannelHealth.failing_since).where(ChannelHealth.key == key))


def claim_probe(
    session: Session, key: str, last_checked_at: datetime | None, now: datetime, every: timedelta
) -> bool:
    """True for the one sender that may re-probe a broken channel now (compare-and-set on last_checked_at)."""
    if last_checked_at is not None and now - last_checked_at < every:
        return False
    condition = (
        ChannelHealth.last_checked_at.is_(None)
        if last_checked_at is None
        else ChannelHealth.last_checked_at == last_checked_at
    )
    result = session.execute(
        update(ChannelHealth).where(ChannelHealth.key == key, condition).values(last_checked_at=now)
    )
    return result.rowcount == 1
