"""Sessions, CSRF and the guard against guessed links, with no state in the process.

A session is a cookie `duban_session`: base64url(JSON) + "." + HMAC-SHA256 over it, keyed by
DUBAN_PORTAL_SECRET or the key kept in the database (db.portal_guard), so any worker verifies any other's
cookie. It is HttpOnly, SameSite=Strict (and Secure behind https), and holds only a CSRF token and, for a
coordinator, the account. Every POST must carry the session's CSRF token as the form field `csrf`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "duban_session"
MAX_AGE = 12 * 3600


@dataclass
class Session:
    data: dict
    changed: bool = False

    @property
    def csrf(self) -> str:
        if "csrf" not in self.data:
            self.data["csrf"] = secrets.token_urlsafe(24)
            self.changed = True
        return self.data["csrf"]

    def set(self, **values) -> None:
        self.data.update(values)
        self.changed = True

    def clear_user(self) -> None:
        for key in ("user", "program", "role", "language"):
            self.data.pop(key, None)
        self.data["csrf"] = secrets.token_urlsafe(24)  # a new token after a change of privilege
        self.changed = True


def _sign(key: str, payload: bytes) -> str:
    return (
        base64.urlsafe_b64encode(hmac.new(key.encode(), payload, hashlib.sha256).digest())
        .decode()
        .rstrip("=")
    )


def load_session(request: Request, key: str) -> Session:
    raw = request.cookies.get(COOKIE, "")
    body, _, signature = raw.rpartition(".")
    if body and hmac.compare_digest(_sign(key, body.encode()), signature):
        try:
            return Session(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
        except ValueError:
            pass
    return Session({})


def save_session(response: Response, session: Session, key: str, secure: bool) -> None:
    body = (
        base64.urlsafe_b64encode(json.dumps(session.data, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    response.set_cookie(COOKIE, f"{body}.{_sign(key, body.encode())}", max_age=MAX_AGE, httponly=True,
                        samesite="strict", secure=secure, path="/")


def csrf_ok(session: Session, submitted: str | None) -> bool:
    expected = session.data.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
