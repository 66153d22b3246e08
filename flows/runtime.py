"""The composition root: the one typed settings object, the wiring of database and notifier, and the clock.

`now()` is the only place duban reads the wall clock. Commands turn it into `as_of` (a date on the command
line
means that day 08:30), the scheduler's runs take their own start, and real channels their rate limits; every
rule below takes `as_of` as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session, sessionmaker

from db import session_factory
from notifications import Notifier

DAILY_CHECK_TIME = time(8, 30)  # a date alone means the daily check's time, in every entry point


def now(zone: tzinfo) -> datetime:
    """The wall clock, in `zone`: read here and nowhere else."""
    return datetime.now(zone)



class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")

    home: Path = Field(
        default=Path(".duban"), description="where the SQLite database, outbox and reports live"
    )
    database_url: str | None = Field(
        default=None, description="any SQLAlchemy URL; default SQLite under home"
    )
    database_secret: str | None = Field(
        default=None,
        description="name of a Prefect Secret block holding the database URL, when no URL is set",
    )
    notifier: Literal["outbox", "apprise"] = Field(
        default="outbox", description="outbox: record only (the embedded default); apprise: deliver to units"
    )
    dingtalk_endpoint: str = "https://oapi.dingtalk.com/robot/send"
    wecom_endpoint: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    feishu_endpoint: str = "https://open.feishu.cn/open-apis/bot/v2/hook"
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    portal_url: str | None = Field(default=None, description="the portal's public address; else portal.url")
    portal_as_of: str | None = Field(
        default=None, description="the portal acts as of this moment (replays, demos)"
    )
    portal_secret: str | None = Field(
        default=None, description="signs portal sessions; else a key kept in the database")
    check_limit: int = Field(
        default=4, gt=0,
        description="checks at once: `duban serve`'s runner limit, the duban work pool's concurrency limit",
    )
    prefect_startup_seconds: int = Field(
        default=180,
        gt=0,
        description="start-up timeout of Prefect's temporary server (a bare `duban supervise`)",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'duban.db'}"

    @property
    def outbox_path(self) -> Path:
        return self.home / "outbox.jsonl"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def load_settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})



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
        # A notifier loads when a command sends, not when it reads; only the real one brings httpx and the
        # channels (a replay sends to the outbox alone).
        if outbox_only or self.settings.notifier == "outbox":
            from notifications import OutboxNotifier  # see above

            return OutboxNotifier(self.settings.outbox_path, self.sessions)
        from notifications import AppriseNotifier  # see above

        # Real channels keep their rate limits in real time; every rule takes as_of.
        return AppriseNotifier(self.sessions, self.settings, clock=lambda: now(UTC))


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
        from prefect.blocks.system import Secret  # Prefect loads only where a worker keeps the URL in a block

        settings = settings.model_copy(update={"database_url": Secret.load(settings.database_secret).get()})
    return Wiring(settings)
