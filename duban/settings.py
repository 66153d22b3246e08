"""The one typed settings object, validated at load. Read from the environment (DUBAN_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")

    home: Path = Field(default=Path(".duban"), description="where the SQLite database, outbox and reports live")
    database_url: str | None = Field(default=None, description="any SQLAlchemy URL; default SQLite under home")
    database_secret: str | None = Field(
        default=None, description="name of a Prefect Secret block holding the database URL, when no URL is set")
    notifier: Literal["outbox", "apprise"] = Field(
        default="outbox", description="outbox: record only (the embedded default); apprise: deliver to units"
    )
    dingtalk_endpoint: str = "https://oapi.dingtalk.com/robot/send"
    wecom_endpoint: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    feishu_endpoint: str = "https://open.feishu.cn/open-apis/bot/v2/hook"
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    portal_url: str | None = Field(default=None, description="the portal's public address; else portal.url")
    portal_as_of: str | None = Field(default=None, description="the portal acts as of this moment (replays, demos)")
    portal_secret: str | None = Field(default=None, description="signs portal sessions; else a key kept in the database")
    prefect_startup_seconds: int = Field(
        default=180, gt=0, description="start-up timeout of Prefect's temporary server (a bare `duban supervise`)")

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
