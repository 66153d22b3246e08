"""The status summary and the bulletin's red list count exactly what the task list shows, read apart from it
(db.tasks.program_lights): every light, every unit as lead and as co, the red tasks with their leads."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest
from sqlalchemy import select

from db import Task, TaskInstance, program_lights, record_report, status_summary, task_rows
from tests.support.factories import TASKS
from tests.support.programs import at, ctx_of, make_db

DAYS = [date(2023, 3, 15), date(2023, 6, 20), date(2023, 7, 20), date(2024, 1, 10), date(2024, 3, 20),
        date(2025, 6, 1)]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """The factory plan with every kind of current instance: done, a quarter done and the next one open, an
    ongoing task reported on and one never reported on, a collective's task behind its expected progress, a
    retired task, and an instance retired."""
    never_reported = ["B3", "快速保护", "持续开展宣传", "市司法局", "", "长期坚持", "宣传台账", ""]
    sessions, _ = make_db(tmp_path_factory.mktemp("status"), tasks=[*TASKS, never_reported])
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "D1", "office", "done", None, None, [], at(date(2023, 4, 20)))
        record_report(session, ctx, "B1", "police", "in_progress", 30, None, [], at(date(2023, 5, 10)))
        record_report(session, ctx, "B2", "police", "done", None, None, [], at(date(2023, 6, 28)))
        record_report(session, ctx, "C1", "court", "in_progress", 10, None, [], at(date(2023, 9, 1)))
        record_report(session, ctx, "A1", "msa", "in_progress", 60, None, [], at(date(2023, 6, 1)))
        retired = session.scalar(select(Task).where(Task.program_id == ctx.id, Task.code == "A2"))
        retired.active = False
        for instance in session.scalars(select(TaskInstance).join(Task).where(Task.code == "B2")):
            if instance.seq == 1:  # the quarter after the one done: the next one is current
                instance.retired_on = date(2023, 6, 1)
    return sessions


def tally_of_the_task_list(rows: list[dict]) -> tuple[Counter, dict[str, Counter]]:
    lights, units = Counter(), defaultdict(Counter)
    for row in rows:
        lights[row["light"]] += 1
        for code in row["lead"]:
            units[code][row["light"]] += 1
            units[code]["lead"] += 1
        for code in row["co"]:
            units[code]["co"] += 1
    return lights, units


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_the_lights_tally_is_the_task_lists(sessions, today):
    with sessions.begin() as session:  # read apart from the task list
        ctx = ctx_of(session)
        tally = program_lights(session, ctx, today)
        summary = status_summary(session, ctx, today)
    with sessions.begin() as session:  # counted from the task list the transaction holds
        rows = task_rows(session, ctx_of(session), today)
        from_rows = program_lights(session, ctx_of(session), today)
    lights, units = tally_of_the_task_list(rows)
    assert "A2" not in {r["code"] for r in rows} and len(rows) == 6
    red = [{key: r[key] for key in ("code", "title", "lead", "due", "progress")}
           for r in rows if r["light"] == "red"]
    for counted in (tally, from_rows):
        assert counted.tasks == len(rows) and counted.lights == lights and counted.units == units
        assert sorted(counted.red, key=lambda r: r["code"]) == red
    assert summary["tasks"] == len(rows) and summary["lights"] == {k: lights[k] for k in summary["lights"]}
    assert {u["unit"]: (u["lead"], u["co"], u["red"], u["yellow"], u["green"], u["done"], u["none"])
            for u in summary["units"]} == {
        code: tuple(counts[k] for k in ("lead", "co", "red", "yellow", "green", "done", "none"))
        for code, counts in units.items()}


def test_the_tally_is_kept_until_the_transaction_writes(sessions):
    today = date(2024, 3, 20)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        before = program_lights(session, ctx, today)
        assert program_lights(session, ctx, today) is before
        record_report(session, ctx, "B1", "police", "done", None, None, [], at(today))
        after = program_lights(session, ctx, today)
        session.rollback()
    assert after.lights["done"] == before.lights["done"] + 1


def test_the_days_cover_every_light(sessions):
    """The days above are worth comparing on: between them every light shows, red ones with a lead."""
    seen = Counter()
    with sessions.begin() as session:
        ctx = ctx_of(session)
        for today in DAYS:
            seen.update(program_lights(session, ctx, today).lights)
    assert set(seen) == {"red", "yellow", "green", "done", "none"}
