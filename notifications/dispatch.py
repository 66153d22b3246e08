"""Sending the queued notices: one digest message per recipient, handed to the Notifier at most once.

queued → sending is a compare-and-set committed before the message leaves, so two checks never hand the
same notice to a channel; a crash after that leaves `sending` rows, which are never re-sent (at most once).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

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
    load_program,
    notice_key,
    task_rows,
)
from notifications.message import Attachment, Message, Notifier, Recipient
from notifications.render.bulletin import render_bulletin
from notifications.render.digest import MAX_ITEMS_PER_SECTION, DigestItem, render_digest
from notifications.workbooks.selfcheck import selfcheck_form_attachment
from notifications.workbooks.tasks import unit_task_workbook
from schedule import clean_text, light, text


@dataclass
class DispatchResult:
    messages: int = 0
    notices: int = 0
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (unit name, masked channel) newly broken
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
             today: date) -> DispatchResult:
    """Sends what is queued; a channel found broken is reported to the coordinator once, in the same
    dispatch."""
    result = _dispatch_queued(sessions, program_id, notifier, at, today)
    alerted = 0
    if result.alerts:
        alerted += _alert_coordinator(sessions, program_id, result.alerts, at)
    if result.render_failures:
        alerted += _alert_render_failures(sessions, program_id, result.render_failures, at)
    if alerted:
        again = _dispatch_queued(sessions, program_id, notifier, at, today)
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


def _alert_coordinator(sessions: sessionmaker[Session], program_id: str, alerts: list[tuple[str, str]],
                       at: datetime) -> int:
    """One delivery_alert per broken channel (its key is the masked channel): never one per message."""
    def alert(language: str, unit: str, channel: str) -> tuple[str, dict]:
        return notice_key("delivery_alert", program_id, channel), {
            "title": text(language, "alert.channel_broken", unit=unit, channel=channel),
            "note": text(language, "alert.channel_fallback"), "channel": channel, "unit": unit}

    unique = dict.fromkeys(alerts)
    return _alert(sessions, program_id, at, lambda language: [alert(language, *a) for a in unique])


def _dispatch_queued(sessions: sessionmaker[Session], program_id: str, notifier: Notifier, at: datetime,
                     today: date) -> DispatchResult:
    result = DispatchResult()
    with sessions.begin() as session:
        queued = session.execute(
            select(Notice.id, Notice.unit_id, Notice.audience)
            .where(Notice.program_id == program_id, Notice.state == "queued")
            .order_by(Notice.id)
        ).all()
    if not queued:
        return result
    with sessions.begin() as session:
        ctx = load_program(session, program_id)
        units = {u.id: u for u in session.scalars(select(Unit).where(Unit.program_id == program_id))}
        session.expunge_all()
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for notice_id, unit_id, audience in queued:
        groups[(unit_id, audience)].append(notice_id)

    rows_by_day: dict[date, list[dict]] = {}  # the task list is read once per dispatch, not once per unit
    for (unit_id, audience), notice_ids in groups.items():
        message_id = new_message_id(program_id, at)
        try:
            with sessions.begin() as session:
                # Committed before the message leaves: an overlapping check's update finds these rows taken.
                session.execute(
                    update(Notice).where(Notice.id.in_(notice_ids), Notice.state == "queued")
                    .values(state="sending", message_id=message_id)
                )
                mine = session.scalars(select(Notice).where(Notice.message_id == message_id)).all()
                if not mine:
                    continue  # an overlapping check took them first
                message = _compose(session, ctx, units[unit_id], audience, mine, message_id, at, today,
                                   rows_by_day, units)
        except Exception as error:  # one unit's digest must never stop the others
            reason = _record_render_failure(
                sessions, program_id, units[unit_id], audience, notice_ids, message_id, at, error
            )
            result.messages += 1
            result.notices += len(notice_ids)
            result.states["failed"] += len(notice_ids)
            result.render_failures.append((units[unit_id].name, message_id, reason))
            continue
        outcome = notifier.send(message)
        with sessions.begin() as session:
            # A deferred message (rate limit, transient failure, outside a channel's window) stays queued.
            state = "queued" if outcome.state == "deferred" else outcome.state
            session.execute(
                update(Notice).where(Notice.message_id == message_id, Notice.state == "sending")
                .values(state=state, channel=outcome.channel,
                        message_id=None if state == "queued" else message_id,
                        sent_at=None if state == "queued" else at)
            )
        result.messages += 1
        result.notices += len(mine)
        result.states[outcome.state] += len(mine)
        result.alerts += [(message.recipient.unit_name, channel) for channel in outcome.alerts]
    return result


def _compose(session: Session, ctx: ProgramContext, unit: Unit, audience: str, notices: list[Notice],
             message_id: str, at: datetime, today: date, rows_by_day: dict[date, list[dict]],
             units: dict[int, Unit]) -> Message:
    english = ctx.program.language == "en"
    items = _items(session, ctx, notices, today, english, units)
    kinds = tuple(dict.fromkeys(n.kind for n in notices))
    bulletin = render_bulletin(session, ctx, today, fmt="md") if "bulletin" in kinds else None
    rendered = render_digest(language=ctx.program.language, program_name=ctx.program.name,
                             recipient_name=unit.name, audience=audience, today=today, items=items,
                             bulletin_markdown=bulletin)
    files = _attachments(session, ctx, unit, notices, kinds, today, rows_by_day, units)
    urls = tuple(unit.leader_notify or unit.notify) if audience == "leader" else tuple(unit.notify)
    codes = tuple(dict.fromkeys(n.task_code for n in notices if n.task_code))
    return Message(
        message_id=message_id, program_id=ctx.id, at=at, language=ctx.program.language,
        recipient=Recipient(ctx.id, unit.code, unit.name, audience, urls),
        kinds=kinds, task_codes=codes, subject=rendered.subject, text=rendered.text,
        markdown=rendered.markdown, html=rendered.html, attachments=tuple(files),
        notice_ids=tuple(n.id for n in notices))


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
        files.append(Attachment(f"{ctx.id}-{unit.code}-{name}.xlsx",
                                unit_task_workbook(unit.name, rows, ctx.program.language, names=names)))
    if "selfcheck_form" in kinds:
        files.append(selfcheck_form_attachment(session, ctx, unit.code))
    return files


def _items(session: Session, ctx: ProgramContext, notices: list[Notice], today: date, english: bool,
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
                                    _note(notice, data, names, english)))
        else:
            items.append(DigestItem(notice.kind, _title(notice, data, english), None, None, None,
                                    _note(notice, data, names, english)))
    return items


def _title(notice: Notice, data: dict, english: bool) -> str:
    language = "en" if english else "zh-CN"
    if notice.kind.startswith("phase_"):
        state = {"phase_opened": "open", "phase_closed": "closed", "phase_overrun": "overrun"}[notice.kind]
        return text(language, "digest.phase_title", name=data.get("name", ""), start=data.get("start", ""),
                    end=data.get("end", ""), verb=text(language, f"transition.{state}")).strip()
    if notice.kind == "bulletin":
        return text(language, "digest.bulletin_title", period=data.get("period", ""))
    return data.get("title") or notice.kind


def _note(notice: Notice, data: dict, names: dict[int, str], english: bool) -> str | None:
    language = "en" if english else "zh-CN"
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
