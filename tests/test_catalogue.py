"""One catalogue of what duban says (schedule/locales): Chinese literals in the code are either words duban
reads (input vocabulary, each with its reason) or output not yet moved into the catalogue, counted so that the
count can only go down; an English program reads English throughout."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from db import Phase, check_report, evaluate, load_program
from duban import app
from flows import decision_question
from notifications import render_bulletin
from schedule import claim_refusal, read_plan, upload_refusal
from tests.support.factories import TASKS, UNITS, program_yaml, write_plan
from tests.support.programs import check, outbox_lines, setup

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schedule", "db", "notifications", "flows", "duban")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# Chinese that duban reads, not says: each file's count of string literals holding Chinese (docstrings aside).
INPUT_VOCABULARY = {
    "schedule/time_limits.py": (76, "完成时限 as offices write them: the words and patterns parsed"),
    "schedule/unit_names.py": (3, "brackets and separators in unit names as the 分工表 writes them"),
    "schedule/model.py": (5, "the Chinese phase names a 分工表's 阶段 column may use (also default names)"),
    "schedule/plan_folder/reader.py": (24, "the 分工表 column headers accepted, named when one is missing"),
    "db/selfcheck.py": (12, "completion words a unit writes in its returned self-check form"),
    "db/acceptance.py": (3, "separators and 及/和/与 splitting a 成果形式 into its checklist items"),
    "notifications/workbooks/report_forms.py": (1, "separators a unit writes between the files of 佐证材料"),
    "notifications/workbooks/tasks.py": (1, "宋体 (SimSun), the typeface of official documents: a font name"),
    "duban/simulation/evidence.py": (6, "words that make a simulated evidence file a table (表, 台账, …)"),
}
# Output not yet in the catalogue (issue 9, still open): Chinese only. The counts may only go down; a file not
# listed here or above may hold no Chinese literal at all. What remains in duban/cli/ is --help text (said in
# Chinese: no program, so no language, at --help time; docs/design.md "Texts and templates").
NOT_YET_IN_CATALOGUE = {
    "duban/cli/phase_work.py": 18, "duban/cli/replay.py": 3, "duban/cli/main.py": 21,
    "duban/cli/remediation.py": 3, "duban/cli/progress.py": 4, "duban/cli/plan.py": 3,
    "duban/cli/deliveries.py": 6, "duban/cli/portal.py": 8, "duban/cli/support.py": 7,
    "duban/simulation/units.py": 8,
    "notifications/dispatch.py": 2, "flows/decide.py": 1, "db/remediation.py": 1,
    "notifications/render/digest.py": 1, "duban/simulation/home.py": 1,
}


def chinese_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and CJK.search(node.value)]


def sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if "migrations" not in p.parts)


@pytest.mark.parametrize("module", sources())
def test_chinese_in_code_is_input_vocabulary_or_counted(module):
    found = chinese_literals(ROOT / module)
    allowed = INPUT_VOCABULARY.get(module, (0, ""))[0] + NOT_YET_IN_CATALOGUE.get(module, 0)
    assert len(found) <= allowed, (
        f"{module}: {len(found)} Chinese literals, {allowed} allowed; put what a user reads in "
        f"schedule/locales/{{zh-CN,en}}.yaml: {found[:5]}")


def test_the_tables_name_files_that_exist():
    for module in [*INPUT_VOCABULARY, *NOT_YET_IN_CATALOGUE]:
        assert (ROOT / module).is_file(), module


# ---------------------------------------------------------------- an English program, end to end

# The plan's own words (unit and task names, time limits as written) are the office's data, kept as written.
PLAN_DATA = sorted({str(v) for row in TASKS for v in row if v}
                   | {u["name"] for u in UNITS} | {a for u in UNITS for a in u.get("aliases", [])}
                   | {program_yaml()["name"]}, key=len, reverse=True)
# A Chinese term kept beside its English gloss on purpose: "Interviews (约谈) proposed".
GLOSSES = ("约谈",)


def without_plan_data(said: str) -> str:
    for words in (*PLAN_DATA, *GLOSSES):
        said = said.replace(words, "")
    return said


def assert_english(said: str) -> None:
    left = without_plan_data(said)
    assert not CJK.search(left), [line for line in left.splitlines() if CJK.search(line)][:5]


@pytest.fixture
def english(tmp_path):
    return setup(tmp_path, program=program_yaml(language="en"))


def test_an_english_programs_digests_are_english(english):
    check(english, date(2023, 3, 1))
    check(english, date(2023, 4, 25))
    lines = outbox_lines(english)
    assert {"assignment"} <= {kind for line in lines for kind in line["kinds"]}
    for line in lines:
        assert_english(line["subject"] + line["text"])


def test_an_english_programs_gate_reasons_decisions_and_bulletin_are_english(english):
    with english.transaction() as session:
        ctx = load_program(session, "demo-city")
        phase = session.query(Phase).filter_by(program_id="demo-city", kind="implementation").one()
        phase.state = "open"
        reasons = evaluate(session, "demo-city", phase, date(2024, 7, 2)).reasons
        question, options = decision_question(session, ctx, "implementation", date(2024, 7, 2))
        bulletin = render_bulletin(session, ctx, date(2024, 7, 2), fmt="md")
    assert "task(s) due in the phase not done: A1, A2" in " ".join(reasons)
    assert question.startswith("Phase Implementation") and "close the phase" in options.values()
    for said in (*reasons, question, *options.values(), bulletin):
        assert_english(said)


@pytest.mark.parametrize(("attempt", "expected"), [
    (lambda s, ctx: check_report(s, ctx, "A1", "court", "done", 100, []), "only the lead unit may claim"),
    (lambda s, ctx: check_report(s, ctx, "A1", "msa", "done", 100, []), "a done claim needs evidence"),
    (lambda s, ctx: check_report(s, ctx, "A1", "police", "finished", 10, []), "status 'finished' should be"),
    (lambda s, ctx: check_report(s, ctx, "Z9", "msa", "done", 100, []), "has no task with code 'Z9'"),
])
def test_an_english_programs_refusals_are_english(english, attempt, expected):
    with english.transaction() as session, pytest.raises((ValueError, LookupError)) as refused:
        attempt(session, load_program(session, "demo-city"))
    assert expected in str(refused.value)
    assert_english(str(refused.value))


@pytest.mark.parametrize(("refusal", "english", "chinese"), [
    (claim_refusal("done", False, None, [], "en"), "only the lead unit", None),
    (claim_refusal("done", False, None, [], None), None, "只有牵头单位"),
    (upload_refusal("a.exe", 10, "en"), "a.exe: file type .exe is not accepted", None),
    (upload_refusal("a.pdf", 0, "zh-CN"), None, "a.pdf：文件为空"),
])
def test_the_rules_refuse_in_the_language_asked(refusal, english, chinese):
    assert (english or chinese) in refusal
    assert bool(CJK.search(refusal)) == (chinese is not None)


def test_an_english_programs_status_is_english(english):
    result = CliRunner().invoke(app, ["status", "demo-city", "--db", english.settings.db_url,
                                      "--as-of", "2023-03-01"])
    assert result.exit_code == 0, result.output
    assert "Phases" in result.output and "as of 2023-03-01" in result.output
    assert_english(result.output)
    missing = CliRunner().invoke(app, ["tasks", "demo-city", "--db", english.settings.db_url, "--unit", "x"])
    assert_english(missing.output)


@pytest.mark.parametrize(("program", "tasks", "expected"), [
    ({"timezone": "Mars/Olympus"}, None, "program.yaml:3:11: unknown time zone 'Mars/Olympus'"),
    ({"phases": "soon"}, None, "phases should be a list of phases"),
    ({}, [["D1", "任务部署", "印发实施方案", "领导小组办公室", "", "下周", "", ""]],
     "tasks.xlsx:2:F: time limit '下周' not recognised: not a known way of writing it"),
    ({}, [["D1", "任务部署", "印发实施方案", "不存在的局", "", "2023年4月底前", "", ""]],
     "unknown unit '不存在的局'"),
    ({}, [["D1", "任务部署", "印发实施方案", "领导小组办公室", "", "2023年13月", "", ""]],
     "month 13 is not within 1–12"),
])
def test_an_english_plans_errors_are_english_and_located(tmp_path, program, tasks, expected):
    plan = write_plan(tmp_path, program=program_yaml(language="en", **program), tasks=tasks)
    reading = read_plan(plan)
    said = "\n".join(str(p) for p in reading.problems)
    assert not reading.ok and expected in said, said
    for cell in (v for row in tasks or [] for v in row if v):  # the plan's own words, quoted
        said = said.replace(cell, "")
    assert_english(said.split("write e.g.")[0])  # the examples are Chinese time limits, as offices write them
    result = CliRunner().invoke(app, ["plan", "validate", str(plan)])
    assert result.exit_code == 1 and expected in result.output


def test_a_chinese_plans_errors_stay_chinese(tmp_path):
    plan = write_plan(tmp_path, program=program_yaml(timezone="Mars/Olympus"))
    assert "未知时区「Mars/Olympus」" in str(read_plan(plan).problems[0])
