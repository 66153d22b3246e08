"""The one place that wires settings to the database, the notifier and the phase-content hooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def wiring(database_url: str | None = None, **overrides) -> Wiring:
    return Wiring(load_settings(database_url=database_url, **overrides))
