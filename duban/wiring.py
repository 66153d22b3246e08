"""The one place that wires settings to the database, the notifier and the phase-content hooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from db.engine import session_factory
from duban.settings import Settings, load_settings
from notifications.message import Notifier


@dataclass
class Wiring:
    settings: Settings

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        return session_factory(self.settings.db_url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """All or nothing: commit when the block ends normally, roll back on any error."""
        with self.sessions.begin() as session:
            yield session

    def notifier(self, *, outbox_only: bool = False) -> Notifier:
        from notifications.outbox import OutboxNotifier

        if outbox_only or self.settings.notifier == "outbox":
            return OutboxNotifier(self.settings.outbox_path, self.sessions)
        from notifications.apprise_notifier import AppriseNotifier

        # The wall clock enters here, for rate limits of real channels only; rules take as_of.
        return AppriseNotifier(self.sessions, self.settings, clock=lambda: datetime.now(UTC))


# `duban supervise --db URL` runs the flow in this process: the URL reaches it here, never as a flow
# parameter (Prefect stores and shows parameters; a database password must not be among them).
_bound_database: ContextVar[str | None] = ContextVar("duban_database_url", default=None)


@contextmanager
def database(url: str | None) -> Iterator[None]:
    """Flows started inside this block (in this process) use `url`; elsewhere DUBAN_DATABASE_URL decides."""
    token = _bound_database.set(url)
    try:
        yield
    finally:
        _bound_database.reset(token)


def wiring(database_url: str | None = None, **overrides) -> Wiring:
    settings = load_settings(database_url=database_url or _bound_database.get(), **overrides)
    if settings.database_url is None and settings.database_secret:
        from prefect.blocks.system import Secret

        # A worker may keep the URL in a Prefect Secret block instead of its environment.
        settings = settings.model_copy(update={"database_url": Secret.load(settings.database_secret).get()})
    return Wiring(settings)
