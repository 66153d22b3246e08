"""The append-only event log: what happened, to what, when, by whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db.models import Event


def record_event(session: Session, program_id: str, at: datetime, kind: str, subject: str, actor: str,
                 data: dict | None = None) -> None:
    session.add(Event(program_id=program_id, at=at, kind=kind, subject=subject, actor=actor, data=data or {}))
