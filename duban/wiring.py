"""The one place that wires settings to the database and the notifier."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from db.engine import session_factory
from duban.settings import Settings, load_settings


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


def wiring(database_url: str | None = None) -> Wiring:
    return Wiring(load_settings(database_url=database_url))
