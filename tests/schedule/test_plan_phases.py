"""The plan's own phases, its window, year-less time limits read against it, and collectives' shares, as
read from a plan folder (no database)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from schedule import read_plan, required
from tests.support.factories import TASKS, UNITS, program_yaml, write_plan

WINDOW_2021 = {"start": "2021-01-01", "end": "2021-12-31"}


def annual(**overrides) -> dict:
    """A 工作要点 of 2021 without phases: one phase over its window."""
    program = program_yaml(**WINDOW_2021)
    del program["phases"]
    program.update(overrides)
    return program


def rows_2021(*changes: tuple[int, int, str]) -> list[list]:
    """The factory table with no 阶段 and 2021 dates; changes: (row index, column index, value)."""
    rows = [[*row[:5], "年底前", *row[6:7], ""] for row in TASKS]
    for index, column, value in changes:
        rows[index][column] = value
    return rows


def phased(*rows: tuple[str, ...]) -> list[dict]:
    """Phases from (kind, start, end[, name]) rows."""
    return [dict(zip(("kind", "start", "end", "name"), row, strict=False)) for row in rows]


HALVES = phased(("first_half", "2021-01-01", "2021-06-30", "上半年攻坚"),
                ("second_half", "2021-07-01", "2021-12-31", "下半年巩固"))


def phases_of(tmp_path, program: dict, tasks: list[list] | None = None):
    reading = read_plan(write_plan(tmp_path, program=program, tasks=tasks or rows_2021()))
    assert reading.ok, [str(p) for p in reading.problems]
    return [(p.kind, p.name, p.start.isoformat(), p.end.isoformat()) for p in reading.program.phases]


PHASES = [
    # (what, program.yaml, the phases read)
    ("no phases: one over the window", annual(), [("program", "全程推进", "2021-01-01", "2021-12-31")]),
    (
        "kind annual",
        annual(phases=phased(("annual", "2021-01-01", "2021-12-31"))),
        [("annual", "年度工作", "2021-01-01", "2021-12-31")],
    ),
    (
        "the plan's own names and windows",
        annual(
            phases=HALVES
        ),
        [
            ("first_half", "上半年攻坚", "2021-01-01", "2021-06-30"),
            ("second_half", "下半年巩固", "2021-07-01", "2021-12-31"),
        ],
    ),
    (
        "a preset beside the plan's own",
        annual(
            phases=phased(("deployment", "2021-01-01", "2021-03-31"), ("annual", "2021-04-01", "2021-12-31"))
        ),
        [
            ("deployment", "任务部署", "2021-01-01", "2021-03-31"),
            ("annual", "年度工作", "2021-04-01", "2021-12-31"),
        ],
    ),
]


@pytest.mark.parametrize("what, program, expected", PHASES, ids=[p[0] for p in PHASES])
def test_phases_are_the_plans(tmp_path, what, program, expected):
    assert phases_of(tmp_path, program) == expected


BAD_PHASES = [
    # (what, program.yaml, a problem located in program.yaml)
    (
        "no phases and no window",
        annual(start=None, end=None),
        r"program\.yaml:\d+:\d+: 没有 phases 的计划应写明计划期",
    ),
    (
        "window reversed",
        annual(start="2021-12-31", end="2021-01-01"),
        r"program\.yaml:\d+:\d+: 计划期的结束日期",
    ),
    (
        "kind not an identifier",
        annual(phases=phased(("第一阶段", "2021-01-01", "2021-06-30"))),
        r"program\.yaml:\d+:\d+: 阶段类型「第一阶段」应为小写字母开头的标识",
    ),
    (
        "kind repeated",
        annual(
            phases=phased(("annual", "2021-01-01", "2021-06-30"), ("annual", "2021-07-01", "2021-12-31"))
        ),
        r"program\.yaml:\d+:\d+: 阶段「annual」重复",
    ),
    (
        "presets out of order",
        program_yaml(
            phases=phased(
                ("implementation", "2023-05-01", "2024-06-30"), ("deployment", "2023-03-01", "2023-04-30"))
        ),
        r"program\.yaml:\d+:\d+: 预设阶段「deployment」顺序不对",
    ),
    (
        "exit task not in the table",
        program_yaml(
            phases=[
                {
                    "kind": "deployment",
                    "start": "2023-03-01",
                    "end": "2023-04-30",
                    "exit_tasks": ["D1", "D-9"],
                },
                {"kind": "implementation", "start": "2023-05-01", "end": "2024-06-30"},
            ]
        ),
        r"program\.yaml:\d+:\d+: 阶段「deployment」的 exit_tasks 列出的任务「D-9」不在分工表中",
    ),
    (
        "assign_after not a list",
        program_yaml(
            phases=[
                {
                    "kind": "implementation",
                    "start": "2023-05-01",
                    "end": "2024-06-30",
                    "assign_after": {"D1": 1},
                }
            ]
        ),
        r"program\.yaml:\d+:\d+: assign_after 应为任务编号列表",
    ),
]


@pytest.mark.parametrize("what, program, expected", BAD_PHASES, ids=[p[0] for p in BAD_PHASES])
def test_bad_phases_are_located(tmp_path, what, program, expected):
    program = {k: v for k, v in program.items() if v is not None}
    reading = read_plan(write_plan(tmp_path, program=program))
    assert not reading.ok
    assert any(re.search(expected, str(p)) for p in reading.errors), [str(p) for p in reading.problems]


def test_exit_tasks_and_assign_after_are_read(tmp_path):
    program = program_yaml()
    program["phases"][0]["exit_tasks"] = ["D1"]
    program["phases"][1]["assign_after"] = "D1"
    phases = read_plan(write_plan(tmp_path, program=program)).program.phases
    assert (phases[0].exit_tasks, phases[1].assign_after) == (("D1",), ("D1",))


# (time limit in the table, the plan's window, the due date it reads as)
YEARLESS_IN_THE_WINDOW = [
    ("年底前", WINDOW_2021, "2021-12-31"),
    ("全年", WINDOW_2021, "2021-12-31"),
    ("6月30日前", WINDOW_2021, "2021-06-30"),
    ("4月26日前", WINDOW_2021, "2021-04-26"),
    ("上半年", WINDOW_2021, "2021-06-30"),
    ("下半年", WINDOW_2021, "2021-12-31"),
    ("2021年", WINDOW_2021, "2021-12-31"),
    ("6月30日前", {"start": "2021-07-01", "end": "2022-06-30"}, "2022-06-30"),
]


@pytest.mark.parametrize("limit, window, due", YEARLESS_IN_THE_WINDOW, ids=str)
def test_yearless_time_limits_are_read_against_the_window(tmp_path, limit, window, due):
    reading = read_plan(write_plan(tmp_path, program=annual(**window), tasks=rows_2021((1, 5, limit))))
    assert reading.ok, [str(p) for p in reading.problems]
    task = next(t for t in reading.program.tasks if t.code == "A1")
    assert (task.limit.due.isoformat(), task.time_limit_text) == (due, limit)


@pytest.mark.parametrize("limit, recurrence", [("按通知要求", "as_notified"), ("每半年", "half_yearly")])
def test_undated_and_half_yearly_limits(tmp_path, limit, recurrence):
    reading = read_plan(write_plan(tmp_path, program=annual(), tasks=rows_2021((1, 5, limit))))
    task = next(t for t in reading.program.tasks if t.code == "A1")
    instances = reading.program.instances(task)
    assert task.recurrence == recurrence
    dues = [i.due for i in instances]
    assert dues == ([None] if recurrence == "as_notified" else [date(2021, 6, 30), date(2021, 12, 31)])


OUTSIDE = [
    # (time limit of A1 (row 3, column F), the warning)
    (
        "2020年底前",
        r"tasks\.xlsx:3:F: 任务 A1 的完成时限「2020年底前」为 2020-12-31，早于计划开始日 2021-01-01",
    ),
    (
        "2022年6月",
        r"tasks\.xlsx:3:F: 任务 A1 的完成时限「2022年6月」为 2022-06-30，晚于计划结束日 2021-12-31",
    ),
]


@pytest.mark.parametrize("limit, expected", OUTSIDE, ids=str)
def test_a_deadline_outside_the_window_is_a_located_warning(tmp_path, limit, expected):
    reading = read_plan(write_plan(tmp_path, program=annual(), tasks=rows_2021((1, 5, limit))))
    assert reading.ok
    assert [str(p) for p in reading.warnings if re.search(expected, str(p))], [
        str(p) for p in reading.problems
    ]


def test_a_task_without_a_phase_belongs_to_the_plans_only_phase(tmp_path):
    reading = read_plan(write_plan(tmp_path, program=annual(), tasks=rows_2021()))
    assert {t.phase for t in reading.program.tasks} == {"program"}


def test_a_table_phase_names_a_declared_phase_by_its_name(tmp_path):
    program = annual(
        phases=HALVES
    )
    reading = read_plan(write_plan(tmp_path, program=program, tasks=rows_2021((1, 7, "下半年巩固"))))
    phases = {t.code: t.phase for t in reading.program.tasks}
    assert phases["A1"] == "second_half"
    assert phases["A2"] == "second_half"  # 年底前 falls in the second half's window
    refused = read_plan(write_plan(tmp_path, program=program, tasks=rows_2021((1, 7, "三季度")), name="bad"))
    assert any(
        re.search(r"tasks\.xlsx:3:H: 阶段「三季度」应为 program\.yaml 中的阶段", str(p))
        for p in refused.errors
    )


# --- collectives -----------------------------------------------------------------------------------

SPLIT = [dict(u, jointly=False) if u["id"] == "departments" else u for u in UNITS]


def collective_plan(tmp_path, units=SPLIT, rows=None, name="plan"):
    rows = rows or [
        [*TASKS[0]],
        [
            "C1",
            "人才支撑",
            "开展知识产权培训",
            "市直有关单位",
            "市场监管局",
            "2024年3月15日前",
            "培训台账",
            "",
        ],
    ]
    return read_plan(write_plan(tmp_path, units=units, tasks=rows, name=name))


def test_a_collectives_task_is_each_members_share(tmp_path):
    tasks = {t.code: t for t in collective_plan(tmp_path).program.tasks}
    parent = tasks["C1"]
    assert (parent.lead, parent.co, parent.done_when) == ((), ("msa",), "all")
    shares = [t for t in tasks.values() if t.parent == "C1"]
    assert [(t.code, t.lead, t.co) for t in shares] == [
        ("C1@court", ("court",), ()),
        ("C1@police", ("police",), ()),
        ("C1@justice", ("justice",), ()),
    ]
    assert {t.limit for t in shares} == {parent.limit}


def test_a_collective_answering_jointly_keeps_its_task_whole(tmp_path):
    tasks = {t.code: t for t in collective_plan(tmp_path, units=UNITS).program.tasks}
    assert set(tasks) == {"D1", "C1"} and tasks["C1"].lead == ("departments",)


@pytest.mark.parametrize(
    "rule, ok",
    [("all", True), ("any", True), ("2", True), ("3", True), ("4", False), ("0", False), ("most", False)],
)
def test_the_collectives_rule(tmp_path, rule, ok):
    units = [dict(u, done_when=rule) if u["id"] == "departments" else u for u in SPLIT]
    reading = collective_plan(tmp_path, units=units)
    assert reading.ok is ok
    if not ok:
        assert re.search(r"units\.yaml:\d+:\d+: 集合单位「departments」的 done_when", str(reading.errors[0]))


@pytest.mark.parametrize("rule, members, needed", [("all", 3, 3), ("any", 3, 1), ("2", 3, 2), ("5", 3, 3)])
def test_how_many_shares_finish_the_task(rule, members, needed):
    assert required(rule, members) == needed


def test_a_share_code_already_used_is_an_error_at_the_row(tmp_path):
    rows = [
        [*TASKS[0]],
        ["C1", "人才支撑", "培训", "市直有关单位", "", "2024年3月15日前", "台账", ""],
        ["C1@court", "人才支撑", "另一项", "市中级人民法院", "", "2024年3月15日前", "台账", ""],
    ]
    reading = collective_plan(tmp_path, rows=rows)
    assert any(
        re.search(r"tasks\.xlsx:3:A: 任务 C1 由集合单位「departments」牵头.*「C1@court」已被占用", str(p))
        for p in reading.errors
    ), [str(p) for p in reading.problems]


def test_an_english_plan_is_told_in_english(tmp_path):
    program = {k: v for k, v in annual(language="en").items() if k not in ("start", "end")}
    reading = read_plan(write_plan(tmp_path, program=program))
    assert any("a plan without phases must give its window, start and end" in str(p) for p in reading.errors)
    named = read_plan(write_plan(tmp_path, program=annual(language="en"), tasks=rows_2021(), name="named"))
    assert named.program.phases[0].name == "Whole program"


def gated(gate) -> dict:
    """The factory program whose deployment phase writes `gate:`."""
    program = program_yaml()
    program["phases"][0]["gate"] = gate
    return program


# (program.yaml's gate of a phase, the conditions read)
GATES_READ = [
    ({"min_done": "90%"}, {"min_done": 90}),
    ({"min_done": 100, "no_red": True}, {"min_done": 100, "no_red": True}),
    ({"forms_returned": True, "no_red": False}, {"forms_returned": True}),
    (None, {}),
]


@pytest.mark.parametrize("gate, expected", GATES_READ, ids=str)
def test_a_phase_gate_is_read(tmp_path, gate, expected):
    reading = read_plan(write_plan(tmp_path, program=gated(gate)))
    assert reading.ok, [str(p) for p in reading.problems]
    assert reading.program.phases[0].gate == expected


# (what, program.yaml's gate of a phase, the problem located at its key)
BAD_GATES = [
    ("an unknown condition", {"min_done": "90%", "all_green": True},
     r"program\.yaml:\d+:\d+: 关口条件「all_green」无法识别，可用条件: min_done, no_red, forms_returned"),
    ("a share over 100%", {"min_done": "120%"},
     r"program\.yaml:\d+:\d+: min_done「120%」应为本阶段任务完成比例"),
    ("a share in words", {"min_done": "most"}, r"program\.yaml:\d+:\d+: min_done「most」应为"),
    ("a flag not true or false", {"no_red": "yes"},
     r"program\.yaml:\d+:\d+: no_red「yes」应为 true 或 false"),
    ("not a mapping", ["no_red"],
     r"program\.yaml:\d+:\d+: gate 应为关口条件（min_done, no_red, forms_returned）"),
]


@pytest.mark.parametrize("what, gate, expected", BAD_GATES, ids=[g[0] for g in BAD_GATES])
def test_a_bad_gate_is_located(tmp_path, what, gate, expected):
    reading = read_plan(write_plan(tmp_path, program=gated(gate)))
    assert not reading.ok
    assert any(re.search(expected, str(p)) for p in reading.errors), [str(p) for p in reading.problems]
