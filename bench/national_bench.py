"""National scale: 100 programs of 300 tasks in one database, and one hostile day's checks of all of them,
run one after another and with a process pool.

`python -m bench.national_bench [PROGRAMS] [TASKS] [--workers N] [--database-url URL]` (default 100 × 300,
2 workers: the cores of this machine, SQLite in a temporary home). Each program is imported and sent its
交办 (the first day of implementation); then, on the measured day (2024-03-14), 60% of what has come due is
not done and a seventh of the open work stands at 30%: reminders, 催办 and 督办 for most units at once. The
sequential run and the pool run each start from a copy of the same prepared database: a copied file on
SQLite; on PostgreSQL (URL: any database of a server where its user may create databases) a database created
from the prepared one as its template, all three dropped at the end. Notices go to the outbox, so the
figures are duban's work, not a network's.

`synthetic_program` is also the 100,000-task table of bench/import_bench.py.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, make_url, text

from db import forget_engine, forget_engines, get_engine, import_program
from flows import Settings, Wiring, run_check
from schedule import PhaseSpec, ProgramSpec, TaskSpec, TimeLimit, UnitSpec

ZONE = ZoneInfo("Asia/Shanghai")
START, END = date(2023, 5, 1), date(2024, 6, 30)
FIRST_DAY = date(2023, 5, 4)  # implementation open: the 交办 goes to every unit
MEASURED_DAY = date(2024, 3, 14)  # a Thursday: reminders, 催办, 督办, reports missing
UNITS = 30  # responsible units of a city's program, besides its office


def synthetic_program(program_id: str, size: int, seed: int = 7, units: int = UNITS) -> ProgramSpec:
    """A program of `size` tasks over `units` units: 2% quarterly reports, 3% ongoing, the rest one due date
    spread over the implementation phase; each task led by one unit with up to two co units."""
    rng = random.Random(f"{seed}:{program_id}")
    unit_specs = [UnitSpec("office", "领导小组办公室", notify=(f"json://127.0.0.1:9/{program_id}/office",))]
    unit_specs += [UnitSpec(f"u{n:03d}", f"第{n}责任单位", notify=(f"json://127.0.0.1:9/{program_id}/u{n}",))
                   for n in range(1, units + 1)]
    codes = [u.code for u in unit_specs]
    span = (END - START).days
    tasks = []
    for n in range(size):
        roll = rng.random()
        recurrence = "quarterly" if roll < 0.02 else "ongoing" if roll < 0.05 else None
        due = None if recurrence else START + timedelta(days=rng.randrange(span))
        limit = TimeLimit(recurrence=recurrence, due=due)
        lead, *co = rng.sample(codes, 3)
        tasks.append(TaskSpec(code=f"T{n:06d}", title=f"工作举措 {n}", lead=(lead,),
                              co=tuple(co[: rng.randint(0, 2)]), area=f"体系{n % 5 + 1}", limit=limit,
                              phase="implementation"))
    phases = (PhaseSpec("implementation", "组织实施", START, END),
              PhaseSpec("self_check", "自查自评", date(2024, 6, 1), date(2024, 7, 31)))
    return ProgramSpec(id=program_id, name=f"示范区建设 {program_id}", coordinator="office", phases=phases,
                       units=tuple(unit_specs), tasks=tuple(tasks))


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, 30, tzinfo=ZONE)


def prepare(home: Path, url: str | None, programs: int, size: int, workers: int) -> list[str]:
    """Imports every program and sends its 交办 (in the pool too: it is not what is measured); then makes the
    measured day hostile."""
    wired = Wiring(Settings(home=home, notifier="outbox", database_url=url))
    get_engine(wired.settings.db_url)  # migrated once, before any worker forks
    ids = [f"city-{n:03d}" for n in range(programs)]
    forget_engines()
    with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=in_child) as pool:
        list(pool.map(assign, [str(home)] * len(ids), [url] * len(ids), ids, [size] * len(ids)))
    with get_engine(wired.settings.db_url).begin() as connection:
        connection.execute(text("UPDATE task_instances SET status='done', progress=100, done_on=due "
                                "WHERE due <= :d AND id % 5 < 2"), {"d": MEASURED_DAY})
        connection.execute(text("UPDATE task_instances SET status='in_progress', progress=30 "
                                "WHERE status='not_started' AND id % 7 = 0"))
    return ids


def assign(home: str, url: str | None, program: str, size: int) -> None:
    """One program imported and its 交办 sent, on the first day of implementation."""
    wired = Wiring(Settings(home=Path(home), notifier="outbox", database_url=url))
    with wired.transaction() as session:
        import_program(session, synthetic_program(program, size), datetime(2023, 4, 1, tzinfo=ZONE))
    run_check(wired.sessions, program, morning(FIRST_DAY), wired.notifier(outbox_only=True))


def check(home: str, url: str | None, program: str) -> tuple[int, int, float]:
    """One program's check of the measured day: (notices, messages, seconds)."""
    wired = Wiring(Settings(home=Path(home), notifier="outbox", database_url=url))
    started = time.perf_counter()
    result = run_check(wired.sessions, program, morning(MEASURED_DAY), wired.notifier(outbox_only=True))
    messages = result.dispatched.messages if result.dispatched else 0
    return sum(result.claimed.values()), messages, time.perf_counter() - started


