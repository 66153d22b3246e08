"""The importer at scale: a 100,000-task 分工表 (bench.national_bench's generator, 100 units) imported into
a fresh database, then imported again changed (1% retitled, 1% re-dated, 0.5% dropped, 1,000 new), all or
nothing in one transaction each. Prints wall and CPU seconds and the SQL statements of each import.

`python -m bench.import_bench [TASKS] [--database-url URL]` (default 100,000 on SQLite in a temporary home; a
PostgreSQL URL must name an empty database). The table is built as a validated ProgramSpec: the plan-folder
reader itself refuses tables over 20,000 rows (schedule.MAX_ROWS), so what is measured is the import.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import event, func, select

from bench.national_bench import ZONE, synthetic_program
from db import Task, TaskInstance, get_engine, import_program
from flows import Settings, Wiring
from schedule import ProgramSpec, TimeLimit

PROGRAM = "national-import"


def changed(program: ProgramSpec, seed: int = 11) -> ProgramSpec:
    rng = random.Random(seed)
    tasks, size = [], len(program.tasks)
    for task in program.tasks:
        roll = rng.random()
        if roll < 0.005:
            continue  # dropped from the table: kept inactive with its history, and listed
        if roll < 0.015:
            task = replace(task, title=task.title + "（修订）")
        elif roll < 0.025 and task.limit and task.limit.due:
            task = replace(task, limit=TimeLimit(due=date(2024, 5, 31)))
        tasks.append(task)
    extra = synthetic_program(PROGRAM, 1_000, seed=99, units=len(program.units) - 1).tasks
    tasks += [replace(task, code=f"N{n:06d}") for n, task in enumerate(extra)]
    assert len(tasks) > size * 0.99
    return replace(program, tasks=tuple(tasks))


def timed_import(wired: Wiring, program: ProgramSpec) -> dict:
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    engine = get_engine(wired.settings.db_url)
    event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        with wired.transaction() as session:
            result = import_program(session, program, datetime(2024, 3, 1, 9, tzinfo=ZONE), actor="bench")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "statements": len(statements),
            "added": len(result.tasks_added), "updated": len(result.tasks_updated),
            "removed": len(result.tasks_removed), "retired": len(result.instances_retired),
            "instances": result.instances}


def main(argv: list[str]) -> None:
    size = next((int(a) for a in argv if a.isdigit()), 100_000)
    url = argv[argv.index("--database-url") + 1] if "--database-url" in argv else None
    with tempfile.TemporaryDirectory(prefix="duban-import-bench-") as folder:
        wired = Wiring(Settings(home=Path(folder), database_url=url))
        get_engine(wired.settings.db_url)  # migrated before the clock starts
        started = time.perf_counter()
        program = synthetic_program(PROGRAM, size, units=100)
        again = changed(program)
        print(f"generated {size:,} tasks (and the changed table) in {time.perf_counter() - started:.1f} s",
              flush=True)
        rows = [("first import", timed_import(wired, program)),
                ("re-import, changed", timed_import(wired, again))]
        with wired.transaction() as session:
            active = session.scalar(select(func.count()).select_from(Task).where(Task.active))
            instances = session.scalar(select(func.count()).select_from(TaskInstance))
    dialect = (url or "sqlite").split(":")[0].split("+")[0]
    print(f"\n{size:,} tasks over 100 units on {dialect}; afterwards {active:,} active tasks, {instances:,} "
          "instances\n")
    print("| import | wall (s) | CPU (s) | SQL statements | added | updated | removed | instances retired |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, row in rows:
        print(f"| {label} | {row['wall']:.1f} | {row['cpu']:.1f} | {row['statements']} | {row['added']:,} | "
              f"{row['updated']:,} | {row['removed']:,} | {row['retired']:,} |")


if __name__ == "__main__":
    main(sys.argv[1:])
