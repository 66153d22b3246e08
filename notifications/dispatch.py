"""Sending the queued notices: one digest message per recipient and set of channels still owing its notices.

queued → sending is a compare-and-set committed before the message leaves, together with the claim of each
(notice, channel) route still owed (notifications/inflight.py), so two checks never hand the same notice to a
channel and a channel that took a notice never gets it again. A dispatch claims all its messages in one
transaction (their numbers, links and lines read or written once for all), then hands them to the notifier.
What a dead run left in flight is recovered first: owed again where the send provably did not start or the
channel is idempotent, else `unknown`, shown and alerted.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import JSON, Row, Text, and_, bindparam, cast, exists, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from db import (
    TOP_NUMBER,
    Candidate,
    Delivery,
    Foreseen,
    Notice,
    NoticeChannel,
    ProgramContext,
    Task,
    TaskInstance,
    Unit,
    claim,
    collectives_of,
    core,
    foresee_numbers,
    issue_links,
    lights,
    link_url,
    load_program,
    new_tokens,
    notice_key,
    one_of,
    take_numbers,
    task_rows,
)
from notifications.delivery import inflight
from notifications.delivery.crashpoints import crash_point
from notifications.message import Attachment, DeliveryResult, Message, Notifier, Recipient
from notifications.render.bulletin import LISTED_IN_MESSAGES, render_bulletin
from notifications.render.digest import MAX_ITEMS_PER_SECTION, SECTION_KINDS, DigestItem, render_digest
from notifications.render.letterhead import letterhead
from notifications.render.lines import COUNTED_KINDS, RECEIVED_BEFORE, lead_names, period_label
from notifications.workbooks.selfcheck import selfcheck_form_attachment
from notifications.workbooks.tasks import unit_task_workbook
from schedule import clean_text, text

# Rules whose newer notice replaces an older one still queued (same rule, instance and recipient).
SUPERSEDABLE = ("before_due", "overdue", "escalation", "report_missing", "remediation_before_due",
                "remediation_overdue", "remediation_escalation", "selfcheck_missing", "bulletin",
                "ack_missing")
CARRIES_FILES = ("email",)  # the channels that carry attachments and HTML; robots and the outbox never do

# The statements of each message, built once on the tables (Core): only their parameters change per message.
_NOTICES, _INSTANCES, _TASKS, _ROUTES = (Notice.__table__, TaskInstance.__table__, Task.__table__,
                                         NoticeChannel.__table__)
# Every notice of every message of a dispatch taken in one executemany, a listed line's chase count as sent
# (第N次) written on its notice by the same compare-and-set (`counted`: its data with the count, or None: the
# data stays); read back by the messages' ids only when some were not taken (an overlapping run took them
# first): else each message holds what it asked for. The claim's first write: on SQLite its parameters, JSON
# each, are made before the write lock is taken.
_TAKE = (update(_NOTICES).where(_NOTICES.c.id == bindparam("notice"), _NOTICES.c.state == "queued")
         .values(state="sending", message_id=bindparam("message"),
                 data=func.coalesce(bindparam("counted", type_=JSON(none_as_null=True)), _NOTICES.c.data)))
_TAKEN = (select(_NOTICES.c.message_id, _NOTICES.c.id, _NOTICES.c.kind, _NOTICES.c.instance_id,
                 _NOTICES.c.task_code, _NOTICES.c.subject_unit_id)
          .where(_NOTICES.c.message_id.in_(bindparam("messages", expanding=True)),
                 _NOTICES.c.state == "sending"))
_LINES = (select(_NOTICES.c.id, _NOTICES.c.data, RECEIVED_BEFORE.label("received"),
                 _INSTANCES.c.id.label("instance"), _INSTANCES.c.due, _INSTANCES.c.status,
                 _INSTANCES.c.progress, _INSTANCES.c.window_start, _INSTANCES.c.last_report_at,
                 _TASKS.c.id.label("task_id"), _TASKS.c.title, _TASKS.c.code, _TASKS.c.recurrence)
          .select_from(_NOTICES.outerjoin(_INSTANCES, _INSTANCES.c.id == _NOTICES.c.instance_id)
                       .outerjoin(_TASKS, _TASKS.c.id == _INSTANCES.c.task_id)))
# The listed notices of all a dispatch's messages, in one statement.
_LISTED = _LINES.where(_NOTICES.c.id.in_(bindparam("ids", expanding=True)))
# Core rows, not ORM ones: a dispatch after downtime reads every queued notice of the program.
_QUEUED_WHERE = (_NOTICES.c.program_id == bindparam("program"), _NOTICES.c.state == "queued")
# Each queued notice (the columns a digest needs: _Queued) with the routes already on record for it (none: a
# row of NULLs), in one statement.
_QUEUED_ROWS = (select(_NOTICES.c.id, _NOTICES.c.kind, _NOTICES.c.instance_id, _NOTICES.c.task_code,
                       _NOTICES.c.subject_unit_id, _NOTICES.c.unit_id, _NOTICES.c.audience, _ROUTES.c.route,
                       _ROUTES.c.state, _ROUTES.c.message_id)
                .select_from(_NOTICES.outerjoin(_ROUTES, _ROUTES.c.notice_id == _NOTICES.c.id))
                .where(*_QUEUED_WHERE))
_QUEUED = _QUEUED_ROWS.order_by(_NOTICES.c.id)
_UNITS = Unit.__table__
# Every unit by name, with its notify lists as JSON text: decoded (_recipients) only for the units owed a
# notice, those of the queued notices read just before (on PostgreSQL each statement sees the latest commits,
# so asking the notices again could miss a unit whose notices an overlapping dispatch took between).
_RECIPIENTS = (select(_UNITS.c.id, _UNITS.c.code, _UNITS.c.name, cast(_UNITS.c.notify, Text),
                      cast(_UNITS.c.leader_notify, Text))
               .where(_UNITS.c.program_id == bindparam("program")))
# The chase counts of a message written again after the take (_claimed_messages), on its own notices.
_COUNTED = (update(_NOTICES).where(_NOTICES.c.id == bindparam("notice_id"))
            .values(data=bindparam("counted", type_=_NOTICES.c.data.type)))


@dataclass
class DispatchResult:
    messages: int = 0
    notices: int = 0
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    alerts: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (unit name, channel key, masked channel)
    unknown: list[tuple[str, int | None, str, int]] = field(
        default_factory=list
    )  # sends that may have arrived
    recovered: inflight.Recovered = field(default_factory=inflight.Recovered)
    superseded: int = 0
    render_failures: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (unit name, message id, reason)

    @property
    def all_failed(self) -> bool:
        """Messages went out and not one reached anybody: the command must say so."""
        return self.messages > 0 and set(self.states) <= {"failed"}


def new_message_id(program_id: str, at: datetime) -> str:
    # Unique per attempt: the compare-and-set below tells this dispatch's rows from an overlapping one's.
    return f"{program_id}-{at:%Y%m%d}-{uuid.uuid4().hex[:12]}"


def dispatch(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime,
             today: date, portal_url: str | None = None, ctx: ProgramContext | None = None) -> DispatchResult:
    """Recovers what a dead run left in flight, supersedes stale notices, sends what is owed; a channel found
    broken or failing, a send of unknown outcome and a digest that could not be written are reported to the
    coordinator once, in the same dispatch. Every message carries its unit's new personal link under
    `portal_url` (else the program's portal.url). `ctx`: the program as the caller's check loaded it (else it
    is loaded here)."""
    tidied: list[_Tidied] = []

    def tidy(session: Session) -> _Tidied:  # in the transaction that reads what is owed; again only when
        tidied.append(_tidy(session, program_id, at, today.year))  # the first batch's digest failed
        return tidied[-1]

    result = _dispatch_queued(sessions, program_id, notifier, at, today, portal_url, tidy, ctx)
    result.recovered, result.superseded = tidied[0].recovered, tidied[0].superseded
    unknown = result.recovered.unknown + result.unknown
    alerted = 0
    if result.alerts or unknown:
        alerted += _alert_coordinator(sessions, program_id, result.alerts, unknown, at)
    if result.render_failures:
        alerted += _alert_render_failures(sessions, program_id, result.render_failures, at)
    if alerted:
        again = _dispatch_queued(sessions, program_id, notifier, at, today, portal_url, ctx=ctx)
        result.messages += again.messages
        result.notices += again.notices
        for state, count in again.states.items():
            result.states[state] += count
        result.render_failures += again.render_failures
    return result


def _alert_render_failures(sessions: sessionmaker[Session], program_id: str,
                           failures: list[tuple[str, str, str]], at: datetime) -> int:
    """The coordinator hears of every digest that could not be written, once per message."""
    def alert(language: str, unit: str, message_id: str, reason: str) -> tuple[str, dict]:
        title = text(language, "alert.render_failed", unit=unit, message=message_id)
        data = {"title": title, "note": reason, "unit": unit}
        return notice_key("render_failed", program_id, message_id), data

    return _alert(sessions, program_id, at, lambda language: [alert(language, *f) for f in failures])


def _alert(sessions: sessionmaker[Session], program_id: str, at: datetime, alerts) -> int:
    """Claims delivery_alert notices to the coordinator: `alerts(language)` gives their (key, data)."""
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        if ctx.program.coordinator_unit_id is None:
            return 0
        candidates = [Candidate(key, "delivery_alert", ctx.program.coordinator_unit_id, data=data)
                      for key, data in alerts(ctx.language)]
        return claim(session, ctx, candidates, at).total()


def _record_render_failure(sessions: sessionmaker[Session], program_id: str, unit: _Unit, audience: str,
                           notice_ids: list[int], message_id: str, at: datetime, error: Exception) -> str:
    """The notices of a digest that could not be written are failed against their message, in the ledger too;
    nothing is sent for them, and the other digests go on."""
    reason = f"{type(error).__name__}: {clean_text(str(error), one_line=True)}"[:500]
    with sessions.begin() as session:
        taken = session.execute(
            update(Notice).where(Notice.id.in_(notice_ids), Notice.state == "queued")
            .values(state="failed", message_id=message_id, sent_at=None)
        ).rowcount
        if not taken:
            return reason
        codes = session.scalars(select(Notice.task_code).where(Notice.message_id == message_id)).all()
        kinds = session.scalars(select(Notice.kind).where(Notice.message_id == message_id)).all()
        session.add(
            Delivery(
                message_id=message_id, program_id=program_id, unit_code=unit.code, audience=audience,
                channel="render", channel_key="render", kind="render", state="failed", attempts=0,
                code="render_error", reason=reason, kinds=list(dict.fromkeys(kinds)),
                task_codes=[c for c in dict.fromkeys(codes) if c], notice_ids=list(notice_ids),
                message_at=at, first_at=at, last_at=at)
        )
    return reason


def _alert_coordinator(sessions: sessionmaker[Session], program_id: str, alerts: list[tuple[str, str, str]],
                       unknown: list[tuple[str, int | None, str, int]], at: datetime) -> int:
    """One delivery_alert per broken channel, keyed by the channel's identity (a hash of its expanded URL,
    never its mask: two tokens can mask alike), and one per message of unknown outcome on a channel."""
    with sessions.begin() as session:
        names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.program_id == program_id)).all())

    def broken(language: str, unit: str, key: str, channel: str) -> tuple[str, dict]:
        return notice_key("delivery_alert", program_id, key), {
            "title": text(language, "alert.channel_broken", unit=unit, channel=channel),
            "note": text(language, "alert.channel_fallback"), "channel": channel, "unit": unit}

    def lost(
        language: str, message_id: str, unit_id: int | None, channel: str, count: int
    ) -> tuple[str, dict]:
        unit = names.get(unit_id, "")
        retry = f"duban deliveries retry {program_id} --message {message_id}"
        return notice_key("delivery_unknown", program_id, message_id, channel), {
            "title": text(language, "alert.unknown_title", unit=unit, count=count, channel=channel),
            "note": text(language, "alert.unknown_note", retry=retry), "channel": channel, "unit": unit,
            "message": message_id}

    return _alert(sessions, program_id, at, lambda language: [
        *(broken(language, *a) for a in dict.fromkeys(alerts)), *(lost(language, *u) for u in unknown)])


@dataclass
class _Program:
    """What every digest of one dispatch shares, read once: the program, its units, and (only when a channel
    carries files) the task list and the collectives."""

    ctx: ProgramContext
    units: dict[int, _Unit]
    today: date
    rows: list[dict] | None = None
    collectives: dict[str, set[str]] | None = None
    lead_cache: dict[int, str | None] = field(default_factory=dict)  # task → its lead units' names
    unit_names: dict[int, str] = field(init=False)
    light_of: Callable[..., str] = field(init=False)  # one light per distinct instance state, per dispatch

    def __post_init__(self) -> None:
        self.unit_names = {u.id: u.name for u in self.units.values()}
        self.light_of = lights(self.ctx, self.today)

    @property
    def names(self) -> dict[str, str]:
        return {u.code: u.name for u in self.units.values()}

    def task_rows(self, session: Session) -> list[dict]:
        if self.rows is None:
            self.rows = task_rows(session, self.ctx, self.today)
        return self.rows

    def leads(self, session: Session, task_ids: set[int]) -> dict[int, str | None]:
        """Read once per dispatch: the same tasks come back in many units' digests."""
        missing = task_ids - self.lead_cache.keys()
        if missing:
            separator = text(self.ctx.language, "digest_text.kinds_separator")
            self.lead_cache.update({**dict.fromkeys(missing), **lead_names(session, missing, separator)})
        return self.lead_cache

    def answering(self, session: Session, unit: _Unit) -> set[str]:
        """The unit and the collectives it answers for."""
        if self.collectives is None:
            self.collectives = collectives_of(session, self.ctx.id)
        return {unit.code} | self.collectives.get(unit.code, set())


