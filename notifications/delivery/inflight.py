"""The (notice, channel) ledger: which channel owes, holds or took which notice, and the leases of runs in
flight.

A dispatch claims its notices' owed routes (`claimed`, under its owner and a lease) in the transaction that
moves the notices `queued → sending`; the notifier marks a route `posting` just before the request leaves and
settles it after the answer (the outbox, which has no wire, is claimed straight into `posting`), and the
message's notices take their state from their routes in one statement (`settle_message`). The next check
recovers the rows of a run that died (its lease is past, or its process is gone): `claimed` provably never
left and is owed again; `posting` may have arrived: `unknown` (shown and alerted, re-sent only on the
coordinator's order), except on an idempotent channel (email: the same Message-ID), where it is re-sent under
the same message id (`retry`).

A route is the hash of a notify URL as written (`outbox` for the outbox): a notice is never carried twice by
the same route, whatever message it is grouped into.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import TextClause, bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session

from db import Delivery, Notice, NoticeChannel, core, one_of

LEASE = timedelta(hours=1)
OWED = ("deferred", "retry")
IN_FLIGHT = ("claimed", "posting")
IDEMPOTENT_KINDS = ("email",)  # a re-send carries the same Message-ID: the receiving side sees one message
OUTBOX_ROUTE = "outbox"
POSTED_AT_CLAIM = ("outbox",)  # a local write, no wire: its claim marks it posting (claim_routes_of)
FINAL = ("delivered", "sent", "unknown", "failed")  # a route's answer; any other leaves it owed (deferred)

# A notice's state from the states of its routes, first match wins.
_SUMMARY = (("queued", OWED), ("sending", IN_FLIGHT), ("delivered", ("delivered",)), ("sent", ("sent",)),
            ("unknown", ("unknown",)), ("failed", ("failed",)))


def route_of(url: str) -> str:
    return hashlib.sha256(url.strip().encode()).hexdigest()[:40]


def new_owner(token: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def owner_alive(owner: str | None) -> bool:
    """A run on this host is alive while its process is; one elsewhere is judged by its lease alone."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(rest.partition(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


@dataclass(frozen=True)
class Route:
    route: str
    url: str | None  # None: the outbox
    channel: str  # masked
    kind: str


# The same text on SQLite and PostgreSQL, compiled once (the dialects' upsert constructs carry no cache key):
# each owed route of every notice the message moved to `sending`, in one statement per route.
_CLAIM_ROUTES = text(
    "INSERT INTO notice_channels (notice_id, program_id, route, channel, kind, state, message_id, owner, "
    "lease_until, updated_at) SELECT notices.id, "
    # Typed: PostgreSQL deduces no type for a bare parameter in a select list.
    + ", ".join(f"CAST(:{name} AS VARCHAR)" for name in ("program_id", "route", "channel", "kind", "state"))
    + ", CAST(:message_id AS VARCHAR), CAST(:owner AS VARCHAR), :lease_until, :updated_at "
    "FROM notices WHERE notices.message_id = :message_id AND notices.state = 'sending' "
    "ON CONFLICT (notice_id, route) DO UPDATE SET state = excluded.state, message_id = excluded.message_id, "
    "owner = excluded.owner, lease_until = excluded.lease_until, updated_at = excluded.updated_at, "
    "channel = excluded.channel, reason = NULL "
    f"WHERE notice_channels.state IN ({', '.join(repr(state) for state in OWED)})"
).bindparams(bindparam("lease_until", type_=NoticeChannel.lease_until.type),
             bindparam("updated_at", type_=NoticeChannel.updated_at.type))


def claim_routes_of(
    session: Session,
    program_id: str,
    messages: Sequence[tuple[str, tuple[Route, ...]]],
    owner: str,
    lease_until: datetime,
    now: datetime,
) -> int:
    """Take the routes still owed by the notices each message holds (`sending`), for all the messages in one
    statement (an executemany); returns how many (notice, route) rows it took (the row count: an upsert
    counts the rows it inserted or updated).

    The caller holds the notices (it moved them to `sending`); the condition on the state still guards a route
    that another run settled in between. A route of a local kind (the outbox) is taken straight into
    `posting`: nothing is on a wire between its claim and its answer, and a run that dies in between has it
    shown as `unknown`, never written twice."""
    claims = [{
        "program_id": program_id, "route": r.route, "channel": r.channel, "kind": r.kind,
        "state": "posting" if r.kind in POSTED_AT_CLAIM else "claimed", "message_id": message_id,
        "owner": owner, "lease_until": lease_until, "updated_at": now}
        for message_id, routes in messages for r in routes]
    return core(session, _CLAIM_ROUTES, claims).rowcount if claims else 0


