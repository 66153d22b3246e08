"""Plans and 分工表 into the database: the example plans, the table forms, re-import keeping progress."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from typer.testing import CliRunner

from duban import app
from schedule import read_plan
from tests.support.factories import TASKS, program_yaml, write_plan


def units_of(plan: Path) -> dict[str, list[str]]:
    """collective id → its members, as the plan's units.yaml lists them."""
    units = yaml.safe_load((plan / "units.yaml").read_text("utf-8"))
    return {u["id"]: u["members"] for u in units if u.get("members")}

runner = CliRunner()
PLANS = Path(__file__).resolve().parents[2] / "plans"


def tasks_json(program: str, *extra: str) -> list[dict]:
    result = runner.invoke(app, ["tasks", program, "--json", *extra])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_example_plans_validate_and_import(home):
    for name in ("chengdu-2023", "county-ip-2023"):
        assert runner.invoke(app, ["plan", "validate", str(PLANS / name)]).exit_code == 0
        result = runner.invoke(app, ["plan", "import", str(PLANS / name)])
        assert result.exit_code == 0, result.stderr
    chengdu = tasks_json("chengdu-2023", "--as-of", "2023-06-01")
    assert len(chengdu) >= 30
    assert {
        "code",
        "title",
        "area",
        "lead",
        "co",
        "due",
        "recurrence",
        "phase",
        "status",
        "progress",
        "light",
    } <= set(chengdu[0])
    status = json.loads(runner.invoke(app, ["status", "chengdu-2023", "--json"]).stdout)
    assert [(p["kind"], p["start"], p["end"]) for p in status["phases"]] == [
        ("deployment", "2023-03-01", "2023-04-30"), ("implementation", "2023-05-01", "2024-06-30"),
        ("self_check", "2024-06-01", "2024-07-31"), ("remediation", "2024-08-01", "2025-03-31"),
        ("acceptance", "2025-04-01", "2025-04-30")]


def test_the_county_plan_carries_its_units_as_the_seed_lists_them(home):
    assert runner.invoke(app, ["plan", "import", str(PLANS / "county-ip-2023")]).exit_code == 0
    tasks = {t["code"]: t for t in tasks_json("county-ip-2023")}
    parents = [code for code, task in tasks.items() if "@" not in code]
    assert sorted(parents, key=int) == [str(n) for n in range(1, 17)]
    # 1. 责任单位：县市场监管局〔知识产权局〕、财政局 — the first listed leads.
    assert tasks["1"]["lead"] == ["msa"] and tasks["1"]["co"] == ["finance"]
    # 4. 县市场监管局〔知识产权局〕、发改局〔信息中心〕、公安局、县法院、县检察院
    assert tasks["4"]["lead"] == ["msa"] and tasks["4"]["co"][:2] == ["ndrc", "police"]
    # 10. 县法院 leads; 14. 县直有关单位 is a collective: each member leads its own share of the task,
    # and the task itself is rolled up from the shares.
    assert tasks["10"]["lead"] == ["court"]
    assert tasks["14"]["lead"] == [] and tasks["14@court"]["lead"] == ["court"]
    assert {code for code in tasks if code.startswith("14@")} == {
        f"14@{m}" for m in units_of(PLANS / "county-ip-2023")["county-departments"]}
    members = tasks_json("county-ip-2023", "--unit", "court")
    assert "14@court" in {t["code"] for t in members}


def test_merged_area_cells_apply_to_every_row_they_cover(tmp_path, home):
    plan = write_plan(tmp_path)
    from openpyxl import load_workbook

    workbook = load_workbook(plan / "tasks.xlsx")
    sheet = workbook.active
    sheet["B4"] = None
    sheet.merge_cells("B3:B4")
    workbook.save(plan / "tasks.xlsx")
    reading = read_plan(plan)
    assert reading.ok, [str(p) for p in reading.problems]
    areas = {t.code: t.area for t in reading.program.tasks}
    assert areas["A1"] == areas["A2"] == "协同保护"


