"""The same code on PostgreSQL: migrations, import, the check's exactly-once claims under concurrency.

A throwaway cluster (tests/support/postgres.py) is started on a free loopback port. Where the machine has no
PostgreSQL server binaries, these are skipped.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select, text

from db import (
    Base,
    InvalidInput,
    NotFound,
    Notice,
    Task,
    TaskInstance,
    TaskUnit,
    Unit,
    acknowledge,
    alembic_config,
    collectives_of,
    get_engine,
    head_revisions,
    import_program,
    load_program,
    pass_claim,
    program_lights,
    submit_report,
    task_rows,
    unacknowledged,
    unit_role,
)
from flows import Settings, Wiring, dispatch_step, run_check
from notifications import OutboxNotifier
from schedule import read_plan
from tests.support.postgres import cluster_or_skip
from tests.support.schema import schema
from tests.support.threads import at_once

ZONE = ZoneInfo("Asia/Shanghai")
PLANS = Path(__file__).resolve().parents[2] / "plans"


@pytest.fixture(scope="module")
def cluster():
    with cluster_or_skip() as started:
        yield started


@pytest.fixture(scope="module")
def postgres_url(cluster):
    cluster.create_database("duban")
    return cluster.url("duban")


def morning(day: date, hour: int = 8, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def test_a_new_database_is_built_from_the_models_as_the_migrations_build_it(cluster):
    """On PostgreSQL too (db.engine builds a database without tables from the models, stamped at the heads):
    the same schema as running every migration, and nothing left for Alembic to run."""
    for name in ("migrated", "created"):
        cluster.create_database(name)
    command.upgrade(alembic_config(cluster.url("migrated")), "head")
    get_engine(cluster.url("created"))
    assert schema(cluster.url("created")) == schema(cluster.url("migrated"))
    with get_engine(cluster.url("created")).connect() as connection:
        assert set(MigrationContext.configure(connection).get_current_heads()) == set(head_revisions())
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_check_on_postgresql_sends_every_notice_once(postgres_url, tmp_path):
    wired = Wiring(Settings(home=tmp_path, database_url=postgres_url))
    reading = read_plan(PLANS / "chengdu-2023")
    with wired.transaction() as session:
        import_program(session, reading.program, morning(date(2023, 2, 28)))
    notifier = OutboxNotifier(tmp_path / "outbox.jsonl", wired.sessions)
    day = date(2023, 3, 1)
    while day <= date(2023, 7, 10):
        run_check(wired.sessions, "chengdu-2023", morning(day), notifier)
        day += timedelta(days=1)

    def overlapping_check() -> None:
        other = Wiring(Settings(home=tmp_path, database_url=postgres_url))
        run_check(other.sessions, "chengdu-2023", morning(date(2023, 7, 11)), notifier)

    assert at_once(overlapping_check) == []
    again = run_check(wired.sessions, "chengdu-2023", morning(date(2023, 7, 11), 10), notifier)
    assert sum(again.claimed.values()) == 0

    lines = (tmp_path / "outbox.jsonl").read_text("utf-8").splitlines()
    sent = [i for line in lines for i in json.loads(line)["notice_ids"]]
    assert len(sent) == len(set(sent))
    with wired.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Notice))
        queued = session.scalar(select(func.count()).select_from(Notice).where(Notice.state == "queued"))
    assert total == len(sent) and queued == 0
    # The lights counted apart from the task list (a correlated look-up of each current instance) are the
    # list's own on PostgreSQL too.
    with wired.transaction() as session:
        lean = program_lights(session, load_program(session, "chengdu-2023"), date(2023, 7, 11))
    with wired.transaction() as session:
        ctx = load_program(session, "chengdu-2023")
        task_rows(session, ctx, date(2023, 7, 11))
        listed = program_lights(session, ctx, date(2023, 7, 11))
    assert lean.tasks == listed.tasks > 0 and lean.lights == listed.lights and lean.units == listed.units
    assert sorted(lean.red, key=lambda r: r["code"]) == sorted(listed.red, key=lambda r: r["code"])


def test_exactly_once_under_faults_on_postgresql(postgres_url, tmp_path):
    """The core of the fault campaign (tests/notifications/test_fault_campaign.py) on PostgreSQL: a kill at
    every step of dispatch, four and two checks at once, ten days down with misbehaving robots; judged by the
    robot's log."""
    # The campaign loads Prefect's flows and the peers: only this test needs them.
    from bench.fault_campaign import Campaign, fresh_database, run_scenarios
    from notifications.delivery.crashpoints import POINTS  # the kill points, as the campaign names them
    from tests.support.faults import assert_exactly_once  # loads the campaign, as above
    from tests.support.peers import RobotPeer  # (the peers, as above)

    with RobotPeer() as robot:
        campaign = Campaign(tmp_path, robot, fresh_database(postgres_url, "campaign"))
        run_scenarios(campaign, kills=[(point, 1) for point in POINTS], overlaps=[4, 2], downtimes=[10])
        assert campaign.tally.kills_by_point == {point: 1 for point in POINTS}
        assert_exactly_once(campaign)