# The route updates of every message, built once on the table (Core): only their parameters change.
_ROUTES = NoticeChannel.__table__
_OF_RUN = (_ROUTES.c.message_id == bindparam("message"), _ROUTES.c.owner == bindparam("run"),
           one_of(_ROUTES.c.state, IN_FLIGHT))
_OF_ROUTE = (_ROUTES.c.message_id == bindparam("message"), _ROUTES.c.route == bindparam("on"))
_MOVE = {"state": bindparam("to"), "updated_at": bindparam("now")}
_RELEASE = update(_ROUTES).where(*_OF_RUN).values(**_MOVE, reason="released before sending")
_SETTLE_RUN = update(_ROUTES).where(*_OF_RUN).values(**_MOVE)
_MARK_POSTING = update(_ROUTES).where(*_OF_ROUTE, one_of(_ROUTES.c.state, IN_FLIGHT)).values(**_MOVE)
_ROUTED = select(_ROUTES.c.id).where(_ROUTES.c.notice_id.in_(bindparam("ids", expanding=True)),
                                     _ROUTES.c.route == bindparam("on")).limit(1)
_SETTLE_ROUTES = (update(_ROUTES)
                  .where(_ROUTES.c.message_id.in_(bindparam("messages", expanding=True)),
                         _ROUTES.c.route == bindparam("on"), one_of(_ROUTES.c.state, IN_FLIGHT))
                  .values(**_MOVE, reason=bindparam("why")))


def release(session: Session, message_id: str, owner: str, now: datetime) -> None:
    """Give back the routes this run took in the claim transaction it is still in (nothing was sent): owed
    again."""
    core(session, _RELEASE, {"message": message_id, "run": owner, "to": "deferred", "now": now})


_HELD = (select(_ROUTES.c.message_id, func.count())
         .where(_ROUTES.c.message_id.in_(bindparam("messages", expanding=True)),
                _ROUTES.c.owner == bindparam("run"), one_of(_ROUTES.c.state, IN_FLIGHT))
         .group_by(_ROUTES.c.message_id))


def held(session: Session, message_ids: Sequence[str], owner: str) -> dict[str, int]:
    """How many (notice, route) rows this run holds in flight under each message."""
    return dict(core(session, _HELD, {"messages": list(message_ids), "run": owner}).all())


def settle_unanswered(session: Session, message_id: str, owner: str, state: str, now: datetime) -> None:
    """A notifier that keeps no ledger (the bare outbox) leaves its routes in flight: they take its answer.
    The apprise notifier has settled each of its routes before it returns, so none of its are left here."""
    core(session, _SETTLE_RUN, {"message": message_id, "run": owner, "to": _final(state), "now": now})


def _final(state: str) -> str:
    return state if state in FINAL else "deferred"


def mark_posting(session: Session, message_id: str, route: str, notice_ids: Sequence[int],
                 now: datetime) -> bool:
    """The route of each of the message's notices, in flight under it (claimed, or posting: a retry), is
    marked posting. False when some are no longer the message's (a later check recovered them after their
    lease while the dispatch's earlier messages were being sent, and may have claimed them again): the caller
    must not send on the route. A message whose notices have no row on the route at all (a notifier used on
    its own) may go."""
    marked = core(session, _MARK_POSTING, {"message": message_id, "on": route, "to": "posting",
                                           "now": now}).rowcount
    if marked == len(notice_ids):
        return True
    return not marked and core(session, _ROUTED, {"ids": list(notice_ids), "on": route}).first() is None


def settle(session: Session, message_id: str, route: str, state: str, now: datetime,
           reason: str | None = None) -> None:
    """The channel's answer for every notice of the message on this route (in the notifier's transaction)."""
    settle_routes(session, [message_id], route, state, now, reason)


def settle_routes(session: Session, message_ids: Sequence[str], route: str, state: str, now: datetime,
                  reason: str | None = None) -> None:
    """The same answer on this route for several messages (the outbox's of one dispatch), in one statement."""
    core(session, _SETTLE_ROUTES, {"messages": list(message_ids), "on": route, "to": _final(state),
                                   "now": now, "why": reason})


