"""A rate limiter per channel, kept in the database so that every run and every process shares it.

A sliding-window log: `rate_events` holds the moments a send slot was taken for a key (a robot, an SMTP
account); a slot is granted when, for every limit (count per window), fewer than `count` events lie in the
last `window`. Taking a slot is one transaction that starts with an upsert of the key's `rate_limits` row: on
PostgreSQL that locks the row, on SQLite it takes the database's write lock, so two processes never both see
19 and both send.

Time comes from the injected clock only. Past the limit nothing is dropped: `acquire` says when a slot frees
up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from db import RateEvent, RateLimit


@dataclass(frozen=True)
class Limit:
    count: int
    per: timedelta

    def __str__(self) -> str:
        return f"{self.count}/{self.per.total_seconds():g}s"


@dataclass(frozen=True)
class Slot:
    ok: bool
    retry_at: datetime | None = None
    reason: str | None = None  # rate_limited | blocked


MINUTE = timedelta(minutes=1)
# DingTalk custom robots: 20 a minute, blocked for 10 minutes past that; WeCom group robots: 20 a minute;
# Feishu custom robots: 100 a minute and 5 a second. Email and gateways: generous, but not unbounded.
DEFAULT_LIMITS: dict[str, tuple[Limit, ...]] = {
    "dingtalk": (Limit(20, MINUTE),), "wecombot": (Limit(20, MINUTE),),
    "feishu": (Limit(100, MINUTE), Limit(5, timedelta(seconds=1))), "email": (Limit(60, MINUTE),),
    "json": (Limit(60, MINUTE),)}
OVER_LIMIT_BLOCK = timedelta(minutes=10)


def _insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - duban runs on SQLite and PostgreSQL
        raise NotImplementedError(f"rate limiter: unsupported database {name}")
    return insert


def _lock_row(session: Session, key: str, now: datetime) -> datetime | None:
    """Upsert the key's row (taking the row lock / write lock) and return its blocked_until."""
    insert = _insert(session)
    statement = (
        insert(RateLimit)
        .values(key=key, updated_at=now)
        .on_conflict_do_update(index_elements=[RateLimit.key], set_={"updated_at": now})
        .returning(RateLimit.blocked_until)
    )
    return session.execute(statement).scalar_one()


class RateLimiter:
    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], datetime]):
        self._sessions = session_factory
        self._clock = clock

    def now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware datetime")
        return now

    def acquire(self, key: str, limits: Sequence[Limit]) -> Slot:
        """Take a send slot for `key` now, or say when one frees up (the slot is then not taken)."""
        if not limits:
            return Slot(True)
        now = self.now()
        horizon = max(limit.per for limit in limits)
        with self._sessions() as session, session.begin():
            blocked_until = _lock_row(session, key, now)
            if blocked_until is not None and blocked_until > now:
                return Slot(False, blocked_until, "blocked")
            times = session.scalars(
                select(RateEvent.at)
                .where(RateEvent.key == key, RateEvent.at > now - horizon)
                .order_by(RateEvent.at.desc())
            ).all()
            retry_at: datetime | None = None
            for limit in limits:
                recent = [t for t in times if t > now - limit.per]
                if len(recent) >= limit.count:
                    frees = recent[limit.count - 1] + limit.per
                    retry_at = frees if retry_at is None else max(retry_at, frees)
            if retry_at is not None:
                return Slot(False, retry_at, "rate_limited")
            session.add(RateEvent(key=key, at=now))
            session.execute(delete(RateEvent).where(RateEvent.key == key, RateEvent.at <= now - horizon))
        return Slot(True)

    def block(self, key: str, until: datetime) -> None:
        """No slot for `key` before `until` (a robot that answered over-limit). Never shortens a block."""
        now = self.now()
        with self._sessions() as session, session.begin():
            _lock_row(session, key, now)
            session.execute(
                update(RateLimit)
                .where(RateLimit.key == key)
                .where((RateLimit.blocked_until.is_(None)) | (RateLimit.blocked_until < until))
                .values(blocked_until=until)
            )

    def next_slot(self, key: str, limits: Sequence[Limit]) -> datetime:
        """When `key` could next take a slot (now, if it could now). Read-only."""
        now = self.now()
        if not limits:
            return now
        horizon = max(limit.per for limit in limits)
        with self._sessions() as session:
            blocked_until = session.scalar(select(RateLimit.blocked_until).where(RateLimit.key == key))
            times = session.scalars(
                select(RateEvent.at)
                .where(RateEvent.key == key, RateEvent.at > now - horizon)
                .order_by(RateEvent.at.desc())
            ).all()
        at = now if blocked_until is None or blocked_until <= now else blocked_until
        for limit in limits:
            recent = [t for t in times if t > now - limit.per]
            if len(recent) >= limit.count:
                at = max(at, recent[limit.count - 1] + limit.per)
        return at


def limits_for(kind: str, overrides: Mapping[str, Sequence[Limit]] | None = None) -> tuple[Limit, ...]:
    if overrides is not None and kind in overrides:
        return tuple(overrides[kind])
    return DEFAULT_LIMITS.get(kind, ())
