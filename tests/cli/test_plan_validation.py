"""Bad input is refused with a located error (FILE:ROW:COLUMN: message), and a failed import changes
nothing."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from duban import app
from tests.support.factories import HEADER, TASKS, UNITS, program_yaml, write_plan

runner = CliRunner()


def with_task(row: int, column: str, value) -> list[list]:
    """The default 分工表 with one cell changed: row as the spreadsheet shows it (header row 1)."""
    rows = [list(r) for r in TASKS]
    rows[row - 2][HEADER.index(column)] = value
    return rows


def phases_with_bad_end() -> dict:
    program = program_yaml()
    program["phases"][1]["end"] = "2022-03-28"
    return program


BAD_CELLS = [
    # (what, row, column, value written there, expected line on stderr)
    ("unknown unit", 3, "牵头单位", "市公安厅",
     r"tasks\.xlsx:3:D: 未知单位「市公安厅」，最接近的已知单位是「市公安局」"),
    ("month 13", 4, "完成时限", "2023年13月底前", r"tasks\.xlsx:4:F: .*「2023年13月底前」.*13"),
    ("time limit words not in the table", 5, "完成时限", "尽快完成", r"tasks\.xlsx:5:F: .*「尽快完成」"),
    ("duplicate task code", 4, "序号", "A1", r"tasks\.xlsx:4:A: 任务编号「A1」重复（第 3 行已使用）"),
    ("empty measure", 6, "工作举措", "", r"tasks\.xlsx:6:C: 任务 B2 的工作举措为空"),
]
BAD_INPUTS = [
    # (what, plan factory arguments, expected line on stderr)
    (
        "phase end before start",
        {"program": phases_with_bad_end()},
        r"program\.yaml:\d+:\d+: 阶段「implementation」的结束日期 2022-03-28 早于开始日期 2023-05-01",
    ),
    (
        "missing required column",
        {"header": ["序号", "重点任务", "内容", "牵头单位", "配合单位", "完成时限", "成果形式", "阶段"]},
        r"tasks\.xlsx:1:-: 缺少必需的列「工作举措",
    ),
    (
        "program id not a slug",
        {"program": program_yaml("Chengdu_2023")},
        r"program\.yaml:1:5: 计划编号「Chengdu_2023」只能包含小写字母",
    ),
    *((what, {"tasks": with_task(row, column, value)}, expected)
      for what, row, column, value, expected in BAD_CELLS),
]


@pytest.mark.parametrize("what, arguments, expected", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_with_its_location(tmp_path, home, what, arguments, expected):
    plan = write_plan(tmp_path, **arguments)
    result = runner.invoke(app, ["plan", "validate", str(plan)])
    assert result.exit_code == 1, result.output
    assert re.search(expected, result.stderr), result.stderr


@pytest.mark.parametrize("content, expected", [
    (b"this is not a workbook", r"tasks\.xlsx:-:-: 不是有效的 Excel 工作簿"),
    (b"", r"tasks\.xlsx:-:-: 文件为空"),
])
def test_a_tasks_file_that_is_not_a_workbook_is_refused(tmp_path, home, content, expected):
    plan = write_plan(tmp_path)
    (plan / "tasks.xlsx").write_bytes(content)
    result = runner.invoke(app, ["plan", "validate", str(plan)])
    assert result.exit_code == 1
    assert re.search(expected, result.stderr), result.stderr


def test_all_problems_of_a_plan_are_reported_at_once(tmp_path, home):
    rows = with_task(3, "牵头单位", "市财政厅")
    rows[2][HEADER.index("完成时限")] = "2023年13月底前"
    rows[3][HEADER.index("工作举措")] = ""
    plan = write_plan(tmp_path, program=phases_with_bad_end(), tasks=rows)
    result = runner.invoke(app, ["plan", "validate", str(plan), "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    located = {
        (p["file"].rsplit("/", 1)[-1], p["row"], p["column"]) for p in problems if p["severity"] == "error"
    }
    assert {("tasks.xlsx", 3, "D"), ("tasks.xlsx", 4, "F"), ("tasks.xlsx", 5, "C")} <= located
    assert any(p["file"].endswith("program.yaml") for p in problems)


def test_warnings_do_not_fail_validation(tmp_path, home):
    units = [dict(u) for u in UNITS]
    del units[4]["notify"]  # 市司法局 without a notify URL
    program = program_yaml()
    program["phases"].append({"kind": "acceptance", "start": "2027-01-01", "end": "2027-03-31"})
    del program["phases"][4]
    plan = write_plan(tmp_path, program=program, units=units)
    result = runner.invoke(app, ["plan", "validate", str(plan)])
    assert result.exit_code == 0, result.stderr
    assert "warning: 单位「市司法局」没有通知地址" in result.stderr
    assert "2027" in result.stderr and "周一至周五" in result.stderr


def test_a_failed_import_leaves_every_stored_program_exactly_as_it_was(tmp_path, home):
    good = write_plan(tmp_path, name="good")
    assert runner.invoke(app, ["plan", "import", str(good)]).exit_code == 0
    assert runner.invoke(app, ["report", "demo-city", "A1", "--unit", "msa", "--status", "in_progress",
                               "--progress", "50", "--as-of", "2023-06-01"]).exit_code == 0
    before = runner.invoke(app, ["tasks", "demo-city", "--json", "--as-of", "2023-06-02"]).stdout

    bad_rows = with_task(3, "工作举措", "改过的举措")
    bad_rows.append(["Z9", "新增", "新任务", "不存在的单位", "", "2023年底前", "", ""])
    bad = write_plan(tmp_path, name="bad", tasks=bad_rows)
    result = runner.invoke(app, ["plan", "import", str(bad)])
    assert result.exit_code == 1
    assert "未导入" in result.stderr
    assert runner.invoke(app, ["tasks", "demo-city", "--json", "--as-of", "2023-06-02"]).stdout == before


def test_unknown_program_is_an_error_not_a_traceback(tmp_path, home):
    result = runner.invoke(app, ["status", "nowhere"])
    assert result.exit_code == 1 and "数据库文件不存在" in result.stderr  # a new user, before any import
    assert runner.invoke(app, ["plan", "import", str(write_plan(tmp_path))]).exit_code == 0
    result = runner.invoke(app, ["status", "nowhere"])
    assert result.exit_code == 1
    assert "计划「nowhere」不存在" in result.stderr


def test_usage_errors_exit_2(tmp_path, home):
    assert runner.invoke(app, ["plan", "import", str(write_plan(tmp_path))]).exit_code == 0
    assert runner.invoke(app, ["status", "demo-city", "--as-of", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["report", "x", "A1"]).exit_code == 2


@pytest.mark.parametrize("jointly, shown, counted", [
    (True, "6 项任务（另有成员分担 0 份）", {"tasks": 6, "shares": 0}),
    (False, "6 项任务（另有成员分担 3 份）", {"tasks": 6, "shares": 3}),
])
def test_validate_counts_tasks_without_their_shares(tmp_path, jointly, shown, counted):
    units = [dict(u, jointly=jointly) if u["id"] == "departments" else u for u in UNITS]
    plan = write_plan(tmp_path, units=units)
    result = runner.invoke(app, ["plan", "validate", str(plan)])
    assert result.exit_code == 0, result.output
    assert shown in result.output
    data = json.loads(runner.invoke(app, ["plan", "validate", str(plan), "--json"]).output)
    assert {key: data[key] for key in counted} == counted