def _settling(routes_of: str, notices_where: str, returning: str = "notices.state") -> TextClause:
    """Each notice's state from all of its routes, in SQL (first match in _SUMMARY wins: the least rank); a
    notice that ends delivered, sent, unknown or failed takes the time and the notifier's channel. `routes_of`
    selects the notices whose routes are read, `notices_where` guards the rows updated."""
    rank = " ".join(f"WHEN '{one}' THEN {i}" for i, (_, members) in enumerate(_SUMMARY) for one in members)
    state = " ".join(f"WHEN {i} THEN '{summary}'" for i, (summary, _) in enumerate(_SUMMARY))
    final = ", ".join(str(i) for i, (summary, _) in enumerate(_SUMMARY) if summary in FINAL)
    return text(
        f"UPDATE notices SET state = CASE s.rank {state} ELSE 'queued' END, "
        f"sent_at = CASE WHEN s.rank IN ({final}) THEN :at ELSE notices.sent_at END, "
        f"channel = CASE WHEN s.rank IN ({final}) THEN COALESCE(CAST(:channel AS VARCHAR), notices.channel) "
        "ELSE notices.channel END "
        f"FROM (SELECT notice_channels.notice_id AS notice_id, MIN(CASE notice_channels.state {rank} END) "
        f"AS rank FROM notice_channels WHERE notice_channels.notice_id IN {routes_of} "
        "GROUP BY notice_channels.notice_id) AS s "
        f"WHERE notices.id = s.notice_id AND notices.state != 'superseded' {notices_where} "
        f"RETURNING {returning}"
    ).bindparams(bindparam("at", type_=Notice.sent_at.type))


# The messages' notices by their routes' index (a route claimed under a message names each of its notices).
_SETTLE_MESSAGES = _settling(
    "(SELECT taken.notice_id FROM notice_channels AS taken WHERE taken.message_id IN :messages)",
    "AND notices.message_id IN :messages AND notices.state = 'sending'",
    "notices.message_id, notices.state").bindparams(bindparam("messages", expanding=True))
_SETTLE_NOTICES = _settling(":ids", "").bindparams(bindparam("ids", expanding=True))


def settle_message(session: Session, message_id: str, at: datetime, channel: str | None) -> dict[str, int]:
    """The notices the message holds (`sending`) take their state from their routes, in one statement; returns
    how many took each state. `channel` (masked) is the one the notifier names for the message."""
    return settle_messages(session, [message_id], at, channel)[message_id]


def settle_messages(session: Session, message_ids: Sequence[str], at: datetime,
                    channel: str | None) -> dict[str, Counter]:
    """settle_message for several messages at once (the outbox's of one dispatch), in one statement."""
    states: dict[str, Counter] = {message_id: Counter() for message_id in message_ids}
    for message_id, state in core(session, _SETTLE_MESSAGES, {"messages": list(message_ids), "at": at,
                                                              "channel": channel}):
        states[message_id][state] += 1
    return states


def settle_notices(session: Session, notice_ids: list[int], at: datetime) -> dict[str, int]:
    """Each notice's state from its routes: owed somewhere → queued; else delivered, sent, unknown or
    failed (a recovery, a re-send order, a claim given back)."""
    states: Counter = Counter()
    for start in range(0, len(notice_ids), 5000):
        states.update(core(session, _SETTLE_NOTICES, {"ids": notice_ids[start:start + 5000], "at": at,
                                                   "channel": None}).scalars().all())
    return states


@dataclass
class Recovered:
    deferred: int = 0  # provably never left: owed again
    retry: int = 0  # idempotent channel: re-sent under the same message id
    unknown: list[tuple[str, int | None, str, int]] = field(
        default_factory=list
    )  # (message, unit id, channel, n)


# Every dispatch starts by looking for what a dead run left in flight (nearly always nothing): the two reads
# are built once, on the tables (Core).
_NOTICES = Notice.__table__
_IN_FLIGHT = select(_ROUTES.c.id, _ROUTES.c.notice_id, _ROUTES.c.state, _ROUTES.c.kind, _ROUTES.c.owner,
                    _ROUTES.c.lease_until, _ROUTES.c.message_id, _ROUTES.c.route, _ROUTES.c.channel).where(
    _ROUTES.c.program_id == bindparam("program"), one_of(_ROUTES.c.state, IN_FLIGHT))
