"""The importer is set-based: the number of statements of an import, first or again, does not grow with the
tasks, and a re-import still updates by code, keeps progress, retires rather than deletes, and lists what the
table dropped; on SQLite and on PostgreSQL (a throwaway cluster, skipped where the machine has none).
Statements are counted, not timed (the figures are bench/import_bench.py's)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from db import ProgressReport, Task, TaskInstance, TaskUnit, import_program, load_program, record_report
from flows import Settings, Wiring
from schedule import PhaseSpec, ProgramSpec, TaskSpec, TimeLimit, UnitSpec
from tests.support.postgres import cluster_or_skip

ZONE = ZoneInfo("Asia/Shanghai")
IMPORTED = datetime(2023, 4, 1, 9, 0, tzinfo=ZONE)


def spec(size: int) -> ProgramSpec:
    units = (UnitSpec("office", "领导小组办公室"), *(UnitSpec(f"u{n}", f"第{n}单位") for n in range(1, 6)))
    tasks = tuple(
        TaskSpec(code=f"T{n:04d}", title=f"工作举措 {n}", lead=(f"u{n % 5 + 1}",),
                 co=(f"u{(n + 1) % 5 + 1}",),
                 limit=TimeLimit(recurrence="quarterly") if n % 10 == 0
                 else TimeLimit(due=date(2023, 6, 1 + n % 28)))
        for n in range(size)
    )
    return ProgramSpec(id="bulk", name="批量导入", coordinator="office", units=units, tasks=tasks,
                       phases=(PhaseSpec("implementation", "组织实施", date(2023, 5, 1), date(2024, 6, 30)),))


def changed(program: ProgramSpec) -> ProgramSpec:
    """A new 分工表: the first task (quarterly) retitled and given one date, the second re-dated, the third's
    co unit changed, the last two dropped and one new."""
    first, second, third, *rest = program.tasks
    tasks = (replace(first, title="工作举措（修订）", limit=TimeLimit(due=date(2023, 8, 31))),
             replace(second, limit=TimeLimit(due=date(2023, 9, 29))), replace(third, co=("u1",)), *rest[:-2],
             replace(first, code="NEW1", title="新增举措"))
    return replace(program, tasks=tasks)


def statements_of(wired: Wiring, program: ProgramSpec) -> int:
    counted = []

    def count(*_args) -> None:
        counted.append(1)

    engine = wired.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with wired.transaction() as session:
            import_program(session, program, IMPORTED)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted)


@pytest.fixture(scope="module")
def cluster():
    with cluster_or_skip() as running:
        yield running, count()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """A function giving a fresh database of the parameter's kind, as a Wiring."""
    if request.param == "sqlite":
        return lambda name: Wiring(Settings(home=tmp_path / name))
    running, serial = request.getfixturevalue("cluster")

    def database(name: str) -> Wiring:
        created = f"import_{next(serial)}"
        running.create_database(created)
        return Wiring(Settings(home=tmp_path / name, database_url=running.url(created)))

    return database


@pytest.mark.parametrize("kind", ["first import", "re-import"])
def test_an_import_takes_as_many_statements_for_500_tasks_as_for_20(fresh, kind):
    counts = []
    for size in (20, 500):
        wired = fresh(str(size))
        if kind == "re-import":
            statements_of(wired, spec(size))
        counts.append(statements_of(wired, changed(spec(size)) if kind == "re-import" else spec(size)))
    assert counts[0] == counts[1] and counts[0] < 40


def test_a_reimport_updates_by_code_keeps_progress_and_retires_what_the_table_dropped(fresh):
    wired, program = fresh("reimport"), spec(30)
    statements_of(wired, program)
    with wired.transaction() as session:
        quarters = session.scalar(select(func.count()).select_from(TaskInstance).join(Task)
                                  .where(Task.code == "T0000"))
        record_report(session, load_program(session, "bulk"), "T0001", "u2", "in_progress", 40, "进展", [],
                      datetime(2023, 5, 10, 9, 0, tzinfo=ZONE))
    with wired.transaction() as session:
        result = import_program(session, changed(program), IMPORTED)
    assert result.tasks_added == ["NEW1"]
    # The task rows: T0000 lost its recurrence; a date and a co unit live on instances and assignments.
    assert result.tasks_updated == ["T0000"]
    assert result.tasks_removed == ["T0028", "T0029"]
    # The quarterly task now has one date: its first quarter is re-dated, the others retired (not deleted).
    assert quarters > 1 and len(result.instances_retired) == quarters - 1
    assert all(line.startswith("T0000 #") for line in result.instances_retired)
    with wired.transaction() as session:
        tasks = {t.code: t for t in session.scalars(select(Task).where(Task.program_id == "bulk"))}
        assert tasks["T0000"].title == "工作举措（修订）"
        assert not tasks["T0029"].active and tasks["NEW1"].active
        first = session.scalars(select(TaskInstance).where(TaskInstance.task_id == tasks["T0000"].id)).all()
        assert len(first) == quarters and sum(i.retired_on is None for i in first) == 1
        (second,) = session.scalars(select(TaskInstance).where(TaskInstance.task_id == tasks["T0001"].id))
        assert (second.due, second.original_due, second.progress) == (date(2023, 9, 29),) * 2 + (40,)
        assert session.scalar(select(func.count()).select_from(ProgressReport)) == 1
        co = session.scalars(select(TaskUnit.unit_id).where(TaskUnit.task_id == tasks["T0002"].id,
                                                            TaskUnit.role == "co")).all()
        assert len(co) == 1