def in_child() -> None:
    forget_engines()  # a forked worker opens its own connections


def run_all(home: Path, url: str | None, ids: list[str],
            workers: int) -> tuple[float, float, float, list[tuple[int, int, float]]]:
    """(wall seconds, CPU seconds of this process and its children, of the PostgreSQL server (0 on SQLite),
    per-program results)."""
    cpu_before, server_before, started = _cpu(), server_cpu(), time.perf_counter()
    if workers == 1:
        results = [check(str(home), url, program) for program in ids]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=in_child) as pool:
            results = list(pool.map(check, [str(home)] * len(ids), [url] * len(ids), ids))
    wall, server = time.perf_counter() - started, server_cpu() - server_before
    return wall, _cpu() - cpu_before, server if url else 0.0, results


class Databases:
    """The prepared database and its copies: files under the bench's folder (SQLite), or databases of the
    server at `server` (PostgreSQL), copied with CREATE DATABASE … TEMPLATE and dropped by `drop_all`."""

    def __init__(self, root: Path, server: str | None) -> None:
        self.root, self.server, self.made = root, server and make_url(server), []

    def url(self, name: str) -> str | None:
        if self.server is None:
            return None  # SQLite in the home `root / name`
        return self.server.set(database=f"duban_national_{name}").render_as_string(hide_password=False)

    def copy(self, base: str, name: str) -> None:
        if self.server is None:
            shutil.copytree(self.root / base, self.root / name, ignore=shutil.ignore_patterns("outbox.jsonl"))
        else:
            (self.root / name).mkdir()
            self._admin(f'CREATE DATABASE "duban_national_{name}" TEMPLATE "duban_national_{base}"')

    def create(self, name: str) -> None:
        (self.root / name).mkdir(parents=True)
        if self.server is not None:
            self._admin(f'CREATE DATABASE "duban_national_{name}"')

    def drop_all(self) -> None:
        for name in reversed(self.made):
            self._admin(f'DROP DATABASE IF EXISTS "duban_national_{name}"')

    def _admin(self, statement: str) -> None:
        for name in self.made:  # a template, or a database dropped, must have no other connection
            forget_engine(self.url(name))
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()
        if statement.startswith("CREATE"):
            self.made.append(statement.split('"')[1].removeprefix("duban_national_"))


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def server_cpu() -> float:
    """CPU seconds of every `postgres` process on this machine, ended backends included (they count in the
    postmaster's children): what a PostgreSQL run spends beside the bench's own processes."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if stat.read_text().partition("(")[2].startswith("postgres"):
                ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, ValueError):
            continue  # a process that ended while read
    return ticks / os.sysconf("SC_CLK_TCK")


def main(argv: list[str]) -> None:
    numbers = [int(a) for a in argv if a.isdigit()]
    programs, size = (numbers + [100, 300])[:2] if len(numbers) != 1 else (numbers[0], 300)
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 2
    server = argv[argv.index("--database-url") + 1] if "--database-url" in argv else None
    databases = Databases(Path(tempfile.mkdtemp(prefix="duban-national-")), server)
    try:
        begun = time.perf_counter()
        databases.create("base")
        ids = prepare(databases.root / "base", databases.url("base"), programs, size, workers)
        print(f"prepared {programs} programs × {size} tasks (import and 交办) in "
              f"{time.perf_counter() - begun:.0f} s", flush=True)
        rows = []
        for label, count in (("sequential", 1), (f"process pool of {workers}", workers)):
            name = label.replace(" ", "_")
            databases.copy("base", name)
            forget_engines()
            wall, cpu, server_spent, results = run_all(databases.root / name, databases.url(name), ids, count)
            rows.append((label, wall, cpu, server_spent, results))
            print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, {server_spent:.1f} s server CPU", flush=True)
    finally:
        if server is not None:
            databases.drop_all()
        shutil.rmtree(databases.root, ignore_errors=True)
    dialect = "PostgreSQL" if server else "SQLite"
    print(f"\n{programs} programs × {size} tasks, one hostile day ({MEASURED_DAY}), {dialect}:\n")
    print("| run | wall (s) | CPU (s) | server CPU (s) | slowest program (s) | median program (s) | notices "
          "| messages |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, wall, cpu, server_spent, results in rows:
        seconds = sorted(r[2] for r in results)
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {server_spent:.1f} | {seconds[-1]:.2f} | "
              f"{seconds[len(seconds) // 2]:.2f} | "
              f"{sum(r[0] for r in results):,} | {sum(r[1] for r in results):,} |")


if __name__ == "__main__":
    main(sys.argv[1:])
