"""`duban outbox`: one entry per notice rule per recipient per message, read from the notices ledger."""

from __future__ import annotations

from collections import OrderedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Notice, Program, Unit


def outbox_entries(session: Session, program_id: str | None = None) -> list[dict]:
    zones = {pid: ZoneInfo(tz) for pid, tz in session.execute(select(Program.id, Program.timezone))}
    query = (
        select(Notice.program_id, Notice.at, Notice.sent_at, Notice.kind, Notice.audience, Notice.task_code,
               Notice.message_id, Notice.channel, Notice.state, Notice.id, Unit.code)
        .join(Unit, Unit.id == Notice.unit_id)
        .order_by(Notice.at, Notice.id)
    )
    if program_id is not None:
        query = query.where(Notice.program_id == program_id)
    entries: OrderedDict[tuple, dict] = OrderedDict()
    for program, at, sent_at, kind, audience, code, message_id, channel, state, notice_id, unit in session.execute(query):
        # Unsent notices have no message yet: each stands alone until a dispatch groups it.
        key = (program, message_id or f"notice-{notice_id}", unit, audience, kind)
        entry = entries.get(key)
        if entry is None:
            zone = zones[program]  # shown in the program's time zone, as its coordinator reads the clock
            entry = entries[key] = {"at": at.astimezone(zone).isoformat(), "program": program, "unit": unit,
                                    "audience": audience, "kind": kind, "tasks": [], "channel": channel,
                                    "state": state, "message": message_id,
                                    "sent_at": sent_at.astimezone(zone).isoformat() if sent_at else None}
        if code and code not in entry["tasks"]:
            entry["tasks"].append(code)
    return list(entries.values())