class _Unit(NamedTuple):
    id: int
    code: str
    name: str
    notify: list[str] | None  # None for a unit owed nothing in this dispatch
    leader_notify: list[str] | None


class _Queued(NamedTuple):
    """A notice taken for one message: the columns a digest needs (its data is read for listed items only)."""

    id: int
    kind: str
    instance_id: int | None
    task_code: str | None
    subject_unit_id: int | None


def _dispatch_queued(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime,
                     today: date, portal_url: str | None, tidy: Callable[[Session], _Tidied] | None = None,
                     ctx: ProgramContext | None = None) -> DispatchResult:
    result = DispatchResult()
    owner = inflight.new_owner(uuid.uuid4().hex[:12])
    owed: _Owed | None = None  # read with the first batch's claim
    while owed is None or owed.groups:
        try:
            owed, messages = _claim(sessions, program_id, notifier, at, today, portal_url, tidy, ctx, owner,
                                    owed)
        except _Unwritten as failed:  # one unit's digest must never stop the others: they are claimed again
            if owed is not None:
                owed.groups.remove((failed.group, failed.notice_ids))
            unit, audience = failed.unit, failed.group[1]
            reason = _record_render_failure(sessions, program_id, unit, audience, failed.notice_ids,
                                            failed.message_id, at, failed.error)
            result.messages += 1
            result.notices += len(failed.notice_ids)
            result.states["failed"] += len(failed.notice_ids)
            result.render_failures.append((unit.name, failed.message_id, reason))
            continue
        if messages:  # each message's notices settled as soon as it is answered for, before the next leaves
            outcomes = notifier.send_many([message for _unit_id, message in messages])
            for (unit_id, message), outcome in zip(messages, outcomes, strict=True):
                crash_point("after_answer")
                _settled(sessions, message, outcome, unit_id, owner, at, result)
    return result


