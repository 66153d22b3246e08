"""Coordinator accounts on the portal. Passwords are kept as stdlib scrypt hashes
(`scrypt$n$r$p$salt$hash`, n=2**14, r=8, p=1, 16-byte salt), compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.events import record_event
from db.models import PortalUser
from db.programs import InvalidInput, ProgramContext
from schedule import text

ROLES = ("coordinator",)
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def add_user(session: Session, ctx: ProgramContext, name: str, role: str, password: str, at: datetime,
             actor: str) -> dict:
    """A new account, or a new password for an existing one."""
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
        raise InvalidInput(text(ctx.language, "account.bad_name"))
    if role not in ROLES:
        raise InvalidInput(text(ctx.language, "account.bad_role", role=role, roles=" | ".join(ROLES)))
    if len(password) < 8:
        raise InvalidInput(text(ctx.language, "account.short_password"))
    user = session.scalar(select(PortalUser).where(PortalUser.program_id == ctx.id, PortalUser.name == name))
    created = user is None
    if created:
        user = PortalUser(program_id=ctx.id, name=name, role=role, created_at=at)
        session.add(user)
    user.role, user.password_hash, user.active = role, hash_password(password), True
    session.flush()
    record_event(
        session,
        ctx.id,
        at,
        "portal.user_added" if created else "portal.password_set",
        f"user:{name}",
        actor,
        {"role": role},
    )
    return {"program": ctx.id, "name": name, "role": role, "created": created}


def authenticate(session: Session, program_id: str, name: str, password: str) -> PortalUser | None:
    user = session.scalar(
        select(PortalUser).where(
            PortalUser.program_id == program_id, PortalUser.name == name, PortalUser.active.is_(True)
        )
    )
    if user is None:
        verify_password(hash_password("timing"), password)  # the same work whether or not the name exists
        return None
    return user if verify_password(user.password_hash, password) else None
