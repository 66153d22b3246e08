"""Sending the queued notices: one digest message per recipient and set of channels still owing its notices.

queued → sending is a compare-and-set committed before the message leaves, together with the claim of each
(notice, channel) route still owed (notifications/inflight.py), so two checks never hand the same notice to a
channel and a channel that took a notice never gets it again. What a dead run left in flight is recovered
first:
owed again where the send provably did not start or the channel is idempotent, else `unknown`, shown and
alerted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from db import (
    Candidate,
    Delivery,
    Notice,
    ProgramContext,
    Task,
    TaskInstance,
    Unit,
    claim,
    collectives_of,
    issue_link,
    link_url,
    load_program,
    notice_key,
    task_rows,
)
from notifications.delivery import inflight
from notifications.delivery.crashpoints import crash_point
from notifications.message import Attachment, Message, Notifier, Recipient
from notifications.render.bulletin import render_bulletin
from notifications.render.digest import MAX_ITEMS_PER_SECTION, DigestItem, render_digest
from notifications.workbooks.selfcheck import selfcheck_form_attachment
from notifications.workbooks.tasks import unit_task_workbook
from schedule import clean_text, light, text

# Rules whose newer notice replaces an older one still queued (same rule, instance and recipient).
SUPERSEDABLE = ("before_due", "overdue", "escalation", "report_missing", "remediation_before_due",
                "remediation_overdue", "remediation_escalation", "selfcheck_missing", "bulletin",
                "ack_missing")


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
             today: date, portal_url: str | None = None) -> DispatchResult:
    """Recovers what a dead run left in flight, supersedes stale notices, sends what is owed; a channel found
    broken or failing, a send of unknown outcome and a digest that could not be written are reported to the
    coordinator once, in the same dispatch. Every message carries its unit's new personal link under
    `portal_url` (else the program's portal.url)."""
    with sessions.begin() as session:
        recovered = inflight.recover(session, program_id, at)
        superseded = supersede_stale(session, program_id, at)
    result = _dispatch_queued(sessions, program_id, notifier, at, today, portal_url)
    result.recovered, result.superseded = recovered, superseded
    unknown = recovered.unknown + result.unknown
    alerted = 0
    if result.alerts or unknown:
        alerted += _alert_coordinator(sessions, program_id, result.alerts, unknown, at)
    if result.render_failures:
        alerted += _alert_render_failures(sessions, program_id, result.render_failures, at)
    if alerted:
        again = _dispatch_queued(sessions, program_id, notifier, at, today, portal_url)
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
        return len(claim(session, ctx, candidates, at))


def _record_render_failure(sessions: sessionmaker[Session], program_id: str, unit: Unit, audience: str,
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


def _dispatch_queued(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime,
                     today: date, portal_url: str | None) -> DispatchResult:
    result = DispatchResult()
    with sessions.begin() as session:
        queued = session.execute(
            select(Notice.id, Notice.unit_id, Notice.audience)
            .where(Notice.program_id == program_id, Notice.state == "queued")
            .order_by(Notice.id)
        ).all()
        if not queued:
            return result
        taken = inflight.routes_taken(session, program_id, [row.id for row in queued])
        ctx = load_program(session, program_id)
        units = {u.id: u for u in session.scalars(select(Unit).where(Unit.program_id == program_id))}
        session.expunge_all()
    # Per notice, the routes that still owe it: a channel that took (or may have taken) it is never asked
    # again.
    groups: dict[tuple, list[int]] = defaultdict(list)
    settled: list[int] = []
    for notice_id, unit_id, audience in queued:
        unit = units[unit_id]
        urls = tuple(unit.leader_notify or unit.notify) if audience == "leader" else tuple(unit.notify)
        rows = taken.get(notice_id, {})
        owed = tuple(
            r for r in notifier.routes(urls) if r.route not in rows or rows[r.route][0] in inflight.OWED
        )
        if not owed:
            settled.append(notice_id)  # every channel has answered for it (a recovery left it queued)
            continue
        resume = next(
            (rows[r.route][1] for r in owed if r.route in rows and rows[r.route][0] == "retry"), None
        )
        groups[(unit_id, audience, owed, resume)].append(notice_id)
    if settled:
        with sessions.begin() as session:
            inflight.settle_notices(session, program_id, settled, at)

    rows_by_day: dict[date, list[dict]] = {}  # the task list is read once per dispatch, not once per unit
    owner = inflight.new_owner(uuid.uuid4().hex[:12])
    for (unit_id, audience, routes, resume), notice_ids in groups.items():
        crash_point("before_claim")
        message_id = resume or new_message_id(program_id, at)
        try:
            with sessions.begin() as session:
                # Committed before the message leaves: an overlapping check's update finds these rows taken.
                session.execute(
                    update(Notice).where(Notice.id.in_(notice_ids), Notice.state == "queued")
                    .values(state="sending", message_id=message_id)
                )
                mine = session.scalars(
                    select(Notice).where(
                        Notice.id.in_(notice_ids), Notice.state == "sending", Notice.message_id == message_id
                    )
                ).all()
                if not mine:
                    continue  # an overlapping check took them first
                ids = [n.id for n in mine]
                took = inflight.claim_routes(session, program_id, ids, list(routes), message_id, owner,
                                             at + inflight.LEASE, at)
                if took != len(ids) * len(routes):
                    # Another run settled one of these routes in between: give everything back, regroup next
                    # time.
                    inflight.release(session, message_id, owner, at)
                    inflight.settle_notices(session, program_id, ids, at)
                    continue
                link = link_url(portal_url or ctx.policies.portal.url,
                                issue_link(session, ctx, unit_id, at, message_id))
                message = _compose(session, ctx, units[unit_id], audience, mine, message_id, at, today,
                                   rows_by_day, units, tuple(r.url for r in routes if r.url is not None),
                                   link)
        except Exception as error:  # one unit's digest must never stop the others (the claim rolled back)
            reason = _record_render_failure(
                sessions, program_id, units[unit_id], audience, notice_ids, message_id, at, error
            )
            result.messages += 1
            result.notices += len(notice_ids)
            result.states["failed"] += len(notice_ids)
            result.render_failures.append((units[unit_id].name, message_id, reason))
            continue
        crash_point("after_claim")
        outcome = notifier.send(message)
        with sessions.begin() as session:
            # A notifier that keeps no ledger (the bare outbox) leaves its routes claimed: they take its
            # answer.
            inflight.settle_unanswered(session, message_id, owner, outcome.state, at)
            states = inflight.settle_notices(session, program_id, ids, at, channel=outcome.channel)
        result.messages += 1
        result.notices += len(ids)
        for state, count in states.items():
            result.states[state] += count
        result.alerts += [(message.recipient.unit_name, key, channel) for key, channel in outcome.alert_keys]
        result.unknown += [(message_id, unit_id, channel, len(ids)) for channel, state in outcome.channels
                           if state == "unknown"]
    return result


def supersede_stale(session: Session, program_id: str, at: datetime) -> int:
    """A queued notice that a newer notice of the same rule replaces (a later 催办 slot, a nearer reminder, a
    newer bulletin; a before-due reminder once the task is chased as overdue) is never sent beside it."""
    newer = aliased(Notice)
    same_rule = and_(
        newer.program_id == Notice.program_id,
        newer.unit_id == Notice.unit_id,
        newer.audience == Notice.audience,
        func.coalesce(newer.instance_id, -1) == func.coalesce(Notice.instance_id, -1),
        func.coalesce(newer.task_code, "") == func.coalesce(Notice.task_code, ""),
        func.coalesce(newer.subject_unit_id, -1) == func.coalesce(Notice.subject_unit_id, -1),
        newer.state != "superseded",
        newer.id > Notice.id,
    )
    stale = or_(
        and_(Notice.kind.in_(SUPERSEDABLE), exists().where(same_rule, newer.kind == Notice.kind)),
        and_(Notice.kind == "before_due", Notice.instance_id.is_not(None),
             exists().where(newer.program_id == Notice.program_id, newer.unit_id == Notice.unit_id,
                            newer.audience == Notice.audience, newer.instance_id == Notice.instance_id,
                            newer.kind == "overdue", newer.state != "superseded")),
    )
    moved = session.execute(
        update(Notice).where(Notice.program_id == program_id, Notice.state == "queued", stale)
        .values(state="superseded", sent_at=None).execution_options(synchronize_session=False)
    )
    # A deferred attempt is never resumed under its own message id: the notices it carried are owed again and
    # go
    # out in a later message (or are superseded), so its ledger row leaves `deferred`.
    session.execute(update(Delivery).where(Delivery.program_id == program_id, Delivery.state == "deferred")
                    .values(state="superseded", last_at=at))
    return moved.rowcount or 0


def _compose(session: Session, ctx: ProgramContext, unit: Unit, audience: str, notices: list[Notice],
             message_id: str, at: datetime, today: date, rows_by_day: dict[date, list[dict]],
             units: dict[int, Unit], urls: tuple[str, ...], link: str | None) -> Message:
    items = _items(session, ctx, notices, today, ctx.language, units)
    kinds = tuple(dict.fromkeys(n.kind for n in notices))
    bulletin = render_bulletin(session, ctx, today, fmt="md") if "bulletin" in kinds else None
    coordinator = units.get(ctx.program.coordinator_unit_id) if ctx.program.coordinator_unit_id else None
    contact = coordinator.name if coordinator is not None else ""
    rendered = render_digest(language=ctx.program.language, program_name=ctx.program.name,
                             recipient_name=unit.name, audience=audience, today=today, items=items,
                             bulletin_markdown=bulletin, link=link, contact=contact)
    files = _attachments(session, ctx, unit, notices, kinds, today, rows_by_day, units)
    codes = tuple(dict.fromkeys(n.task_code for n in notices if n.task_code))
    return Message(
        message_id=message_id, program_id=ctx.id, at=at, language=ctx.program.language,
        recipient=Recipient(ctx.id, unit.code, unit.name, audience, urls),
        kinds=kinds, task_codes=codes, subject=rendered.subject, text=rendered.text,
        markdown=rendered.markdown, html=rendered.html, attachments=tuple(files),
        notice_ids=tuple(n.id for n in notices), link=link, contact=contact,
    )


def _attachments(
    session: Session,
    ctx: ProgramContext,
    unit: Unit,
    notices: list[Notice],
    kinds: tuple[str, ...],
    today: date,
    rows_by_day: dict[date, list[dict]],
    units: dict[int, Unit],
) -> list[Attachment]:
    """The unit's 报送表 with its 交办 or a digest too long to list, the whole table with the bulletin,
    the form with the self-check."""
    files = []
    crowded = (
        len(kinds) and max(sum(1 for n in notices if n.kind == k) for k in kinds) > MAX_ITEMS_PER_SECTION
    )
    if "assignment" in kinds or "bulletin" in kinds or crowded:
        if today not in rows_by_day:
            rows_by_day[today] = task_rows(session, ctx, today)
        rows = rows_by_day[today]
        if "assignment" in kinds:
            answering = {unit.code} | collectives_of(session, ctx.id).get(unit.code, set())
            rows = [r for r in rows if answering & set(r["lead"] + r["co"])]
        elif "bulletin" not in kinds:  # a digest too long to list: the tasks it is about
            mentioned = {n.task_code for n in notices}
            rows = [r for r in rows if r["code"] in mentioned]
        name = "全部任务" if "bulletin" in kinds else "报送表"
        names = {u.code: u.name for u in units.values()}
        meta = None if "bulletin" in kinds else {"program": ctx.id, "unit": unit.code}
        files.append(
            Attachment(
                f"{ctx.id}-{unit.code}-{name}.xlsx",
                unit_task_workbook(unit.name, rows, ctx.program.language, names=names, meta=meta),
            )
        )
    if "selfcheck_form" in kinds:
        files.append(selfcheck_form_attachment(session, ctx, unit.code))
    return files


def _items(session: Session, ctx: ProgramContext, notices: list[Notice], today: date, language: str,
           units: dict[int, Unit]) -> list[DigestItem]:
    instance_ids = {n.instance_id for n in notices if n.instance_id}
    details = {}
    if instance_ids:
        for instance, task in session.execute(
            select(TaskInstance, Task)
            .join(Task, Task.id == TaskInstance.task_id)
            .where(TaskInstance.id.in_(instance_ids))
        ):
            details[instance.id] = (instance, task)
    names = {u.id: u.name for u in units.values()}
    calendar, reminders = ctx.policies.work_calendar(), ctx.policies.reminders
    items = []
    for notice in sorted(notices, key=lambda n: (n.task_code or "", n.id)):
        data = notice.data or {}
        if notice.instance_id in details:
            instance, task = details[notice.instance_id]
            current = light(
                today, due=instance.due, status=instance.status, progress=instance.progress,
                window_start=instance.window_start, calendar=calendar,
                yellow_workdays=reminders.yellow_workdays, ongoing=task.recurrence == "ongoing",
                last_report=ctx.local_date(instance.last_report_at) if instance.last_report_at else None,
                report_every_workdays=reminders.report_every_workdays)
            items.append(DigestItem(notice.kind, task.title, task.code,
                                    instance.due.isoformat() if instance.due else None, current,
                                    _note(notice, data, names, language)))
        else:
            items.append(DigestItem(notice.kind, _title(notice, data, language), None, None, None,
                                    _note(notice, data, names, language)))
    return items


def _title(notice: Notice, data: dict, language: str) -> str:
    if notice.kind.startswith("phase_"):
        state = {"phase_opened": "open", "phase_closed": "closed", "phase_overrun": "overrun"}[notice.kind]
        return text(language, "digest.phase_title", name=data.get("name", ""), start=data.get("start", ""),
                    end=data.get("end", ""), verb=text(language, f"transition.{state}")).strip()
    if notice.kind == "bulletin":
        return text(language, "digest.bulletin_title", period=data.get("period", ""))
    return data.get("title") or notice.kind


def _note(notice: Notice, data: dict, names: dict[int, str], language: str) -> str | None:
    late, slot, workdays = data.get("overdue_workdays"), data.get("slot"), data.get("workdays")
    if notice.kind == "before_due":
        return text(language, "digest.before_due", workdays=workdays)
    if notice.kind == "overdue":
        return text(language, "digest.overdue", late=late, slot=slot)
    if notice.kind == "escalation":
        return text(language, "digest.escalation", unit=names.get(notice.subject_unit_id, ""), late=late)
    if notice.kind == "report_missing":
        return text(language, "digest.report_missing", since=data.get("since"), workdays=workdays)
    if notice.kind == "assignment":
        return text(language, "digest.role_lead" if data.get("role") == "lead" else "digest.role_co")
    if notice.kind == "phase_overrun":
        return "; ".join(data.get("reasons", [])) or None
    return data.get("note")
