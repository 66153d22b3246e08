"""What portal workers share through the database, so the process itself keeps no state: the session signing
key, bad-token and bad-password counts per address (repeated ones are slowed down), and the one-time ids of
submitted forms (a double submit records once)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import PortalFailure, PortalKey, PortalSubmission

FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 5  # bad tokens from one address within the window before it is slowed down
BLOCK_FAILURES = 20  # … and then refused outright until the window passes


def signing_key(session: Session, at: datetime) -> str:
    """The session signing key, made on first use; concurrent workers agree on the first one stored."""
    key = session.scalar(select(PortalKey.value).where(PortalKey.name == "session"))
    if key is not None:
        return key
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(PortalKey).values(name="session", value=secrets.token_urlsafe(48), created_at=at)
                    .on_conflict_do_nothing(index_elements=["name"]))
    return session.scalar(select(PortalKey.value).where(PortalKey.name == "session"))


def record_failure(session: Session, address: str, at: datetime) -> None:
    session.execute(delete(PortalFailure).where(PortalFailure.at < at - FAILURE_WINDOW))
    session.add(PortalFailure(address=address[:64], at=at))


def recent_failures(session: Session, address: str, at: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PortalFailure)
            .where(PortalFailure.address == address[:64], PortalFailure.at >= at - FAILURE_WINDOW)
        )
        or 0
    )


def penalty_seconds(failures: int) -> float | None:
    """How long to hold an answer after this many recent failures; None: refuse without looking."""
    if failures >= BLOCK_FAILURES:
        return None
    if failures < FREE_FAILURES:
        return 0.0
    return min(0.25 * 2 ** (failures - FREE_FAILURES), 4.0)


def first_submission(session: Session, form_id: str, program_id: str, at: datetime) -> bool:
    """True the first time a form id is submitted; False for a repeat (nothing should be recorded)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(
        insert(PortalSubmission)
        .values(form_id=form_id[:64], program_id=program_id, at=at)
        .on_conflict_do_nothing(index_elements=["form_id"])
    )
    return result.rowcount == 1