# A dispatch claims, writes and sends its messages a batch at a time, each batch's digests held in memory
# together: a large program's first dispatch (thousands of messages) never holds them all at once.
BATCH_NOTICES = 5000


@dataclass
class _Owed:
    """What a dispatch found owed (read in its first batch's transaction): the groups not claimed yet."""

    program: _Program | None
    groups: list[tuple[tuple, list[int]]]
    notices: dict[int, _Queued] = field(default_factory=dict)  # each owed notice's columns, as read
    wrote: bool = False  # the read recovered, superseded or settled notices (committed at once)
    top: int | None = None  # TOP_NUMBER as read with what is owed, for the first batch's numbers only

    def batch(self) -> int:
        """How many of the groups the next batch takes: at least one, up to BATCH_NOTICES notices."""
        size = notices = 0
        for _group, notice_ids in self.groups:
            if size and notices + len(notice_ids) > BATCH_NOTICES:
                break
            size, notices = size + 1, notices + len(notice_ids)
        return size


class _Unwritten(Exception):
    """A digest that could not be written (nothing of its batch claimed)."""

    def __init__(self, unit: _Unit, group: tuple, notice_ids: list[int], message_id: str, error: Exception):
        super().__init__(str(error))
        self.unit, self.group, self.notice_ids, self.message_id, self.error = (unit, group, notice_ids,
                                                                               message_id, error)


