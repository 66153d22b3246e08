"""The exactly-once fault campaign: real daily checks in subprocesses, killed, overlapped and delayed, against
a loopback robot that can hang, fail, rate-limit and reject. Ground truth is the robot's own log.

    python -m bench.fault_campaign [--kills N] [--overlaps N] [--postgres]   # the campaign at scale, counts

Each check is `flows.check.run_check` with `DUBAN_NOTIFIER=apprise` in its own forked process, its clock
anchored at the check's as_of. A kill is real: `DUBAN_CRASH_AT=point[:n]` makes the process SIGKILL itself at
the n-th pass through that step of dispatch (notifications/crashpoints.py). The audit then reads the robot's
log:
- duplicates: a notice item that one robot took twice (0 is the only acceptable count);
- lost: a (notice, channel) neither taken by the robot nor shown as failed or unknown in `deliveries
--failed`.
`tests/notifications/test_fault_campaign.py` runs the same scenarios at a small scale in `make test`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bench.peers import MODES, Reply, RobotPeer
from db import Delivery, Event, Notice, NoticeChannel, Task, Unit, forget_engines, import_program
from flows import Wiring, load_settings, run_check
from notifications import AppriseNotifier, crashpoints, inflight, ledger
from schedule import WorkCalendar, read_plan
from schedule import text as catalogue_text

ZONE = ZoneInfo("Asia/Shanghai")
PROGRAM = "fault-city"
START = date(2024, 3, 4)  # a Monday
HTTP_TIMEOUT = 1.0

# Six robots: the coordinator's, a unit with two (so one can be down while the other works), three more units.
UNITS = [
    {"id": "office", "name": "市领导小组办公室", "notify": ["dingtalk://office0robot/"]},
    {"id": "msa", "name": "市市场监管局", "notify": ["dingtalk://msa0robot0a/", "dingtalk://msa0robot0b/"]},
    {"id": "court", "name": "市中级人民法院", "notify": ["dingtalk://court0robot/"]},
    {"id": "police", "name": "市公安局", "notify": ["dingtalk://police0robot/"]},
    {"id": "justice", "name": "市司法局", "notify": ["dingtalk://justice0robot/"]},
]
HEADER = ["序号", "重点任务", "工作举措", "牵头单位", "配合单位", "完成时限", "成果形式", "阶段"]
TASKS = [
    ["A1", "协同", "建立联动机制", "市市场监管局", "市中级人民法院", "2024年3月8日", "协议", ""],
    ["A2", "协同", "深化跨区域协作", "市市场监管局", "", "2024年3月15日", "纪要", ""],
    ["A3", "协同", "建立快速维权中心", "市中级人民法院", "市公安局", "2024年3月20日", "文件", ""],
    ["B1", "执法", "开展专项执法行动", "市公安局", "市市场监管局", "2024年3月12日", "统计表", ""],
    ["B2", "执法", "建立线索移送机制", "市公安局", "市司法局", "2024年3月29日", "制度", ""],
    ["C1", "服务", "完善纠纷调解机制", "市司法局", "", "2024年3月18日", "台账", ""],
    ["C2", "服务", "开展普法宣传", "市司法局", "市中级人民法院", "2024年4月10日", "台账", ""],
    ["D1", "统筹", "编制年度工作要点", "市领导小组办公室", "", "2024年3月14日", "文件", ""],
]
# One more task due on every day from March 5 to April 13: every check of the campaign has reminders to send,
# and no digest section lists more than MAX_ITEMS_PER_SECTION (50) items (a robot message only counts the
# overflow, so the audit could not name them).
LEADS = ["市市场监管局", "市中级人民法院", "市公安局", "市司法局"]
TASKS += [[f"E{n:02d}", "日常", f"第{n}项日常举措", LEADS[n % 4], "", f"{due:%Y年%-m月%-d日}", "台账", ""]
          for n, due in enumerate(date(2024, 3, 5) + timedelta(days=k) for k in range(40))]


def token_of(url: str) -> str:
    return url.removeprefix("dingtalk://").strip("/")


def write_plan(directory: Path, units: list[dict]) -> Path:
    from openpyxl import Workbook

    directory.mkdir(parents=True, exist_ok=True)
    program = {"id": PROGRAM, "name": "故障演练示范区", "timezone": "Asia/Shanghai", "coordinator": "office",
               "tasks": "tasks.xlsx", "units": "units.yaml", "reminders": {"bulletin": "off"},
               "phases": [{"kind": "implementation", "start": "2024-03-01", "end": "2024-12-31"}]}
    (directory / "program.yaml").write_text(
        yaml.safe_dump(program, allow_unicode=True, sort_keys=False), "utf-8"
    )
    (directory / "units.yaml").write_text(yaml.safe_dump(units, allow_unicode=True, sort_keys=False), "utf-8")
    workbook = Workbook()
    workbook.active.append(HEADER)
    for row in TASKS:
        workbook.active.append(row)
    workbook.save(directory / "tasks.xlsx")
    return directory


def morning(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def workday(day: date) -> date:

    calendar = WorkCalendar()
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


# ------------------------------------------------------------------------------------------------- the worker


def worker(database_url: str, program: str, as_of: str) -> None:
    """One daily check, as `duban supervise` runs it minus Prefect, with a clock anchored at as_of; settings
    (notifier, robot endpoint, timeout, crash point) from the environment."""

    at = datetime.fromisoformat(as_of)
    started = time.monotonic()

    def clock() -> datetime:
        return at.astimezone(UTC) + timedelta(seconds=time.monotonic() - started)

    settings = load_settings(database_url=database_url)
    wired = Wiring(settings)
    with AppriseNotifier(wired.sessions, settings, clock=clock, retry_attempts=2, retry_base_delay=0.05,
                         max_wait=timedelta(0)) as notifier:
        run_check(wired.sessions, program, at, notifier)


# ------------------------------------------------------------------------------------------------- the
# campaign


@dataclass
class Tally:
    runs: int = 0
    kills: int = 0  # runs that died by SIGKILL at their crash point
    kills_by_point: Counter = field(default_factory=Counter)
    overlaps: int = 0  # rounds of 2 or 4 checks at once
    downtimes: int = 0
    failed_runs: int = 0  # runs that ended with an error (not a kill): their stderr is kept

    def add(self, other: Tally) -> None:
        for name in ("runs", "kills", "overlaps", "downtimes", "failed_runs"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.kills_by_point += other.kills_by_point


@dataclass
class Audit:
    received: int = 0  # (notice, channel) items the robots took
    duplicates: int = 0  # items a robot took more than once
    beside: int = (
        0  # a task listed twice under one rule in one message: a stale notice sent beside the current
    )
    shown_failed: int = 0
    shown_unknown: int = 0
    pending: int = 0  # still owed after the healing checks (rate limits): not lost, not yet sent
    lost: list = field(default_factory=list)  # neither taken nor shown: silent loss
    superseded: int = 0
    notices: int = 0
    phase_events: Counter = field(default_factory=Counter)  # (kind, subject) → count

    @property
    def ok(self) -> bool:
        return (self.duplicates == 0 and self.beside == 0 and not self.lost
                and all(n == 1 for n in self.phase_events.values()))


class Campaign:
    def __init__(
        self, root: Path, robot: RobotPeer, database_url: str | None = None, units: list[dict] = UNITS
    ):

        self.root = root
        self.robot = robot
        self.home = root / "home"
        self.database_url = database_url or f"sqlite:///{self.home / 'duban.db'}"
        self.tally = Tally()
        self.errors: list[str] = []
        reading = read_plan(write_plan(root / "plan", units))
        assert reading.ok, [str(p) for p in reading.problems]
        self.wired = Wiring(load_settings(home=self.home, database_url=self.database_url))
        with self.wired.transaction() as session:
            import_program(session, reading.program, morning(START) - timedelta(days=3))

    # ---------------------------------------------------------------------------------------------- runs

    def _environment(self, crash: str | None, delay: float | None) -> dict:
        environment = {"DUBAN_HOME": str(self.home), "DUBAN_NOTIFIER": "apprise",
                       "DUBAN_DINGTALK_ENDPOINT": f"{self.robot.url}/robot/send",
                       "DUBAN_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT)}
        if crash:
            environment["DUBAN_CRASH_AT"] = crash
        if delay is not None:
            environment["DUBAN_CRASH_DELAY"] = str(delay)
        return environment

    def start(self, at: datetime, crash: str | None = None, delay: float | None = None) -> int:
        """A check in a forked child process (the imports are paid once, in the parent); returns its pid."""
        self.tally.runs += 1
        environment = self._environment(crash, delay)
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:

            forget_engines()  # the child opens its own connections
            for name in [k for k in os.environ if k.startswith("DUBAN_")]:
                del os.environ[name]
            os.environ.update(environment)
            worker(self.database_url, PROGRAM, at.isoformat())
            code = 0
        except BaseException:  # noqa: BLE001 - reported by the parent
            (self.root / f"error-{os.getpid()}.txt").write_text(traceback.format_exc(), "utf-8")
        finally:
            os._exit(code)

    def finish(self, pid: int, crash: str | None = None) -> int:
        _pid, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            if os.WTERMSIG(status) == signal.SIGKILL and crash:
                self.tally.kills += 1
                self.tally.kills_by_point[crash.partition(":")[0]] += 1
                return -signal.SIGKILL
            self.tally.failed_runs += 1
            return -os.WTERMSIG(status)
        code = os.WEXITSTATUS(status)
        if code != 0:
            self.tally.failed_runs += 1
            error = self.root / f"error-{pid}.txt"
            self.errors.append(error.read_text("utf-8")[-3000:] if error.exists() else f"exit {code}")
        return code

    def check(self, at: datetime, crash: str | None = None, delay: float | None = None) -> int:
        return self.finish(self.start(at, crash, delay), crash)

    # ---------------------------------------------------------------------------------------------- scenarios

    def kill(self, at: datetime, point: str, nth: int = 1) -> bool:
        """A check killed at `point` (its n-th pass), then the re-run that finds what it left."""
        mid_post = point == "mid_post"
        if mid_post:
            self.robot.modes["*"] = Reply.slow(0.6)  # the kill lands while the robot answers
        try:
            code = self.check(at, f"{point}:{nth}", delay=0.2 if mid_post else None)
        finally:
            self.robot.modes.pop("*", None)
        self.check(at + timedelta(minutes=1))
        return code == -signal.SIGKILL

    def overlap(self, at: datetime, ways: int) -> None:
        """`ways` checks of the same moment at once (a re-run started while the scheduled one still runs)."""
        self.robot.modes["*"] = Reply.slow(0.05)  # a slower robot widens the race
        try:
            for pid in [self.start(at) for _ in range(ways)]:
                self.finish(pid)
        finally:
            self.robot.modes.pop("*", None)
        self.tally.overlaps += 1

    def downtime(self, day: date, days: int) -> date:
        """Notices claimed outside the window, then `days` without a check, then a check while robots
        misbehave: one unit's second robot hangs, one robot fails, one rate-limits, one rejects (for good)."""
        self.check(morning(day, 7, 0))  # outside the sending window: claimed, queued
        after = workday(day + timedelta(days=days))
        self.robot.modes.update({"msa0robot0b": MODES["hang"], "court0robot": MODES["fail"],
                                 "police0robot": MODES["rate_limit"], "justice0robot": MODES["reject"]})
        self.check(morning(after))
        self.check(morning(workday(after + timedelta(days=1))))  # a day later: the failing robot is given up
        for token in ("msa0robot0b", "court0robot", "police0robot"):
            self.robot.modes.pop(token, None)
        self.tally.downtimes += 1
        return workday(after + timedelta(days=1))

    def heal(self, day: date, rounds: int = 4) -> None:
        """Checks with the robots healthy again (the rejecting one stays broken) until nothing is owed."""
        self.robot.modes = {k: v for k, v in self.robot.modes.items() if v is MODES["reject"]}
        for n in range(rounds):
            self.check(morning(day, 9 + n * 2, 0))
            if not self._owed():
                return

    def _owed(self) -> int:
        from sqlalchemy import func, select


        with self.wired.transaction() as session:
            return session.scalar(select(func.count()).select_from(Notice).where(
                Notice.program_id == PROGRAM, Notice.state.in_(("queued", "sending"))))

    # ---------------------------------------------------------------------------------------------- audit

    def audit(self) -> Audit:
        """From the robot's log: duplicates per (notice, channel), and every notice taken or shown."""
        audit = Audit()
        taken = self._taken(audit)
        with self.wired.transaction() as session:
            self._account(session, audit, taken)
        return audit

    def _taken(self, audit: Audit) -> Counter:
        """Each item the robot took, per token, counted; items repeated in one digest go to `audit.beside`."""
        taken = Counter()
        with self.robot.lock:
            log = list(self.robot.received)
        for record in log:
            if (
                record.status != 200
                or not isinstance(record.answer, dict)
                or record.answer.get("errcode") != 0
            ):
                continue  # refused: the robot did not take it
            text = ((record.body or {}).get("markdown") or {}).get("text", "")
            items = parse_items(text)
            taken.update((record.token, *item) for item in items)
            heads = Counter(item[:3] for item in items if item[2].startswith("**"))
            audit.beside += sum(count - 1 for count in heads.values())
        audit.received = len(taken)
        audit.duplicates = sum(count - 1 for count in taken.values() if count > 1)
        return taken

    def _account(self, session, audit: Audit, taken: Counter) -> None:
        """Every notice on every channel: taken by the robot, shown to the coordinator as failed or unknown,
        still pending, or lost."""
        from sqlalchemy import select

        from notifications.dispatch import _note, _title  # the digest's own wording of an item

        units = {u.id: u for u in session.scalars(select(Unit).where(Unit.program_id == PROGRAM))}
        names = {u.id: u.name for u in units.values()}
        titles = dict(
            session.execute(select(Task.code, Task.title).where(Task.program_id == PROGRAM)).all()
        )
        rows = {(r.notice_id, r.route): r for r in session.scalars(
            select(NoticeChannel).where(NoticeChannel.program_id == PROGRAM))}
        shown = {(d.message_id, d.route) for d in session.scalars(
            select(Delivery).where(Delivery.program_id == PROGRAM, Delivery.state.in_(ledger.DOUBTFUL)))}
        for event in session.scalars(select(Event).where(Event.program_id == PROGRAM,
                                                         Event.kind.like("phase.%"))):
            audit.phase_events[(event.kind, event.subject)] += 1
        for notice in session.scalars(select(Notice).where(Notice.program_id == PROGRAM)):
            audit.notices += 1
            if notice.state == "superseded":
                audit.superseded += 1
                continue
            unit = units[notice.unit_id]
            urls = (unit.leader_notify or unit.notify) if notice.audience == "leader" else unit.notify
            data = notice.data or {}
            head = f"**{notice.task_code}** {titles.get(notice.task_code, '')}" if notice.task_code \
                else _title(notice, data, "zh-CN")
            item = (notice.audience == "leader", catalogue_text("zh-CN", f"section.{notice.kind}"), head,
                    _note(notice, data, names, "zh-CN") or "")
            for url in urls:
                row = rows.get((notice.id, inflight.route_of(url)))
                if (token_of(url), *item) in taken:
                    continue
                if (
                    row is not None
                    and row.state in ledger.DOUBTFUL
                    and (row.message_id, row.route) in shown
                ):
                    if row.state == "failed":
                        audit.shown_failed += 1
                    else:
                        audit.shown_unknown += 1
                elif notice.state == "queued" and (row is None or row.state in ("deferred", "retry")):
                    audit.pending += 1
                else:
                    audit.lost.append(
                        (notice.key, token_of(url), notice.state, row.state if row else None)
                    )


