"""What a plan says about its phases and collectives, held in the database: exit tasks keep a phase open,
交办 waits for the tasks it names, and a collective's task is rolled up from its members' shares."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from db import (
    Phase,
    Task,
    TaskInstance,
    advance,
    get_engine,
    import_program,
    plan_candidates,
    record_report,
    roll_up,
    waiting_assignment,
)
from schedule import read_plan
from tests.support.factories import TASKS, UNITS, program_yaml, write_plan
from tests.support.programs import at, ctx_of, make_db, set_phase


def program_with(**phase_keys) -> dict:
    """The factory program with keys added to its phases: {"deployment": {"exit_tasks": ["D1"]}, …}."""
    program = program_yaml()
    for phase in program["phases"]:
        phase.update(phase_keys.get(phase["kind"], {}))
    return program


def report(sessions, code: str, unit: str, day: date, status: str = "done") -> None:
    with sessions.begin() as session:
        record_report(
            session, ctx_of(session), code, unit, status, 100 if status == "done" else 40, None, [], at(day)
        )


def phase_state(sessions, kind: str, day: date) -> tuple[str, list[str]]:
    with sessions.begin() as session:
        advance(session, ctx_of(session), day, at(day))
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == kind))
        return phase.state, list(phase.gate_reasons or [])


def test_a_phase_does_not_close_while_an_exit_task_is_not_done(tmp_path):
    sessions, _url = make_db(tmp_path, program=program_with(deployment={"exit_tasks": ["D1"]}))
    state, reasons = phase_state(sessions, "deployment", date(2023, 5, 4))
    assert state == "overrun"
    assert reasons == ["本阶段的完成任务（exit_tasks）未办结 1 项: D1"]
    report(sessions, "D1", "office", date(2023, 5, 5))
    assert phase_state(sessions, "deployment", date(2023, 5, 8))[0] == "closed"


def test_without_exit_tasks_the_deployment_gate_reads_only_leads_and_dates(tmp_path):
    sessions, _url = make_db(tmp_path)
    assert phase_state(sessions, "deployment", date(2023, 5, 4))[0] == "closed"


def assigned_codes(sessions, day: date) -> set[str]:
    with sessions.begin() as session:
        ctx = ctx_of(session)
        return {
            c.task_code
            for c in plan_candidates(session, ctx, day, set(), assignments=True)
            if c.kind == "assignment"
        }


def test_the_assignment_of_a_phase_waits_for_the_tasks_it_names(tmp_path):
    sessions, _url = make_db(tmp_path, program=program_with(implementation={"assign_after": ["D1"]}))
    with sessions.begin() as session:
        set_phase(session, "demo-city", "deployment", "open")
        assert waiting_assignment(session, "demo-city") == {"implementation"}
    assert assigned_codes(sessions, date(2023, 3, 1)) == {"D1"}
    report(sessions, "D1", "office", date(2023, 3, 20))
    with sessions.begin() as session:
        assert waiting_assignment(session, "demo-city") == set()
    # Nothing was claimed in between: D1 is still a candidate beside the tasks that waited.
    assert assigned_codes(sessions, date(2023, 3, 21)) == {"D1", "A1", "A2", "B1", "B2", "C1"}


def split_db(tmp_path, rule: str):
    """The factory plan with 市直有关单位 answering member by member under `rule`."""
    units = [dict(u, jointly=False, done_when=rule) if u["id"] == "departments" else u for u in UNITS]
    reading = read_plan(write_plan(tmp_path, units=units, tasks=[list(r) for r in TASKS]))
    assert reading.ok, [str(p) for p in reading.problems]
    sessions = sessionmaker(get_engine(f"sqlite:///{tmp_path / 'split.db'}"), expire_on_commit=False)
    with sessions.begin() as session:
        import_program(session, reading.program, at(date(2023, 2, 1)))
    return sessions


def parent_state(sessions) -> tuple[str, int, date | None]:
    with sessions.begin() as session:
        roll_up(session, "demo-city")
    with sessions.begin() as session:
        instance = session.scalar(select(TaskInstance).join(Task).where(Task.code == "C1"))
        return instance.status, instance.progress, instance.done_on


def court(status="done"):
    return ("C1@court", "court", date(2023, 9, 1), status)


POLICE = ("C1@police", "police", date(2023, 9, 5), "done")
JUSTICE = ("C1@justice", "justice", date(2023, 9, 8), "done")

ROLL_UP = [
    # (rule, the shares reported: (code, unit, day, status), the parent's state after)
    ("all", [], ("not_started", 0, None)),
    ("all", [court("in_progress")], ("in_progress", 13, None)),
    ("all", [court(), POLICE], ("in_progress", 67, None)),
    ("all", [court(), POLICE, JUSTICE], ("done", 100, date(2023, 9, 8))),
    ("any", [POLICE], ("done", 100, date(2023, 9, 5))),
    ("2", [court(), POLICE], ("done", 100, date(2023, 9, 5))),
]


@pytest.mark.parametrize("rule, reports, expected", ROLL_UP)
def test_a_collectives_task_is_done_by_its_members_shares(tmp_path, rule, reports, expected):
    sessions = split_db(tmp_path, rule)
    for code, unit, day, status in reports:
        report(sessions, code, unit, day, status)
    assert parent_state(sessions) == expected


def test_each_member_answers_for_its_own_share_only(tmp_path):
    sessions = split_db(tmp_path, "all")
    report(sessions, "C1@court", "court", date(2023, 9, 1))
    with sessions.begin() as session:
        shares = dict(
            session.execute(
                select(Task.code, TaskInstance.status).join(TaskInstance).where(Task.parent_code == "C1")
            ).all()
        )
    assert shares == {"C1@court": "done", "C1@police": "not_started", "C1@justice": "not_started"}
    with pytest.raises(Exception, match="不是任务 C1@police 的责任单位"):
        report(sessions, "C1@police", "court", date(2023, 9, 2))