class _Claimed(NamedTuple):
    """A message of the batch: the notices it asks for, then (after _take) those this dispatch took."""

    group: tuple  # (unit id, audience, routes, message id resumed)
    notice_ids: list[int]
    message_id: str
    taken: list[_Queued]


class _Draft(NamedTuple):
    """A message written before its claim, for the notices, number and link it was written with."""

    taken: list[_Queued]
    number: int
    token: str
    message: Message
    counted: dict[int, dict]  # its listed lines' data with their chase counts as sent, written by _TAKE


def _claim(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime, today: date,
           portal_url: str | None, tidy: Callable[[Session], _Tidied] | None, ctx: ProgramContext | None,
           owner: str, owed: _Owed | None) -> tuple[_Owed, list[tuple[int, Message]]]:
    """The next batch of the dispatch's owed messages, written first and then claimed at the end of one
    transaction, committed before any of them leaves (the first batch reads what is owed first:
    _owed_groups; what its recovery and superseding wrote is committed at once). Each digest is written
    from reads alone (_drafts: its 督办单号 foreseen, its link's token drawn, its lines read); then the
    claim writes, one statement each for all: each message's notices taken (with their lines' chase
    counts) and routes claimed (its compare-and-sets), the numbers and the links. On SQLite the write lock
    is held for those statements only, never while digests are written. A message whose claim
    differs from its draft (an overlapping check took one of its notices or the number foreseen) is written
    again in the transaction. A digest that cannot be written raises _Unwritten before anything of the batch
    is claimed: it is claimed again without it (the first batch: the dispatch starts again)."""
    with sessions() as session:
        if owed is None:
            owed = _owed_groups(session, program_id, notifier, at, today, tidy, ctx)
            if owed.wrote:
                session.commit()
            if not owed.groups:
                return owed, []
        program, size = owed.program, owed.batch()
        pending = []
        for group, notice_ids in owed.groups[:size]:
            crash_point("before_claim")
            message_id = group[3] or new_message_id(program.ctx.id, at)
            taken = sorted(owed.notices[notice_id] for notice_id in notice_ids)  # as asked
            pending.append(_Claimed(group, notice_ids, message_id, taken))
        foreseen, drafts = _drafts(session, program, pending, owed.top, at, portal_url)
        owed.top = None  # a later batch reads it again: this one takes numbers
        counted = {notice: data for draft in drafts.values() for notice, data in draft.counted.items()}
        claimed = _take(session, pending, owed.notices, counted, program.ctx.id, owner, at)
        messages = _claimed_messages(session, program, claimed, drafts, foreseen, at, portal_url)
        session.expunge_all()  # the program read here stays readable after the commit
        session.commit()
    owed.groups = owed.groups[size:]
    return owed, messages


def _drafts(session: Session, program: _Program, pending: list[_Claimed], top: int | None, at: datetime,
            portal_url: str | None) -> tuple[Foreseen, dict[str, _Draft]]:
    """Each message of the batch written for the notices it asks for, by reads alone: the numbers the claim
    will take unless an overlapping check takes them first (db.foresee_numbers), new link tokens, the listed
    lines and their chase counts (one read for all the messages)."""
    ctx = program.ctx
    foreseen = foresee_numbers(session, ctx.id, program.today.year, [c.message_id for c in pending],
                               {c.message_id for c in pending if c.group[3]}, top)
    numbers, tokens, lines = foreseen.numbers, new_tokens(len(pending)), _lines(session, program, pending)
    drafts = {c.message_id: _Draft(c.taken, numbers[c.message_id], token,
                                   _written(session, program, c, at, portal_url, token, numbers[c.message_id],
                                            lines), lines.counted(c.taken))
              for c, token in zip(pending, tokens, strict=True)}
    return foreseen, drafts


