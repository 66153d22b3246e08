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
    evaluate,
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
    """The parent C1's instance as the members' reports left it (they roll it up as they are recorded)."""
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
    with sessions.begin() as session:  # the daily check's roll-up, the safety net, finds nothing left to do
        assert roll_up(session, "demo-city") == 0
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


def condition_reasons(sessions, day: date) -> list[str]:
    """What the implementation phase's own conditions (program.yaml `gate:`) say on `day`."""
    with sessions.begin() as session:
        ctx = ctx_of(session)
        phase = session.scalar(select(Phase).where(Phase.kind == "implementation"))
        return [r for r in evaluate(session, ctx.id, phase, day).reasons if "gate:" in r]


LEADS = {"A1": "msa", "A2": "msa", "B1": "police", "C1": "court"}
# (the implementation phase's gate, tasks reported done, the day, what its conditions say)
CONDITIONS = [
    ({"min_done": "40%"}, ["A1", "A2"], date(2024, 1, 2), []),
    ({"min_done": "90%"}, ["A1"], date(2024, 1, 2),
     ["本阶段任务已办结 1/5 项（20%），方案要求不低于 90%（gate: min_done）；未办结: A2, B1, B2, C1"]),
    ({"no_red": True}, ["A1"], date(2024, 1, 2), ["本阶段亮红灯的任务 2 项（gate: no_red）: A2, B2"]),
    ({"no_red": True}, [], date(2023, 6, 1), []),
    ({"min_done": 100, "no_red": True}, ["A1", "A2", "B1", "C1"], date(2023, 5, 2),
     ["本阶段任务已办结 4/5 项（80%），方案要求不低于 100%（gate: min_done）；未办结: B2"]),
]


@pytest.mark.parametrize("gate, done, day, expected", CONDITIONS, ids=str)
def test_a_phase_holds_to_the_plans_own_conditions(tmp_path, gate, done, day, expected):
    sessions, _url = make_db(tmp_path, program=program_with(implementation={"gate": gate}))
    for code in done:
        report(sessions, code, LEADS[code], date(2023, 5, 2))
    assert condition_reasons(sessions, day) == expected


@pytest.mark.parametrize("gate, forms_asked", [({"forms_returned": True}, 1), ({}, 0)])
def test_the_forms_condition_names_the_units_without_a_form(tmp_path, gate, forms_asked):
    sessions, _url = make_db(tmp_path, program=program_with(implementation={"gate": gate}))
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "implementation"))
        reasons = evaluate(session, "demo-city", phase, date(2023, 6, 1)).reasons
    forms = [r for r in reasons if r.startswith("未交回自查表的单位")]
    assert len(forms) == forms_asked
    assert all("市公安局" in r for r in forms)


def test_a_phase_of_the_plans_own_kind_is_judged_by_its_conditions_instead(tmp_path):
    """`annual` writes min_done: 50%: half its tasks done closes it, though the others are past due."""
    program = program_yaml(phases=[{"kind": "annual", "start": "2023-03-01", "end": "2024-06-30",
                                    "gate": {"min_done": "50%"}}])
    tasks = [[*row[:7], ""] for row in TASKS]  # no 阶段: every task in the one phase
    sessions, _url = make_db(tmp_path, program=program, tasks=tasks)
    assert phase_state(sessions, "annual", date(2023, 3, 1))[0] == "open"
    report(sessions, "A1", "msa", date(2023, 5, 2))
    state, reasons = phase_state(sessions, "annual", date(2024, 7, 1))
    assert state == "overrun"
    assert reasons == [
        "本阶段任务已办结 1/6 项（16%），方案要求不低于 50%（gate: min_done）；未办结: A2, B1, B2, C1, D1"]
    for code in ("A2", "B1"):
        report(sessions, code, LEADS[code], date(2024, 7, 2))
    assert phase_state(sessions, "annual", date(2024, 7, 3))[0] == "closed"  # 3 of 6: the gate holds