SECTION = re.compile(r"^### (.+?)(?:（\d+ 项）)?$")
LIGHT = re.compile(r"^【.+】$")


def parse_items(markdown: str) -> list[tuple[bool, str, str, str]]:
    """The items of a digest as a robot shows them: (to the leader?, section, head, note), light left out (it
    is the light of the day the message was rendered)."""
    items = []
    section = None
    leader = "负责同志：" in markdown
    for line in markdown.splitlines():
        match = SECTION.match(line)
        if match:
            section = match.group(1)
            continue
        if section is None or not line.startswith("- ") or line.startswith("- ……"):
            continue
        parts = [p for p in line[2:].split("　") if not LIGHT.match(p) and not p.startswith("时限 ")]
        items.append((leader, section, parts[0], "　".join(parts[1:])))
    return items


# ------------------------------------------------------------------------------------------------- plans


def run_scenarios(campaign: Campaign, *, kills: list[tuple[str, int]], overlaps: list[int],
                  downtimes: list[int], day: date = START) -> date:
    """The scenarios in sequence on one database, a working day each; returns the next free day."""
    day = workday(day)
    campaign.check(morning(day))  # the phase opens, the first reminders go
    for point, nth in kills:
        day = workday(day + timedelta(days=1))
        campaign.kill(morning(day), point, nth)
    for ways in overlaps:
        day = workday(day + timedelta(days=1))
        campaign.overlap(morning(day), ways)
    for days in downtimes:
        day = campaign.downtime(workday(day + timedelta(days=1)), days)
    day = workday(day + timedelta(days=2))
    campaign.heal(day)
    return day