def _claimed_messages(session: Session, program: _Program, claimed: list[_Claimed], drafts: dict[str, _Draft],
                      foreseen: Foreseen, at: datetime, portal_url: str | None) -> list[tuple[int, Message]]:
    """The claim's writes after the take, one statement each for all the messages: their numbers and links;
    a message whose notices or number differ from its draft's is written again here, with its chase counts."""
    if not claimed:
        return []
    ctx, ids = program.ctx, [c.message_id for c in claimed]
    numbers = take_numbers(session, ctx.id, program.today.year, ids, foreseen)
    issue_links(session, ctx, [(c.group[0], c.message_id) for c in claimed], at,
                [drafts[c.message_id].token for c in claimed])
    redone = [c for c in claimed if (c.taken, numbers[c.message_id]) != drafts[c.message_id][:2]]
    lines = _lines(session, program, redone) if redone else None
    messages, counted = [], {}
    for message in claimed:
        draft = drafts[message.message_id]
        if lines is not None and message.message_id in lines.messages:
            draft = draft._replace(message=_written(session, program, message, at, portal_url, draft.token,
                                                    numbers[message.message_id], lines))
            counted.update(lines.counted(message.taken))
        messages.append((message.group[0], draft.message))
    if counted:
        core(session, _COUNTED, [{"notice_id": notice, "counted": data} for notice, data in counted.items()])
    return messages


def _written(session: Session, program: _Program, asked: _Claimed, at: datetime, portal_url: str | None,
             token: str, number: int, lines: _Lines) -> Message:
    unit_id, audience, routes, _resume = asked.group
    link = link_url(portal_url or program.ctx.policies.portal.url, token)
    try:
        return _compose(session, program, program.units[unit_id], audience, asked.taken, asked.message_id, at,
                        routes, link, number, lines)
    except Exception as error:
        raise _Unwritten(program.units[unit_id], asked.group, asked.notice_ids, asked.message_id,
                         error) from error


def _owed_groups(session: Session, program_id: str, notifier: Notifier, at: datetime, today: date,
                 tidy: Callable[[Session], _Tidied] | None, ctx: ProgramContext | None) -> _Owed:
    """The queued notices grouped into messages: per notice, the routes that still owe it (a channel that
    took, or may have taken, it is never asked again). Notices every channel has answered for are settled
    here. `tidy` runs first (recovery, superseding)."""
    tidied = tidy(session) if tidy is not None else None
    rows = tidied.queued if tidied is not None else core(session, _QUEUED, {"program": program_id}).all()
    wrote = tidied is not None and tidied.wrote
    if not rows:
        return _Owed(None, [], wrote=wrote)
    queued: dict[int, tuple[int, str]] = {}  # notice → (unit, audience), in the notices' order
    notices: dict[int, _Queued] = {}
    taken: dict[int, dict[str, tuple]] = defaultdict(dict)  # the queued notices' routes already on record
    for notice_id, kind, instance_id, task_code, subject, unit_id, audience, route, state, message_id in rows:
        queued[notice_id] = (unit_id, audience)
        notices[notice_id] = _Queued(notice_id, kind, instance_id, task_code, subject)
        if route is not None:
            taken[notice_id][route] = (state, message_id)
    units = _recipients(session, program_id, {unit_id for unit_id, _audience in queued.values()})
    program = _Program(ctx or load_program(session, program_id), units, today)
    groups, settled = _grouped(queued, taken, units, notifier)
    if settled:
        inflight.settle_notices(session, settled, at)
    return _Owed(program, list(groups.items()), notices, wrote or bool(settled),
                 tidied.top if tidied is not None else None)


def _recipients(session: Session, program_id: str, owed: set[int]) -> dict[int, _Unit]:
    def notify(value: str | None) -> list[str] | None:
        return json.loads(value) if value is not None else None

    return {unit_id: _Unit(unit_id, code, name, *((notify(listed), notify(leaders)) if unit_id in owed
                                                   else (None, None)))
            for unit_id, code, name, listed, leaders in core(session, _RECIPIENTS, {"program": program_id})}


