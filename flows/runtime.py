"""The composition root: the one typed settings object, the wiring of database and notifier, and the clock.

`now()` is the only place duban reads the wall clock. Commands turn it into `as_of` (a date on the command
line
means that day 08:30), the scheduler's runs take their own start, and real channels their rate limits; every
rule below takes `as_of` as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session, sessionmaker

from db import session_factory
from notifications import AppriseNotifier, Notifier, OutboxNotifier


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
    notifier: Literal["outbox", "apprise"] = Field(
        default="outbox", description="outbox: record only (the embedded default); apprise: deliver to units"
    )
    dingtalk_endpoint: str = "https://oapi.dingtalk.com/robot/send"
    wecom_endpoint: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    feishu_endpoint: str = "https://open.feishu.cn/open-apis/bot/v2/hook"
    http_timeout_seconds: float = Field(default=10.0, gt=0)

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
        if outbox_only or self.settings.notifier == "outbox":
            return OutboxNotifier(self.settings.outbox_path, self.sessions)
        # Real channels keep their rate limits in real time; every rule takes as_of.
        return AppriseNotifier(self.sessions, self.settings, clock=lambda: now(UTC))


def wiring(database_url: str | None = None, **overrides) -> Wiring:
    return Wiring(load_settings(database_url=database_url, **overrides))