def scale_plan(kills: int, overlaps: int, seed: int) -> tuple[list[tuple[str, int]], list[int]]:
    rng = random.Random(seed)
    kill_plan = [(crashpoints.POINTS[n % len(crashpoints.POINTS)], rng.randint(1, 3)) for n in range(kills)]
    overlap_plan = [rng.choice((2, 4)) for _ in range(overlaps)]
    return kill_plan, overlap_plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--overlaps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)  # which step and which pass each kill lands on
    parser.add_argument(
        "--database-url", help="e.g. a PostgreSQL database (default: SQLite in a temporary home)"
    )
    args = parser.parse_args(argv)
    kill_plan, overlap_plan = scale_plan(args.kills, args.overlaps, args.seed)
    total, audits = Tally(), []
    started = time.monotonic()
    # Batches of at most 25 kills and 25 overlaps on a fresh database each, so the days stay inside the plan;
    # each batch's counts are printed as it ends, the totals at the end.
    for batch in range(0, max(len(kill_plan), len(overlap_plan)), 25):
        with tempfile.TemporaryDirectory(prefix="duban-faults-") as tmp, RobotPeer() as robot:
            url = args.database_url and fresh_database(args.database_url, batch)
            campaign = Campaign(Path(tmp), robot, url)
            run_scenarios(
                campaign,
                kills=kill_plan[batch : batch + 25],
                overlaps=overlap_plan[batch : batch + 25],
                downtimes=[1, 3, 10, 30] if batch == 0 else [],
            )
            audits.append(campaign.audit())
            total.add(campaign.tally)
            for error in campaign.errors[:3]:
                print(error, file=sys.stderr)
            print(
                f"batch {batch // 25 + 1}: "
                + report(campaign.tally, [audits[-1]], time.monotonic() - started),
                flush=True,
            )
    print("total: " + report(total, audits, time.monotonic() - started), flush=True)
    return 0 if all(a.ok for a in audits) and total.failed_runs == 0 else 1


def report(tally: Tally, audits: list[Audit], elapsed: float) -> str:
    def count(name: str) -> int:
        return sum(getattr(a, name) for a in audits)

    return (
        f"runs {tally.runs}, kills {tally.kills} ({dict(sorted(tally.kills_by_point.items()))}), "
        f"overlap rounds {tally.overlaps}, downtime rounds {tally.downtimes}, "
        f"errored runs {tally.failed_runs}; "
        f"items taken by robots {count('received')}, duplicates {count('duplicates')}, "
        f"stale beside current {count('beside')}, shown failed {count('shown_failed')}, "
        f"shown unknown {count('shown_unknown')}, still owed {count('pending')}, "
        f"lost {sum(len(a.lost) for a in audits)}, superseded {count('superseded')} of {count('notices')} "
        f"notices, phase events twice {sum(1 for a in audits for n in a.phase_events.values() if n > 1)}; "
        f"{elapsed:.0f} s"
    )


def fresh_database(base_url: str, suffix: str | int) -> str:
    """A new database on the PostgreSQL server of `base_url` (for one batch, or one test)."""
    from sqlalchemy import create_engine, make_url

    name = f"duban_faults_{os.getpid()}_{suffix}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())