_UNROUTED = select(_NOTICES.c.id, _NOTICES.c.message_id, _NOTICES.c.unit_id).where(
    _NOTICES.c.program_id == bindparam("program"), _NOTICES.c.state == "sending",
    ~select(_ROUTES.c.id).where(_ROUTES.c.notice_id == _NOTICES.c.id).exists())


# Notices `sending` with no route in flight: every channel answered, and the run died before the message's
# notices took their state from the answers (a live run is about to settle them itself).
_FLYING = _ROUTES.alias("flying")
_ANSWERED = select(
    _NOTICES.c.id, _NOTICES.c.message_id, _NOTICES.c.unit_id, _ROUTES.c.state, _ROUTES.c.channel,
    _ROUTES.c.owner, _ROUTES.c.lease_until,
).join(_ROUTES, _ROUTES.c.notice_id == _NOTICES.c.id).where(
    _NOTICES.c.program_id == bindparam("program"), _NOTICES.c.state == "sending",
    ~exists().where(_FLYING.c.notice_id == _NOTICES.c.id, one_of(_FLYING.c.state, IN_FLIGHT)))


class _Runs:
    """Whether the run that holds a row died: its process is gone or its lease has passed."""

    def __init__(self, at: datetime) -> None:
        self.at, self.alive = at, {}

    def dead(self, row) -> bool:
        if row.owner not in self.alive:
            self.alive[row.owner] = owner_alive(row.owner)
        return not self.alive[row.owner] or (row.lease_until is not None and row.lease_until < self.at)


def recover(session: Session, program_id: str, at: datetime) -> Recovered:
    """Rows left in flight by a run that died (lease past, or its process gone) are settled for the next
    send."""
    result, runs = Recovered(), _Runs(at)
    _recover_unrouted(session, program_id, at, result)
    _recover_answered(session, program_id, runs, at, result)
    dead = [row for row in session.execute(_IN_FLIGHT, {"program": program_id}) if runs.dead(row)]
    if not dead:
        return result
    unknown: dict[tuple[str, str], list] = defaultdict(list)
    for row in dead:
        if row.state == "claimed":
            state, reason = "deferred", "the run died before sending: sent again"
            result.deferred += 1
        elif row.kind in IDEMPOTENT_KINDS:
            state, reason = "retry", "the run died while sending: sent again with the same Message-ID"
            result.retry += 1
        else:
            state, reason = "unknown", "the run died while sending: it may have arrived"
            unknown[(row.message_id, row.route)].append(row)
        session.execute(
            update(NoticeChannel)
            .where(NoticeChannel.id == row.id, NoticeChannel.state == row.state)
            .values(state=state, reason=reason, updated_at=at)
        )
    pairs = {(row.message_id, row.route) for row in dead}
    for message_id, route in pairs:
        doubtful = (message_id, route) in unknown
        session.execute(update(Delivery).where(
            Delivery.message_id == message_id, Delivery.route == route, Delivery.state == "queued"
        ).values(state="unknown" if doubtful else "superseded", last_at=at,
                 code="crashed" if doubtful else None,
                 reason="the run died while sending: it may have arrived" if doubtful
                 else "the run died before sending: sent again in a later message"))
    units = (
        dict(
            session.execute(
                select(Notice.message_id, Notice.unit_id).where(
                    Notice.message_id.in_({m for m, _ in unknown})
                )
            ).all()
        )
        if unknown
        else {}
    )
    for (message_id, _route), members in unknown.items():
        result.unknown.append((message_id, units.get(message_id), members[0].channel, len(members)))
    settle_notices(session, sorted({row.notice_id for row in dead}), at)
    return result


def _recover_answered(session: Session, program_id: str, runs: _Runs, at: datetime,
                      result: Recovered) -> None:
    """Notices whose every route answered before their run died take their state from the answers; a route
    answered `unknown` is shown and alerted as the run would have."""
    rows = [row for row in session.execute(_ANSWERED, {"program": program_id}) if runs.dead(row)]
    if not rows:
        return
    unknown: dict[tuple[str, str], set[int]] = defaultdict(set)
    units: dict[str, int] = {}
    for row in rows:
        units[row.message_id] = row.unit_id
        if row.state == "unknown":
            unknown[(row.message_id, row.channel)].add(row.id)
    result.unknown += [(message_id, units[message_id], channel, len(ids))
                       for (message_id, channel), ids in unknown.items()]
    settle_notices(session, sorted({row.id for row in rows}), at)


