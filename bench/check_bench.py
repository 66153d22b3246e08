"""How the daily check scales: synthetic programs of 1,000, 10,000 and 100,000 tasks over 100 units.

For each size, on a fresh SQLite database: seconds for one daily check in-process and as a Prefect flow run,
the number of SQL statements, the peak memory of the check (tracemalloc), and the ratio to one raw SQL query
that selects the same due set. Run on demand: `make bench` (or `python -m bench.check_bench 1000 10000`).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from db import get_engine, import_program
from flows import Settings, Wiring, database, run_check
from flows import supervise_flow as supervise
from schedule import PhaseSpec, ProgramSpec, TaskSpec, TimeLimit, UnitSpec

ZONE = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2023, 5, 4)      # implementation open: the 交办 goes to every unit
MEASURED_DAY = date(2024, 3, 14)  # an ordinary Thursday: reminders, 催办, 督办, reports missing
UNITS = 100


def synthetic_program(size: int, seed: int = 7):
    rng = random.Random(seed)
    units = [UnitSpec("office", "领导小组办公室", notify=("json://127.0.0.1:9/office",))]
    units += [
        UnitSpec(f"u{n:03d}", f"第{n}责任单位", notify=(f"json://127.0.0.1:9/u{n}",)) for n in range(1, UNITS)
    ]
    codes = [u.code for u in units]
    start, span = date(2023, 5, 1), (date(2024, 6, 30) - date(2023, 5, 1)).days
    tasks = []
    for n in range(size):
        roll = rng.random()
        if roll < 0.02:
            limit = TimeLimit(recurrence="quarterly")
        elif roll < 0.05:
            limit = TimeLimit(recurrence="ongoing")
        else:
            limit = TimeLimit(due=start + timedelta(days=rng.randrange(span)))
        lead, *co = rng.sample(codes, 3)
        tasks.append(
            TaskSpec(
                code=f"T{n:06d}", title=f"工作举措 {n}", lead=(lead,), co=tuple(co[: rng.randint(0, 2)]),
                area=f"体系{n % 5 + 1}", limit=limit, phase="implementation")
        )
    phases = (PhaseSpec("implementation", "组织实施", start, date(2024, 6, 30)),
              PhaseSpec("self_check", "自查自评", date(2024, 6, 1), date(2024, 7, 31)))
    return ProgramSpec(id=f"bench-{size}", name=f"基准 {size}", coordinator="office", phases=phases,
                       units=tuple(units), tasks=tuple(tasks))


def prepare(size: int, folder: Path) -> tuple[str, float]:
    """Imports the program, sends the 交办, and marks 40% of what is due by the measured day as done."""
    spec = synthetic_program(size)
    wired = Wiring(Settings(home=folder, notifier="outbox"))
    started = time.perf_counter()
    with wired.transaction() as session:
        import_program(session, spec, datetime(2023, 4, 1, tzinfo=ZONE))
    imported = time.perf_counter() - started
    run_check(
        wired.sessions, spec.id, datetime(2023, 5, 4, 8, 30, tzinfo=ZONE), wired.notifier(outbox_only=True)
    )
    with get_engine(wired.settings.db_url).begin() as connection:
        connection.execute(text(
            "UPDATE task_instances SET status='done', progress=100, done_on=due "
            "WHERE program_id=:p AND due <= :d AND id % 5 < 2"), {"p": spec.id, "d": MEASURED_DAY})
        connection.execute(
            text(
                "UPDATE task_instances SET status='in_progress', progress=30 WHERE program_id=:p AND status"
                "='not_started' "
                "AND id % 7 = 0"
            ),
            {"p": spec.id},
        )
    return spec.id, imported


def count_statements(url: str):
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def measure(size: int, with_prefect: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"duban-bench-{size}-"))
    base = root / "base"
    program, imported = prepare(size, base)
    at = datetime.combine(MEASURED_DAY, datetime.min.time(), ZONE).replace(hour=8, minute=30)
    copies = {}
    for name in ("timed", "memory", "flow"):
        shutil.copytree(base, root / name, ignore=shutil.ignore_patterns("outbox.jsonl"))
        copies[name] = Wiring(Settings(home=root / name, notifier="outbox"))

    timed = copies["timed"]
    counter, stop = count_statements(timed.settings.db_url)
    started = time.perf_counter()
    result = run_check(timed.sessions, program, at, timed.notifier(outbox_only=True))
    seconds = time.perf_counter() - started
    stop()

    memory = copies["memory"]
    tracemalloc.start()
    run_check(memory.sessions, program, at, memory.notifier(outbox_only=True))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    raw = _raw_due_set_seconds(timed.settings.db_url, program)
    flow_seconds = _flow_seconds(copies["flow"], program, at) if with_prefect else None
    shutil.rmtree(root, ignore_errors=True)
    return {
        "tasks": size, "import_s": imported, "check_s": seconds, "flow_s": flow_seconds,
        "statements": counter["n"], "peak_mb": peak / 2**20, "raw_s": raw, "ratio": seconds / raw,
        "notices": sum(result.claimed.values()),
        "messages": result.dispatched.messages if result.dispatched else 0}


def _raw_due_set_seconds(url: str, program: str) -> float:
    """One query for the same due set: open instances due within 10 workdays ahead or already overdue."""
    sql = text("SELECT ti.id, ti.task_id, ti.due FROM task_instances ti JOIN tasks t ON t.id = ti.task_id "
               "WHERE ti.program_id = :p AND t.active AND ti.status != 'done' AND ti.due <= :horizon")
    with get_engine(url).connect() as connection:
        started = time.perf_counter()
        connection.execute(sql, {"p": program, "horizon": MEASURED_DAY + timedelta(days=20)}).fetchall()
        return time.perf_counter() - started


def _flow_seconds(wired, program: str, at: datetime) -> float:
    started = time.perf_counter()
    with database(wired.settings.db_url):
        supervise(program=program, as_of=at)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv if a.isdigit()] or [1_000, 10_000, 100_000]
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="duban-bench-prefect-"))
    from prefect.testing.utilities import prefect_test_harness

    rows = []
    with prefect_test_harness(server_startup_timeout=120):
        for size in sizes:
            rows.append(measure(size, with_prefect="--no-prefect" not in argv))
            row = rows[-1]
            print(
                f"{row['tasks']:>7} tasks: import {row['import_s']:.1f} s; check {row['check_s']:.3f} s in-"
                "process, "
                f"{row['flow_s'] or 0:.3f} s as a flow run; {row['statements']} SQL statements; "
                f"peak {row['peak_mb']:.0f} MiB; raw due-set query {row['raw_s'] * 1000:.1f} ms "
                f"(ratio {row['ratio']:.0f}x); {row['notices']} notices in {row['messages']} messages",
                flush=True,
            )
    print(
        "\n| tasks | check in-process (s) | as a flow run (s) | SQL statements | peak memory (MiB) | raw du"
        "e-set query (ms) | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['tasks']:,} | {row['check_s']:.2f} | {row['flow_s'] or 0:.2f} | {row['statements']} | "
              f"{row['peak_mb']:.0f} | {row['raw_s'] * 1000:.1f} | {row['ratio']:.0f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
