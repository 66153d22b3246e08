"""Signatures of what duban issues and later reads back: a self-check form carries an HMAC-SHA256 over its
program, unit and form version, keyed by this installation's secret, so an edited form (another unit's code in
its hidden sheet) is refused on import.

The secret is generated once per installation, at first use, and kept in its database (table
installation_secrets): every process that shares the database (CLI, Prefect workers on other machines) signs
and verifies alike, and nothing outside the database needs to be distributed. It is never printed, logged, put
in an artifact or a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import InstallationSecret

FORM_KEY = "selfcheck-form"
# session.info: name → a key read in this transaction. A key is never changed once written, but one written in
# this very transaction is rolled back with it: held until the transaction ends, never longer.
_HELD = "duban.installation_keys"
_KEY = select(InstallationSecret.value).where(InstallationSecret.name == bindparam("name"))


@event.listens_for(Session, "after_transaction_end")
def _let_go(session: Session, transaction) -> None:
    if transaction.parent is None:  # the session's own transaction, not a flush's or a savepoint's
        session.info.pop(_HELD, None)


def installation_key(session: Session, name: str = FORM_KEY) -> bytes:
    """The named secret, created at first use; read once per transaction (an import signs and verifies
    every form with it)."""
    held = session.info.setdefault(_HELD, {})
    if name not in held:
        held[name] = bytes.fromhex(_stored_key(session, name))
    return held[name]


def _stored_key(session: Session, name: str) -> str:
    value = session.scalar(_KEY, {"name": name})
    if value is None:
        try:
            with session.begin_nested():
                session.add(InstallationSecret(name=name, value=secrets.token_hex(32)))
        except IntegrityError:  # another process created it first: use theirs
            pass
        value = session.scalar(_KEY, {"name": name})
    return value


def form_signature(session: Session, program_id: str, unit_code: str, version: str) -> str:
    message = "\x1f".join((program_id, unit_code, version)).encode()
    return hmac.new(installation_key(session), message, hashlib.sha256).hexdigest()


def verify_form(
    session: Session, program_id: str, unit_code: str, version: str, signature: str | None
) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(form_signature(session, program_id, unit_code, version), str(signature))
