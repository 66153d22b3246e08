"""The append-only event log: what happened, to what, when, by whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from db.models import Event
from db.readonly import refuse_archived_write

_INSERT = insert(Event.__table__)


def record_event(session: Session, program_id: str, at: datetime, kind: str, subject: str, actor: str,
                 data: dict | None = None) -> None:
    """One Core insert on the session's connection, at once: an event is never read back as an object and
    refers to no row by key, so the ORM's flush (about 1 ms, most of a 签收 or a report) buys nothing. Events
    keep the order they were recorded in. An archived program's event is refused, as its rows' flush is."""
    refuse_archived_write(session, program_id)
    session.connection().execute(_INSERT, {"program_id": program_id, "at": at, "kind": kind,
                                           "subject": subject, "actor": actor, "data": data or {}})
