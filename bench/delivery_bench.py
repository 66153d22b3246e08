"""Delivery bench (on demand: `python -m bench.delivery_bench [N]`), against the loopback peers of the tests.

1. Throughput: N messages to a local DingTalk-like robot (signed, verified answers) and N emails (with the
   unit's .xlsx 报送表 attached) to a local aiosmtpd server, through AppriseNotifier with its SQLite ledger
   and limiter (limits lifted, so this measures duban's own cost per message), every 50th robot request
   answered HTTP 500.
2. Draining a day under the DingTalk limit: N messages to one robot (a coordinator's group robot that every
   unit's notices go to) and to one robot per unit (40 units), on a fake clock advanced by the notifier's own
   waits; the peer enforces 20 a minute itself, so an over-limit answer would show.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bench.peers import FakeClock, RobotPeer, SMTPPeer
from db import session_factory
from flows import Settings
from notifications import (
    XLSX_MIME,
    AppriseNotifier,
    Attachment,
    Message,
    Recipient,
    SecretResolver,
    unit_task_workbook,
)

TOKEN = "bench0robot0token0123456789abcdef"
SECRET = "SECbench0signing0secret0123456789abcdef"
ROWS = [
    {
        "code": str(i), "area": "知识产权保护体系", "title": f"第{i}项重点任务：完善快速协同保护机制",
        "lead": ["市市场监管局"], "co": ["市中级人民法院"], "due": "2024-06-30", "recurrence": None,
        "phase": "implementation", "status": "in_progress", "progress": 40, "light": "yellow"}
    for i in range(1, 13)
]


def database(home: Path, name: str) -> sessionmaker[Session]:
    return session_factory(f"sqlite:///{home / name}")


def settings_for(home: Path, robot: RobotPeer, timeout: float = 0.5) -> Settings:
    return Settings(home=home, http_timeout_seconds=timeout, **robot.settings_overrides())


def make_message(urls: list[str], *, message_id: str, attachments=()) -> Message:
    """One unit's due-soon digest of two tasks, as dispatch would compose it."""
    text = (
        "市市场监督管理局：\n1. 建立知识产权快速维权中心（2024-06-30，黄灯）\n"
        "2. 开展专项执法行动（2024-06-30，绿灯）"
    )
    return Message(
        message_id=message_id,
        program_id="chengdu-2023",
        at=datetime(2024, 3, 4, 0, 30, tzinfo=UTC),
        language="zh-CN",
        recipient=Recipient("chengdu-2023", "msa", "市市场监督管理局", "unit", tuple(urls)),
        kinds=("before_due",),
        task_codes=("1", "2"),
        subject="【督办提醒】市场监管局：2 项任务临近完成时限",
        text=text,
        markdown="### 到期提醒\n\n" + text,
        html="<h3>到期提醒</h3><p>" + text.replace("\n", "<br>") + "</p>",
        attachments=tuple(attachments),
    )


def throughput(n: int, home: Path) -> None:
    clock = FakeClock()
    sessions = database(home, "throughput.db")
    with RobotPeer() as robot, SMTPPeer() as smtp:
        robot.dingtalk_secrets[TOKEN] = SECRET
        robot.fail_every = 50
        notifier = AppriseNotifier(
            sessions, settings_for(home, robot, timeout=5), clock, limits={"dingtalk": (), "email": ()},
            retry_base_delay=0.001, resolver=SecretResolver(block_loader=None))
        with notifier:
            started = time.perf_counter()
            results = [
                notifier.send(make_message([f"dingtalk://{TOKEN}/{SECRET}"], message_id=f"r{i}"))
                for i in range(n)
            ]
            robot_seconds = time.perf_counter() - started
            attachment = Attachment("报送表.xlsx", unit_task_workbook("市市场监督管理局", ROWS), XLSX_MIME)
            started = time.perf_counter()
            mails = [
                notifier.send(
                    make_message(
                        [smtp.url("zhangsan@msa.gov.cn")], message_id=f"e{i}", attachments=[attachment]
                    )
                )
                for i in range(n)
            ]
            smtp_seconds = time.perf_counter() - started
        delivered = sum(r.state == "delivered" for r in results)
        attempts = sum(r.attempts for r in results)
        print(f"robot: {n} messages in {robot_seconds:.2f} s = {n / robot_seconds:.0f} messages/s; "
              f"{delivered} delivered, {attempts - n} retries (HTTP 500 on every 50th request), "
              f"{len(robot.of('dingtalk'))} posts received")
        print(f"email: {n} messages ({len(attachment.content)} B attachment) in {smtp_seconds:.2f} s = "
              f"{n / smtp_seconds:.0f} messages/s; {sum(m.state == 'delivered' for m in mails)} delivered, "
              f"{len(smtp.messages)} accepted by the SMTP peer")


def drain(n: int, robots: int, home: Path) -> None:
    clock = FakeClock()
    sessions = database(home, f"drain-{robots}.db")
    with RobotPeer(clock) as robot:
        notifier = AppriseNotifier(
            sessions, settings_for(home, robot), clock, sleep=clock.sleep, max_wait=timedelta(seconds=65),
            resolver=SecretResolver(block_loader=None),
        )
        start = clock()
        started = time.perf_counter()
        with notifier:
            results = [
                notifier.send(make_message([f"dingtalk://robot{i % robots:03d}-{TOKEN}"], message_id=f"d{i}"))
                for i in range(n)
            ]
        wall = time.perf_counter() - started
        elapsed = clock() - start
        over = robot.over_limit_answers
    per = n / robots
    print(f"drain: {n} messages to {robots} robot(s) ({per:.0f} each) under 20/min: "
          f"{elapsed.total_seconds() / 60:.1f} min of (fake) clock time, "
          f"{sum(r.state == 'delivered' for r in results)} delivered, {over} over-limit answers, "
          f"{wall:.2f} s of wall time")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        throughput(n, home)
        drain(n, 1, home)
        drain(n, 40, home)


if __name__ == "__main__":
    main()