def _grouped(queued: dict[int, tuple[int, str]], taken: dict[int, dict[str, tuple]], units: dict[int, _Unit],
             notifier: Notifier) -> tuple[dict[tuple, list[int]], list[int]]:
    """The notices grouped by (unit, audience, routes owed, message resumed); those no route owes."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    settled: list[int] = []
    routes: dict[tuple[int, str], tuple[inflight.Route, ...]] = {}
    fresh: dict[tuple[int, str], list[int]] = {}  # recipient → its group of notices no route answered for yet
    for notice_id, (unit_id, audience) in queued.items():
        if (unit_id, audience) in fresh and notice_id not in taken:  # the common case, in one step
            fresh[(unit_id, audience)].append(notice_id)
            continue
        if (unit_id, audience) not in routes:
            unit = units[unit_id]
            urls = tuple(unit.leader_notify or unit.notify) if audience == "leader" else tuple(unit.notify)
            routes[(unit_id, audience)] = notifier.routes(urls)
        rows = taken.get(notice_id, {})
        owed = tuple(r for r in routes[(unit_id, audience)]
                     if r.route not in rows or rows[r.route][0] in inflight.OWED)
        if not owed:
            settled.append(notice_id)  # every channel has answered for it (a recovery left it queued)
            continue
        resume = next(
            (rows[r.route][1] for r in owed if r.route in rows and rows[r.route][0] == "retry"), None
        )
        group = groups[(unit_id, audience, owed, resume)]
        group.append(notice_id)
        if not rows:
            fresh[(unit_id, audience)] = group
    return groups, settled


def _take(session: Session, pending: list[_Claimed], notices: dict[int, _Queued], counted: dict[int, dict],
          program_id: str, owner: str, at: datetime) -> list[_Claimed]:
    """queued → sending under each message's id (a compare-and-set per notice, one executemany for all, which
    writes the `counted` data of the listed lines too), read back when some were not taken (`notices`: their
    columns as read, when all were), and each message's owed routes claimed (one executemany), committed by
    the caller before any message leaves: an overlapping check's update finds these rows taken. The
    messages that took notices, with them; a message that another run beat to one of its routes is given
    back whole (regrouped next time)."""
    asked = [{"notice": notice_id, "message": message.message_id, "counted": counted.get(notice_id)}
             for message in pending for notice_id in message.notice_ids]
    taken: dict[str, list[_Queued]] = defaultdict(list)
    if core(session, _TAKE, asked).rowcount == len(asked):  # each compare-and-set took its row
        for message in pending:
            taken[message.message_id] = [notices[notice_id] for notice_id in message.notice_ids]
    else:
        for message_id, *notice in core(session, _TAKEN, {"messages": [m.message_id for m in pending]}):
            taken[message_id].append(_Queued(*notice))
    claimed = [m._replace(taken=sorted(taken[m.message_id])) for m in pending if taken[m.message_id]]
    owed = {m.message_id: len(m.taken) * len(m.group[2]) for m in claimed}
    took = inflight.claim_routes_of(session, program_id, [(m.message_id, m.group[2]) for m in claimed], owner,
                                    at + inflight.LEASE, at)
    if took == sum(owed.values()):
        return claimed
    held = inflight.held(session, list(owed), owner)  # another run settled a route in between
    for message in claimed:
        if held.get(message.message_id, 0) != owed[message.message_id]:
            inflight.release(session, message.message_id, owner, at)
            inflight.settle_notices(session, [n.id for n in message.taken], at)
    return [m for m in claimed if held.get(m.message_id, 0) == owed[m.message_id]]


def _settled(sessions: sessionmaker[Session], message: Message, outcome: DeliveryResult, unit_id: int,
             owner: str, at: datetime, result: DispatchResult) -> None:
    """Settles the message's notices by their routes' answers (unless the notifier did, in its own last
    transaction: the outbox) and counts them in the result."""
    states = outcome.settled
    if states is None:
        with sessions.begin() as session:
            inflight.settle_unanswered(session, message.message_id, owner, outcome.state, at)
            states = inflight.settle_message(session, message.message_id, at, outcome.channel)
    result.messages += 1
    result.notices += len(message.notice_ids)
    for state, count in states.items():
        result.states[state] += count
    result.alerts += [(message.recipient.unit_name, key, channel) for key, channel in outcome.alert_keys]
    result.unknown += [(message.message_id, unit_id, channel, len(message.notice_ids))
                       for channel, state in outcome.channels if state == "unknown"]


def _stale():
    """A queued notice that a newer notice of the same rule replaces (a later 催办 slot, a nearer reminder, a
    newer bulletin; a before-due reminder once the task is chased as overdue): the condition on `notices`.
    Built once, on the table (Core: an ORM-enabled UPDATE costs twenty times the statement itself on every
    call)."""
    notices, newer = _NOTICES, _NOTICES.alias("newer")
    later = and_(newer.c.program_id == notices.c.program_id, newer.c.unit_id == notices.c.unit_id,
                 newer.c.audience == notices.c.audience, newer.c.state != "superseded",
                 newer.c.id > notices.c.id)
    same_rule = and_(
        later, newer.c.kind == notices.c.kind,
        func.coalesce(newer.c.task_code, "") == func.coalesce(notices.c.task_code, ""),
        func.coalesce(newer.c.subject_unit_id, -1) == func.coalesce(notices.c.subject_unit_id, -1),
    )
    # Each branch looks a newer notice up by (instance, kind), an index: never a scan per queued notice.
    return or_(
        and_(one_of(notices.c.kind, SUPERSEDABLE), notices.c.instance_id.is_not(None),
             exists().where(newer.c.instance_id == notices.c.instance_id, same_rule)),
        and_(one_of(notices.c.kind, SUPERSEDABLE), notices.c.instance_id.is_(None),
             exists().where(newer.c.instance_id.is_(None), same_rule)),
        and_(notices.c.kind == "before_due", notices.c.instance_id.is_not(None),
             exists().where(newer.c.instance_id == notices.c.instance_id, newer.c.kind == "overdue", later)),
    )


_STALE = _stale()
_SUPERSEDE = update(_NOTICES).where(*_QUEUED_WHERE, _STALE).values(state="superseded", sent_at=None)
# A deferred attempt is never resumed under its own message id: the notices it carried are owed again and go
# out in a later message (or are superseded), so its ledger row leaves `deferred`.
_DELIVERIES = Delivery.__table__
_DEFERRED = (update(_DELIVERIES)
             .where(_DELIVERIES.c.program_id == bindparam("program"), _DELIVERIES.c.state == "deferred")
             .values(state="superseded", last_at=bindparam("at")))


# What a dispatch may find to do and what is queued, in one statement: one row of what it may find (a run
# left in flight: a route claimed or posting, or a notice sending: recovery; a deferred attempt: its ledger
# row leaves `deferred`; a queued notice a newer one replaces: _SUPERSEDE runs only then, or after a
# recovery) and the program's highest 督办单号 of the year (its digests' numbers are foreseen from it), beside
# each queued notice with its routes (_QUEUED's columns; nothing queued: one row of NULLs).
_PROGRAM = bindparam("program")
_FOUND = select(
    or_(exists().where(_ROUTES.c.program_id == _PROGRAM, one_of(_ROUTES.c.state, inflight.IN_FLIGHT)),
        exists().where(_NOTICES.c.program_id == _PROGRAM, _NOTICES.c.state == "sending")).label("in_flight"),
    exists().where(_DELIVERIES.c.program_id == _PROGRAM, _DELIVERIES.c.state == "deferred").label("deferred"),
    exists().where(*_QUEUED_WHERE, _STALE).label("stale"), TOP_NUMBER.label("top")).subquery("found")
_QUEUED_NOW = _QUEUED_ROWS.subquery("queued")
_LOOK = (select(_FOUND, _QUEUED_NOW).select_from(_FOUND.outerjoin(_QUEUED_NOW, true()))
         .order_by(_QUEUED_NOW.c.id))


class _Tidied(NamedTuple):
    recovered: inflight.Recovered
    superseded: int
    queued: list[Row]  # each queued notice with its routes (_QUEUED), after the recovery and superseding
    top: int  # the program's highest 督办单号 of the year (TOP_NUMBER)
    wrote: bool  # whether it wrote anything (committed before the digests are written)


def _tidy(session: Session, program_id: str, at: datetime, year: int) -> _Tidied:
    """Recovers what a dead run left in flight, then marks the queued notices a newer one of the same rule
    replaces (_stale) superseded, never sent beside it; each only when the program has rows it acts on
    (most dispatches find nothing in flight, many nothing queued). What is queued is read with what it finds
    (_LOOK), and again only when a recovery or the superseding changed it."""
    rows = core(session, _LOOK, {"program": program_id, "year": year}).all()
    in_flight, deferred, stale, top = rows[0][:4]
    queued = [row[4:] for row in rows if row.id is not None]
    recovered = inflight.recover(session, program_id, at) if in_flight else inflight.Recovered()
    superseded = 0
    if stale or in_flight:  # a recovery may leave a stale notice queued again
        superseded = core(session, _SUPERSEDE, {"program": program_id}).rowcount or 0
        queued = core(session, _QUEUED, {"program": program_id}).all()
    if deferred:
        core(session, _DEFERRED, {"program": program_id, "at": at})
    return _Tidied(recovered, superseded, queued, top, bool(in_flight or stale or deferred))


def _compose(session: Session, program: _Program, unit: _Unit, audience: str, notices: list[_Queued],
             message_id: str, at: datetime, routes: tuple[inflight.Route, ...], link: str | None, number: int,
             lines: _Lines) -> Message:
    ctx, today = program.ctx, program.today
    kinds = tuple(dict.fromkeys(n.kind for n in notices))
    summary = "bulletin" in kinds or "final_summary" in kinds
    bulletin = render_bulletin(session, ctx, today, fmt="md", commands=False,
                               listed=LISTED_IN_MESSAGES) if summary else None
    coordinator = program.units.get(ctx.program.coordinator_unit_id)
    office = coordinator.name if coordinator is not None else ""
    head = letterhead(ctx, office, number, today.year)
    contact = head.contact or ""
    # Only email carries files and HTML: robots and the outbox name where to get the files, and show text.
    carried = any(r.kind in CARRIES_FILES for r in routes)
    rendered = render_digest(language=ctx.program.language, program_name=ctx.program.name,
                             recipient_name=unit.name, audience=audience, today=today,
                             items=_items(program, notices, lines),
                             bulletin_markdown=bulletin, link=link, letterhead=head, html=carried)
    files = _attachments(session, program, unit, notices, kinds) if carried else []
    codes = tuple(dict.fromkeys(n.task_code for n in notices if n.task_code))
    urls = tuple(r.url for r in routes if r.url is not None)
    return Message(
        message_id=message_id, program_id=ctx.id, at=at, language=ctx.program.language,
        recipient=Recipient(ctx.id, unit.code, unit.name, audience, urls),
        kinds=kinds, task_codes=codes, subject=rendered.subject, text=rendered.text,
        markdown=rendered.markdown, html=rendered.html, attachments=tuple(files),
        notice_ids=tuple(n.id for n in notices), link=link, contact=contact,
    )


def _attachments(session: Session, program: _Program, unit: _Unit, notices: list[_Queued],
                 kinds: tuple[str, ...]) -> list[Attachment]:
    """The unit's 报送表 with its 交办 or with a digest too long to list (the tasks it is about), the form
    with the self-check. No whole-table workbook: the coordinator's full list is `duban tasks` or the
    portal."""
    ctx, files = program.ctx, []
    crowded = max(Counter(n.kind for n in notices).values()) > MAX_ITEMS_PER_SECTION
    if "assignment" in kinds or crowded:
        if "assignment" in kinds:
            answering = program.answering(session, unit)
            rows = [r for r in program.task_rows(session) if answering & set(r["lead"] + r["co"])]
        else:
            mentioned = {n.task_code for n in notices}
            rows = [r for r in program.task_rows(session) if r["code"] in mentioned]
        language = ctx.program.language
        book = unit_task_workbook(unit.name, rows, language, names=program.names,
                                  meta={"program": ctx.id, "unit": unit.code})
        files.append(Attachment(text(language, "report_sheet.file", program=ctx.id, unit=unit.code), book))
    if "selfcheck_form" in kinds:
        files.append(selfcheck_form_attachment(session, ctx, unit.code))
    return files


def _listed(notices: list[_Queued]) -> list[_Queued]:
    """The notices a digest lists, in its order: at most MAX_ITEMS_PER_SECTION of each section's kind; the
    rest are only counted."""
    seen: Counter = Counter()
    listed = []
    for notice in notices:
        seen[notice.kind] += 1
        if notice.kind not in SECTION_KINDS or seen[notice.kind] <= MAX_ITEMS_PER_SECTION:
            listed.append(notice)
    return listed


def _ordered(notices: list[_Queued]) -> list[_Queued]:
    return sorted(notices, key=lambda n: (n.task_code or "", n.id))


class _Lines(NamedTuple):
    """What the listed lines of a batch's messages say beyond their kind, read once for all of them."""

    messages: set[str]  # the messages read for
    rows: dict[int, Row]
    data: dict[int, dict]  # each notice's data, with its chase count as sent
    leads: dict[int, str | None]  # task → its lead units' names, for a co-unit's line

    def counted(self, notices: list[_Queued]) -> dict[int, dict]:
        """The data of these notices' listed lines that carry a chase count (第N次), with it."""
        return {n.id: self.data[n.id] for n in _listed(_ordered(notices))
                if n.kind in COUNTED_KINDS and self.rows[n.id].instance is not None}


