"""A unit's personal portal link, `{portal.url}/u/{token}`.

The token is 32 random bytes (urlsafe), unguessable; only its SHA-256 is stored. A token lives `link_days`
(60 by default). Every digest a unit receives carries a freshly issued token, so a unit that keeps receiving
digests always holds a link far from its end; the older ones stay valid until their own expiry or revocation.
`revoke` ends every link of a unit at once. Tokens are never logged, stored, put in an artifact or printed:
the one place a token exists is the message that carried it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db.bulk import core
from db.events import record_event
from db.models import Unit, UnitLink
from db.programs import NotFound, ProgramContext
from schedule import text

DEFAULT_PORTAL_URL = "http://127.0.0.1:8080"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


# A Core insert built once: no flush, and no per-call statement construction on the dispatch's hot path.
_ISSUE = insert(UnitLink.__table__)


def issue_link(session: Session, ctx: ProgramContext, unit_id: int, at: datetime,
               message_id: str | None = None) -> str:
    """A new token for the unit, valid `link_days` from `at`; returns the token (the only time it is seen)."""
    return issue_links(session, ctx, [(unit_id, message_id)], at)[0]


def new_tokens(count: int) -> list[str]:
    return [secrets.token_urlsafe(32) for _ in range(count)]


def issue_links(session: Session, ctx: ProgramContext, holders: list[tuple[int, str | None]],
                at: datetime, tokens: list[str] | None = None) -> list[str]:
    """A new token for each (unit, message), in one statement (a dispatch's messages); returns the tokens.
    `tokens`: drawn before (new_tokens), when a digest is written with its link before the link is issued."""
    tokens = new_tokens(len(holders)) if tokens is None else tokens
    expires = at + timedelta(days=ctx.policies.portal.link_days)
    core(session, _ISSUE, [
        {"program_id": ctx.id, "unit_id": unit_id, "token_hash": token_hash(token), "created_at": at,
         "expires_at": expires, "message_id": message_id}
        for (unit_id, message_id), token in zip(holders, tokens, strict=True)])
    return tokens


def link_url(base: str | None, token: str) -> str:
    return f"{(base or DEFAULT_PORTAL_URL).rstrip('/')}/u/{token}"


@dataclass(frozen=True)
class LinkHolder:
    """Whom a valid token lets in: one unit of one program."""

    link_id: int
    program_id: str
    unit_id: int
    unit_code: str
    unit_name: str
    expires_at: datetime


def resolve_link(session: Session, token: str, at: datetime) -> LinkHolder | None:
    """The unit a token belongs to, or None for an unknown, expired or revoked token (the caller cannot
    tell which, and neither can whoever guesses)."""
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(UnitLink, Unit)
        .join(Unit, Unit.id == UnitLink.unit_id)
        .where(UnitLink.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    link, unit = row
    if link.revoked_at is not None or link.expires_at <= at:
        return None
    return LinkHolder(link.id, link.program_id, unit.id, unit.code, unit.name, link.expires_at)


def revoke_links(session: Session, ctx: ProgramContext, unit_code: str, at: datetime, actor: str) -> int:
    """Ends every link of the unit not revoked yet; the next digest brings a new one. Returns how many."""

    unit = session.scalar(select(Unit).where(Unit.program_id == ctx.id, Unit.code == unit_code))
    if unit is None:
        raise NotFound(f"UNIT {unit_code}: "
                       + text(ctx.language, "error.unit_missing", program=ctx.id, unit=unit_code))
    result = session.execute(
        update(UnitLink).where(UnitLink.program_id == ctx.id, UnitLink.unit_id == unit.id,
                               UnitLink.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    record_event(
        session, ctx.id, at, "portal.links_revoked", f"unit:{unit_code}", actor, {"links": result.rowcount}
    )
    return result.rowcount