def _recover_unrouted(session: Session, program_id: str, at: datetime, result: Recovered) -> None:
    """Notices left `sending` before this ledger existed (a dispatch now claims routes in the transaction that
    moves notices to `sending`, so a `sending` notice without any route was left by an older version): they
    may have arrived, so they are `unknown`, shown and alerted like any other."""
    stuck = session.execute(_UNROUTED, {"program": program_id}).all()
    if not stuck:
        return
    messages: dict[str, list] = defaultdict(list)
    for row in stuck:
        messages[row.message_id].append(row)
    for message_id, members in messages.items():
        session.execute(
            update(Notice)
            .where(Notice.id.in_([m.id for m in members]), Notice.state == "sending")
            .values(state="unknown", sent_at=at)
        )
        session.execute(update(Delivery).where(Delivery.message_id == message_id, Delivery.state == "queued")
                        .values(state="unknown", last_at=at, code="crashed",
                                reason="the run died while sending: it may have arrived"))
        result.unknown.append((message_id, members[0].unit_id, "—", len(members)))


def _doubtful(program_id: str, unit_id: int | None, message_id: str | None):
    """(routes in doubt, notices in doubt with no route at all: left by an older version) for a re-send."""
    routes = select(NoticeChannel.id, NoticeChannel.notice_id, NoticeChannel.message_id, NoticeChannel.route,
                    NoticeChannel.state).join(Notice, Notice.id == NoticeChannel.notice_id).where(
        NoticeChannel.program_id == program_id, NoticeChannel.state.in_(("failed", "unknown")))
    unrouted = select(Notice.id, Notice.message_id, Notice.state).where(
        Notice.program_id == program_id, Notice.state.in_(("failed", "unknown")),
        ~select(NoticeChannel.id).where(NoticeChannel.notice_id == Notice.id).exists())
    if unit_id is not None:
        routes, unrouted = routes.where(Notice.unit_id == unit_id), unrouted.where(Notice.unit_id == unit_id)
    if message_id is not None:
        routes = routes.where(NoticeChannel.message_id == message_id)
        unrouted = unrouted.where(Notice.message_id == message_id)
    return routes, unrouted


def doubtful_counts(session: Session, program_id: str, *, unit_id: int | None = None,
                    message_id: str | None = None) -> dict[str, int]:
    """{"failed": n, "unknown": n}: what `owed_again` would make owed again."""
    routes, unrouted = _doubtful(program_id, unit_id, message_id)
    counts: dict[str, int] = defaultdict(int)
    for row in session.execute(routes):
        counts[row.state] += 1
    for row in session.execute(unrouted):
        counts[row.state] += 1
    return dict(counts)


def owed_again(
    session: Session,
    program_id: str,
    *,
    unit_id: int | None = None,
    message_id: str | None = None,
    at: datetime,
) -> tuple[int, list[str]]:
    """The coordinator's re-send: failed and unknown routes are owed again; returns (rows, message ids)."""
    routes, unrouted = _doubtful(program_id, unit_id, message_id)
    rows = session.execute(routes).all()
    legacy = session.execute(unrouted).all()
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 5000):
        session.execute(update(NoticeChannel).where(NoticeChannel.id.in_(ids[start:start + 5000]))
                        .values(state="deferred", reason="re-sent on the coordinator's order", updated_at=at))
    for message, route in {(row.message_id, row.route) for row in rows}:
        session.execute(update(Delivery).where(
            Delivery.message_id == message, Delivery.route == route, Delivery.state.in_(("failed", "unknown"))
        ).values(state="retried", last_at=at))
    for message in {row.message_id for row in legacy}:
        session.execute(update(Delivery).where(Delivery.message_id == message,
                                               Delivery.state.in_(("failed", "unknown")))
                        .values(state="retried", last_at=at))
    settle_notices(session, sorted({row.notice_id for row in rows}), at)
    legacy_ids = [row.id for row in legacy]
    for start in range(0, len(legacy_ids), 5000):  # no route on record: every channel owes them
        session.execute(update(Notice).where(Notice.id.in_(legacy_ids[start:start + 5000]))
                        .values(state="queued", sent_at=None))
    return len(ids) + len(legacy_ids), sorted({row.message_id for row in [*rows, *legacy] if row.message_id})