def _lines(session: Session, program: _Program, claims: list[_Claimed]) -> _Lines:
    """Listed items are read in full in one statement for all the messages (their data, their task's light,
    the period, the chase count), their lead units in one more; an item only counted needs its kind alone."""
    listed = [n for c in claims for n in _listed(_ordered(c.taken))]
    rows = {row.id: row for row in core(session, _LISTED, {"ids": [n.id for n in listed]})}
    data = {i: row.data or {} for i, row in rows.items()}
    leads = program.leads(session, {row.task_id for row in rows.values()
                                    if row.instance is not None and data[row.id].get("role") == "co"})
    _count_chases(program.ctx, [n for n in listed if rows[n.id].instance is not None], rows, data)
    return _Lines({c.message_id for c in claims}, rows, data, leads)


def _items(program: _Program, notices: list[_Queued], lines: _Lines) -> list[DigestItem]:
    """The digest's items, in its order: the listed ones from `lines`, the rest by their kind."""
    ctx = program.ctx
    notices = _ordered(notices)
    names, language, light_of = program.unit_names, ctx.language, program.light_of
    items = {}
    for notice in _listed(notices):
        own, task = lines.data[notice.id], lines.rows[notice.id]
        note = _note(notice, own, names, language)
        if task.instance is None:
            items[notice.id] = DigestItem(notice.kind, _title(notice, own, language), None, None, None, note)
            continue
        last_report = ctx.local_date(task.last_report_at) if task.last_report_at else None
        current = light_of(task.due, task.status, task.progress, task.window_start,
                           task.recurrence == "ongoing", last_report)
        period = None if notice.kind in ("assignment", "ack_missing") else period_label(
            language, task.recurrence, task.window_start, task.due)  # 交办, 催签收: the task, not a period
        role = own.get("role")
        lead = lines.leads.get(task.task_id) if role == "co" else None
        items[notice.id] = DigestItem(notice.kind, task.title, task.code,
                                      task.due.isoformat() if task.due else None, current, note, role=role,
                                      period=period, lead=lead)
    return [items.get(n.id) or DigestItem(n.kind, "", n.task_code) for n in notices]