def test_the_responsibility_form_csv_and_formula_cells(tmp_path, home):
    program = program_yaml(tasks="tasks.csv")
    plan = write_plan(tmp_path, program=program)
    (plan / "tasks.csv").write_text(
        "编号,任务内容,责任单位,完成时间\n"
        "1,建立联动机制,\"市场监管局、市法院；市公安局\",2023/6/15\n"
        "2,开展培训,市直有关单位,每月5日前\n", encoding="utf-8")
    reading = read_plan(plan)
    assert reading.ok, [str(p) for p in reading.problems]
    first, second = reading.program.tasks
    assert first.lead == ("msa",) and first.co == ("court", "police")
    assert second.lead == ("departments",)  # a collective answering jointly: one task
    assert str(first.limit.due) == "2023-06-15"
    assert second.limit.recurrence == "monthly"

    formula_plan = write_plan(tmp_path, name="formula")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["序号", "工作举措", "牵头单位", "完成时限"])
    sheet.append(["F1", "汇总", "市场监管局", "=TEXT(DATE(2023,6,30),\"yyyy-mm-dd\")"])
    workbook.save(formula_plan / "tasks.xlsx")
    reading = read_plan(formula_plan)
    # openpyxl wrote no cached value: the formula is not evaluated, so there is no due date at all.
    assert reading.ok and reading.program.tasks[0].limit is None


def test_reimport_updates_by_code_keeps_progress_and_lists_removed_tasks(tmp_path, home):
    plan = write_plan(tmp_path)
    assert runner.invoke(app, ["plan", "import", str(plan)]).exit_code == 0
    report = runner.invoke(app, ["report", "demo-city", "A1", "--unit", "msa", "--status", "in_progress",
                                 "--progress", "60", "--note", "已起草", "--as-of", "2023-06-01"])
    assert report.exit_code == 0, report.stderr
    rows = [list(r) for r in TASKS if r[0] != "C1"]
    rows[1][2] = "建立成渝知识产权保护联动机制（修订）"
    write_plan(tmp_path, tasks=rows)
    result = runner.invoke(app, ["plan", "import", str(plan), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["updated"] == ["A1"] and summary["removed"] == ["C1"] and not summary["created"]
    tasks = {t["code"]: t for t in tasks_json("demo-city", "--as-of", "2023-06-02")}
    assert tasks["A1"]["progress"] == 60 and tasks["A1"]["status"] == "in_progress"
    assert tasks["A1"]["title"].endswith("（修订）")
    assert "C1" not in tasks


def test_report_refuses_a_unit_not_on_the_task(tmp_path, home):
    assert runner.invoke(app, ["plan", "import", str(write_plan(tmp_path))]).exit_code == 0
    result = runner.invoke(app, ["report", "demo-city", "A1", "--unit", "justice", "--status", "done"])
    assert result.exit_code == 1 and "不是任务 A1 的责任单位" in result.stderr


def test_units_are_stored_with_their_urls_unexpanded(tmp_path, home, monkeypatch):
    monkeypatch.setenv("MSA_TOKEN", "s3cr3t-token-value")
    units = yaml.safe_load((write_plan(tmp_path) / "units.yaml").read_text("utf-8"))
    units[1]["notify"] = ["dingtalk://${MSA_TOKEN}/"]
    plan = write_plan(tmp_path, units=units)
    assert runner.invoke(app, ["plan", "import", str(plan)]).exit_code == 0
    with sqlite3.connect(home / "duban.db") as connection:
        stored = " ".join(row[0] for row in connection.execute("SELECT notify FROM units"))
    assert "${MSA_TOKEN}" in stored and "s3cr3t-token-value" not in stored


@pytest.mark.parametrize("command", [
    ["status", "demo-city"],
    ["tasks", "demo-city"],
    ["bulletin", "demo-city"],
    ["report", "demo-city", "A1", "--unit", "court", "--status", "in_progress"],
])
def test_a_mistyped_database_path_is_said_and_left_uncreated(tmp_path, home, command):
    assert runner.invoke(app, ["plan", "import", str(write_plan(tmp_path))]).exit_code == 0
    typo = tmp_path / "typo" / "duban.db"
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{typo}"])
    assert result.exit_code == 1 and f"数据库文件不存在：{typo}" in result.stderr
    assert not typo.parent.exists()
    assert runner.invoke(app, command).exit_code == 0  # the real database, found where it is