def test_a_dispatch_keeps_the_channels_of_what_it_read_queued_when_another_takes_it(postgres_url, tmp_path):
    """On PostgreSQL each statement sees the latest commits. An overlapping dispatch that takes a unit's
    notices between this dispatch's read of the queue and its read of the recipients must not leave that unit
    without its channels (it did: a TypeError on a notify list never read); the notices are simply not taken
    twice."""
    from bench.fault_campaign import fresh_database  # a database of its own: the module's holds a replay

    url = fresh_database(postgres_url, "overlap")
    wired = Wiring(Settings(home=tmp_path, database_url=url))
    with wired.transaction() as session:
        import_program(session, read_plan(PLANS / "chengdu-2023").program, morning(date(2023, 2, 28)))
    run_check(wired.sessions, "chengdu-2023", morning(date(2023, 3, 1), 6, 0), OutboxNotifier(
        tmp_path / "outbox.jsonl", wired.sessions))  # before the sending window: claimed, not sent
    engine, taken = get_engine(url), []

    def another_dispatch_takes_a_unit(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT units.id") and not taken:
            with engine.begin() as other:  # another connection: committed before the read goes on
                taken.append(other.execute(text(
                    "UPDATE notices SET state = 'sending' WHERE state = 'queued' AND unit_id = "
                    "(SELECT min(unit_id) FROM notices WHERE state = 'queued') RETURNING id"
                )).scalars().all())

    event.listen(engine, "before_cursor_execute", another_dispatch_takes_a_unit)
    try:
        result = dispatch_step(wired.sessions, "chengdu-2023", OutboxNotifier(
            tmp_path / "outbox.jsonl", wired.sessions), morning(date(2023, 3, 1), 9, 0))
    finally:
        event.remove(engine, "before_cursor_execute", another_dispatch_takes_a_unit)
    assert taken and taken[0] and result is not None and result.messages > 0
    lines = (tmp_path / "outbox.jsonl").read_text("utf-8").splitlines()
    sent = {i for line in lines for i in json.loads(line)["notice_ids"]}
    assert sent and not sent & set(taken[0])
    with wired.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Notice).where(Notice.state == "queued")) == 0


def test_a_units_lookups_folded_into_one_statement_answer_alike_on_postgresql(postgres_url, tmp_path):
    """签收, a report's checks and a claim's decision each read what they concern in one statement (the unit
    with its role, directly or through a collective; the current instance with a claim waiting on it; the
    claim with its instance, task and unit): the same answers on PostgreSQL as the assignments give."""
    from bench.fault_campaign import fresh_database  # a database of its own: the module's holds a replay

    wired = Wiring(Settings(home=tmp_path, database_url=fresh_database(postgres_url, "units")))
    with wired.transaction() as session:
        import_program(session, read_plan(PLANS / "chengdu-2023").program, morning(date(2023, 2, 28)))
    run_check(wired.sessions, "chengdu-2023", morning(date(2023, 3, 1), 9, 0),
              OutboxNotifier(tmp_path / "outbox.jsonl", wired.sessions))
    at = morning(date(2023, 3, 2), 15, 0)
    with wired.transaction() as session:
        ctx = load_program(session, "chengdu-2023")
        units = dict(session.execute(select(Unit.code, Unit.id).where(Unit.program_id == ctx.id)).all())
        joined = collectives_of(session, ctx.id)
        assigned: dict[int, dict[str, set]] = {}
        for task_id, role, code in session.execute(select(TaskUnit.task_id, TaskUnit.role, Unit.code).join(
                Unit, Unit.id == TaskUnit.unit_id).where(Unit.program_id == ctx.id)):
            assigned.setdefault(task_id, {"lead": set(), "co": set()})[role].add(code)
        for task_id, on_task in assigned.items():
            for code, unit_id in units.items():
                mine = {code} | joined.get(code, set())
                expected = "lead" if mine & on_task["lead"] else "co" if mine & on_task["co"] else None
                assert unit_role(session, task_id, unit_id) == expected, (task_id, code)
        waiting = unacknowledged(session, ctx)
        assert waiting
        codes = {unit_id: code for code, unit_id in units.items()}
        signed = [acknowledge(session, ctx, task, codes[unit_id], at, "test")
                  for _instance, unit_id, task, _sent in waiting]
        assert signed[0]["new"] and unacknowledged(session, ctx) == []
        again = acknowledge(session, ctx, waiting[0][2], codes[waiting[0][1]], at, "test")
        assert again == {**signed[0], "new": False}
        with pytest.raises(NotFound):
            acknowledge(session, ctx, waiting[0][2], "no-such-unit", at, "test")
        task = session.scalar(select(Task).where(Task.program_id == ctx.id, Task.code == waiting[0][2]))
        lead = sorted(assigned[task.id]["lead"])[0]
        claimed = submit_report(session, ctx, task.code, lead, "done", 100, None, ["a.pdf"], at, "test")
        assert claimed["review"] == "pending"
        with pytest.raises(InvalidInput):  # a claim waits: the lead reports no more until it is decided
            submit_report(session, ctx, task.code, lead, "in_progress", 50, None, [], at, "test")
        assert pass_claim(session, ctx, claimed["claim"], "coordinator", at)["state"] == "passed"
        instance = session.get(TaskInstance, claimed["instance_id"])
        assert (instance.status, instance.done_on) == ("done", at.date())