def _count_chases(ctx: ProgramContext, listed: list[_Queued], rows: dict[int, Row],
                  data: dict[int, dict]) -> None:
    """Each 催办/督办/催签收 line says which time it is (第N次): `data` is updated in place for the lines; the
    count as sent stays on its notice, written with the claim (_Lines.counted)."""
    within = ctx.policies.reminders.ack_within_workdays
    for notice in listed:
        if notice.kind in COUNTED_KINDS:
            data[notice.id] = {**data[notice.id], "count": rows[notice.id].received + 1, "within": within}


def _title(notice: _Queued, data: dict, language: str) -> str:
    if notice.kind.startswith("phase_"):
        state = {"phase_opened": "open", "phase_closed": "closed", "phase_overrun": "overrun"}[notice.kind]
        return text(language, "digest.phase_title", name=data.get("name", ""), start=data.get("start", ""),
                    end=data.get("end", ""), verb=text(language, f"transition.{state}")).strip()
    if notice.kind == "bulletin":
        return text(language, "digest.bulletin_title", period=data.get("period", ""))
    return data.get("title") or notice.kind


def _note(notice: _Queued, data: dict, names: dict[int, str], language: str) -> str | None:
    late, slot, workdays = data.get("overdue_workdays"), data.get("slot"), data.get("workdays")
    if notice.kind == "before_due":
        return text(language, "digest.before_due", workdays=workdays)
    if notice.kind == "overdue":  # the count is of chases this unit received, not the rung's slot
        return text(language, "digest.overdue", late=late, count=data.get("count", slot))
    if notice.kind == "escalation":
        return text(language, "digest.escalation", unit=names.get(notice.subject_unit_id, ""), late=late,
                    count=data.get("count", slot))
    if notice.kind == "ack_missing" and "count" in data:
        return text(language, "ladder.ack_missing", assigned_on=data["assigned_on"], within=data["within"],
                    slot=data["count"])
    if notice.kind == "report_missing":
        return text(language, "digest.report_missing", since=data.get("since"), workdays=workdays)
    if notice.kind == "assignment":
        return text(language, "digest.role_lead" if data.get("role") == "lead" else "digest.role_co")
    if notice.kind == "phase_overrun":
        return "; ".join(data.get("reasons", [])) or None
    return data.get("note")
