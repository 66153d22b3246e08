"""Test helpers around the loopback peers: databases (SQLite, or PostgreSQL with DUBAN_TEST_POSTGRES_URL),
settings pointing at a robot peer, messages, and a dump of every stored row.

The peers themselves (SMTPPeer, RobotPeer, FakeClock, …) live in bench/peers.py, which the bench shares.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import sessionmaker

from bench.peers import (
    MODES,
    FakeClock,
    Received,
    ReceivedMail,
    Reply,
    RobotPeer,
    SMTPPeer,
    dingtalk_expected_sign,
    free_port,
)
from db import get_engine
from flows import Settings
from notifications import AppriseNotifier, Message, Recipient, SecretResolver

__all__ = [
    "MODES",
    "FakeClock",
    "Received",
    "ReceivedMail",
    "Reply",
    "RobotPeer",
    "SMTPPeer",
    "database",
    "database_url",
    "dingtalk_expected_sign",
    "dump_database",
    "free_port",
    "make_message",
    "notifiers",
    "second_engine",
    "settings_for",
]

# ------------------------------------------------------------------------------------------------- helpers


_created: set[str] = set()


def database_url(tmp_path, name: str = "t.db") -> str:
    """SQLite under tmp_path; or, with DUBAN_TEST_POSTGRES_URL (e.g. postgresql+psycopg://duban@127.0.0.1/postgres)
    set, a fresh PostgreSQL database per (tmp_path, name), created once."""
    base = os.environ.get("DUBAN_TEST_POSTGRES_URL")
    if not base:
        return f"sqlite:///{tmp_path}/{name}"
    dbname = "duban_t_" + hashlib.sha1(f"{tmp_path}/{name}".encode()).hexdigest()[:16]
    if dbname not in _created:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
        admin.dispose()
        _created.add(dbname)
    return base.rsplit("/", 1)[0] + "/" + dbname


def database(tmp_path, name: str = "t.db"):
    """A fresh database with every migration applied, and its session factory."""
    return sessionmaker(get_engine(database_url(tmp_path, name)), expire_on_commit=False)


def second_engine(tmp_path, name: str = "t.db"):
    """Another engine (its own pool and connections) on the same database as `database(tmp_path, name)`."""
    url = database_url(tmp_path, name)
    if url.startswith("sqlite:///"):
        url = f"sqlite:///{tmp_path}/./{name}"  # get_engine caches one engine per URL: this URL differs
    else:
        url += ("&" if "?" in url else "?") + "application_name=second"
    return sessionmaker(get_engine(url), expire_on_commit=False)


def settings_for(tmp_path, robot: RobotPeer | None = None, timeout: float = 0.5):
    return Settings(
        home=tmp_path, http_timeout_seconds=timeout, **(robot.settings_overrides() if robot else {})
    )


@contextmanager
def notifiers(sessions, settings: Settings, clock: FakeClock, **defaults) -> Iterator:
    """A maker of AppriseNotifiers on the peers, with `defaults` that each call may override; every one
    it made is closed when the block ends."""
    made: list[AppriseNotifier] = []

    def notifier(**options) -> AppriseNotifier:
        made.append(AppriseNotifier(sessions, settings, clock, resolver=SecretResolver(block_loader=None),
                                    **{**defaults, **options}))
        return made[-1]

    try:
        yield notifier
    finally:
        for n in made:
            n.close()


def make_message(
    urls,
    *,
    message_id: str = "m-1",
    unit: str = "msa",
    program: str = "chengdu-2023",
    at: datetime | None = None,
    text: str | None = None,
    markdown: str | None = None,
    attachments=(),
    notice_ids=(),
    kinds=("before_due",),
    tasks=("1", "2"),
    audience="unit",
    language="zh-CN",
    subject="【督办提醒】市场监管局：2 项任务临近完成时限",
):

    text = (
        text
        if text is not None
        else "市市场监督管理局：\n1. 建立知识产权快速维权中心（2024-06-30，黄灯）\n2. 开展专项执法行动（202"
             "4-06-30，绿灯）"
    )
    return Message(
        message_id=message_id,
        program_id=program,
        at=at or datetime(2024, 3, 4, 0, 30, tzinfo=UTC),
        language=language,
        recipient=Recipient(program, unit, "市市场监督管理局（知识产权局）", audience, tuple(urls)),
        kinds=tuple(kinds),
        task_codes=tuple(tasks),
        subject=subject,
        text=text,
        markdown=markdown if markdown is not None else "### 到期提醒\n\n" + text,
        html="<h3>到期提醒</h3><p>" + text.replace("\n", "<br>") + "</p>",
        attachments=tuple(attachments),
        notice_ids=tuple(notice_ids),
    )


def dump_database(sessions) -> str:
    """Every row of every table, as text (for asserting that no secret is stored anywhere)."""

    engine = sessions.kw["bind"]
    out = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                out.append(f"{table}: {tuple(row)!r}")
    return "\n".join(out)
