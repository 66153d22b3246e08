"""自查自评: forms out per unit, returned forms read back (all or nothing, located errors), findings, the
gate, the notices that chase missing forms, the coordinator's decision (on the command line; in a paused
Prefect run: tests/flows/test_supervise_flow.py), the simulated units."""

from __future__ import annotations

import json
import random
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select, update

from db import (
    CoordinatorDecision,
    Event,
    Finding,
    InstallationSecret,
    Phase,
    ProgressReport,
    SelfCheckReturn,
    SelfCheckRow,
    Task,
    advance,
    claim,
    content_candidates,
    derive_items,
    evaluate,
    form_spec,
    import_program,
    installation_key,
    list_items,
    load_program,
    record_report,
)
from duban import SimulatedUnits
from notifications import (
    META_SHEET,
    form_filename,
    import_forms,
    read_form,
    read_report_form,
    selfcheck_form_attachment,
    write_form,
    write_forms,
)
from schedule import read_plan
from tests.support.factories import program_yaml, write_plan
from tests.support.programs import at, cli_app, ctx_of, fill, forms, make_db, runner, set_phase

# ---------------------------------------------------------------- forms out


def test_each_unit_with_tasks_gets_a_protected_form_with_its_own_tasks(tmp_path):
    sessions, _ = make_db(tmp_path)
    written = forms(sessions, tmp_path)
    # The collective 市直有关单位 stands for its members: court, police and justice each get C1.
    assert sorted(written) == ["court", "justice", "msa", "office", "police"]
    workbook = load_workbook(written["msa"])
    sheet = workbook.worksheets[0]
    assert sheet.title == "自查表" and sheet.protection.sheet
    assert sheet["B2"].value == "demo-city" and sheet["B3"].value == "msa"
    assert [c.value for c in sheet[5]][:8] == [
        "序号", "重点任务", "工作举措", "本单位角色", "完成时限", "成果形式", "系统记录进展", "完成情况"]
    rows = [[c.value for c in row[:5]] for row in sheet.iter_rows(min_row=6) if row[0].value]
    assert rows == [["A1", "协同保护", "建立成渝知识产权保护联动机制", "牵头", "2023-06-30"],
                    ["A2", "协同保护", "深化跨区域协作", "牵头", "2023-12-31"],
                    ["B1", "快速保护", "开展专项执法行动", "配合", "长期坚持"]]
    assert not sheet["H6"].protection.locked and sheet["A6"].protection.locked
    assert sheet["A6"].fill.fgColor.rgb == "00EDEDED" and sheet["A1"].font.b and sheet["A5"].font.b
    assert sheet.freeze_panes == "A6" and sheet.row_dimensions[4].height == 48
    assert sheet.column_dimensions["C"].width == 48 and not sheet.protection.formatColumns
    assert sorted(str(r) for r in sheet.merged_cells.ranges) == ["A1:K1", "B4:K4", "E2:K2", "E3:K3"]
    checks = sheet.data_validations.dataValidation
    assert [(v.type, v.formula1, v.formula2, str(v.sqref)) for v in checks] == [
        ("list", '"已完成,部分完成,未完成"', None, "H6:H8"), ("whole", "0", "100", "I6:I8")]
    meta = workbook[META_SHEET]
    assert meta.sheet_state == "veryHidden" and meta.protection.sheet
    assert [c.value for c in meta[5]] == ["header_row", 5, None]
    court = load_workbook(written["court"]).worksheets[0]
    assert [r[0].value for r in court.iter_rows(min_row=6) if r[0].value] == ["A1", "C1"]
    with sessions.begin() as session:
        attachment = selfcheck_form_attachment(session, ctx_of(session), "police")
    assert attachment.filename == form_filename("demo-city", "police") and attachment.content[:2] == b"PK"


@pytest.mark.parametrize(("completion", "score", "evidence", "problems", "read_back"), [
    ("已完成", 95, "台账.xlsx、照片.pdf", None, ("done", 95, ("台账.xlsx", "照片.pdf"), None)),
    ("部分完成", 60, None, "  经费不足 & <b>未到位</b>  ", ("partial", 60, (), "经费不足 & <b>未到位</b>")),
    ("未完成", None, None, "=HYPERLINK(\"http://x\")", ("not_done", None, (), "=HYPERLINK(\"http://x\")")),
    ("已完成", 100, "a\x07b.pdf\r\nc.pdf", "line one\nline two", ("done", 100, ("ab.pdf", "c.pdf"),
                                                               "line one\nline two")),
])
def test_a_form_written_with_a_units_answers_reads_back_as_them(tmp_path, completion, score, evidence,
                                                               problems, read_back):
    """write_form with answers (what the simulated units return): the workbook written reads back through the
    real reader as the unit wrote it, hostile text neutralised on the way out and taken back on the way in."""
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        spec = form_spec(session, ctx_of(session), "msa")
    path = tmp_path / "returned.xlsx"
    path.write_bytes(write_form(spec, {"A1": (completion, score, evidence, problems)}))
    form = read_form(path)
    assert [(r.code, r.row) for r in form.rows] == [("A1", 6)]
    row = form.rows[0]
    assert (row.completion, row.self_score, row.evidence, row.problems) == read_back
    # The rows left blank are each said, at their 完成情况 cell.
    assert [(p.row, p.column) for p in form.problems] == [(7, "H"), (8, "H")]
    assert form.program_id == "demo-city" and form.unit_code == "msa" and form.signature == spec.signature


def test_an_english_program_gets_english_forms(tmp_path):
    sessions, _ = make_db(tmp_path, program=program_yaml(language="en"))
    sheet = load_workbook(forms(sessions, tmp_path)["msa"]).worksheets[0]
    assert sheet.title == "Self-check" and sheet["H5"].value == "Completion" and sheet["D6"].value == "lead"


def test_an_english_programs_returned_forms_are_refused_in_english(tmp_path):
    sessions, _ = make_db(tmp_path, program=program_yaml(language="en"))
    path = fill(forms(sessions, tmp_path)["msa"],
                {"A1": ("Done", "many", None, None), "A2": (None, 90, None, None)})
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    with sessions.begin() as session:
        _, problems = import_forms(session, ctx_of(session), [path, junk], at(date(2024, 6, 20)))
    said = [p.message for p in problems]
    assert said == ["self-score 'many' is not a number (should be a whole number 0–100)",
                    "completion not filled in (Done / Partly done / Not done)",
                    "not an .xlsx workbook: cannot be read"], said
    report = read_report_form(junk.read_bytes(), "r.xlsx", "en")
    assert [p.message for p in report.problems] == ["not an .xlsx workbook: cannot be read"]


# ---------------------------------------------------------------- forms back


def test_a_returned_form_is_recorded_with_its_findings(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        record_report(session, ctx_of(session), "A1", "msa", "done", None, None, [], at(date(2023, 6, 20)))
    path = fill(forms(sessions, tmp_path)["msa"], {
        "A1": ("已完成", 95, "合作协议.pdf、https://example.org/a1", None),
        "A2": ("部分完成", 70, None, "协作机制未落地"),
        "B1": ("已完成", 88, None, "执法力量不足"),
    })
    with sessions.begin() as session:
        results, problems = import_forms(session, ctx_of(session), [path], at(date(2024, 6, 20)), "msa")
    assert problems == [] and results[0]["unit"] == "msa" and results[0]["on_time"]
    with sessions.begin() as session:
        returned = session.scalar(select(SelfCheckReturn))
        assert returned.returned_on == date(2024, 6, 20) and returned.rows == 3
        rows = session.scalars(select(SelfCheckRow).order_by(SelfCheckRow.row)).all()
        assert [(r.row, r.completion, r.self_score) for r in rows] == [
            (6, "done", 95),
            (7, "partial", 70),
            (8, "done", 88),
        ]
        assert rows[0].evidence == ["合作协议.pdf", "https://example.org/a1"]
        findings = sorted((f.kind, f.detail) for f in session.scalars(select(Finding)))
        # A2 partly done; B1 done but without evidence, and a problem reported.
        assert findings == [
            ("no_evidence", "执法力量不足"),
            ("partial", "协作机制未落地"),
            ("problem", "执法力量不足"),
        ]
        assert session.scalar(select(Event).where(Event.kind == "selfcheck.returned")).subject == "unit:msa"


def test_forms_imported_one_after_another_share_the_task_list_and_the_codes_their_caller_holds(tmp_path):
    """The simulated units return their forms one import at a time in one transaction: the task list is read
    once for all of them (a return is Core inserts, not a flush that drops it), and an import given a unit's
    issued codes checks the form against them."""
    sessions, _ = make_db(tmp_path)
    written = forms(sessions, tmp_path)
    engine = sessions.kw["bind"]
    lists: list[str] = []

    def task_list(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and "row_number() OVER" in statement:
            lists.append(statement)

    event.listen(engine, "before_cursor_execute", task_list)
    try:
        with sessions.begin() as session:
            ctx = ctx_of(session)
            msa, problems = import_forms(session, ctx, [fill(written["msa"], {})], at(date(2024, 6, 20)),
                                         issued={"msa": {"A1", "A2"}})
            assert [p.severity for p in problems] == ["warning"] and "B1" in problems[0].message
            court, problems = import_forms(session, ctx, [fill(written["court"], {})], at(date(2024, 6, 20)))
            assert problems == []
    finally:
        event.remove(engine, "before_cursor_execute", task_list)
    assert (msa[0]["rows"], court[0]["rows"]) == (2, 2)
    assert len(lists) == 1


def test_tasks_claimed_done_without_a_report_and_tasks_not_yet_due(tmp_path):
    sessions, _ = make_db(tmp_path)
    written = forms(sessions, tmp_path)
    # justice: A2 (due 2023-12-31) claimed done although nothing was reported; C1 not done.
    path = fill(
        written["justice"], {"A2": ("已完成", 90, "纪要.pdf", None), "C1": ("未完成", 30, None, None)}
    )
    with sessions.begin() as session:
        import_forms(session, ctx_of(session), [path], at(date(2024, 6, 20)))
        assert sorted(f.kind for f in session.scalars(select(Finding))) == ["not_done", "unreported"]


FILLED = {
    "A1": ("已完成", 95, "a.pdf", None),
    "A2": ("已完成", 95, "b.pdf", None),
    "B1": ("已完成", 95, "c.pdf", None),
}


def test_bad_forms_are_refused_with_the_cell_and_nothing_is_recorded(tmp_path):
    sessions, _ = make_db(tmp_path)
    written = forms(sessions, tmp_path)
    good = fill(written["court"], {}, tmp_path / "good.xlsx")  # fine, but imported only with the others
    bad = fill(written["msa"], {**FILLED, "A2": ("差不多", 120, None, None)}, tmp_path / "bad.xlsx")
    workbook = load_workbook(bad)
    sheet = workbook.worksheets[0]
    sheet["A8"] = "B9"          # an edited task code
    sheet["I6"] = 9.5           # not a whole number
    workbook.save(bad)
    with sessions.begin() as session:
        results, problems = import_forms(session, ctx_of(session), [good, bad], at(date(2024, 6, 20)))
    assert results == []
    shown = [str(p) for p in problems]
    assert shown == [
        f"{bad}:6:I: 自评分 9.5 应为整数（0–100）",
        f"{bad}:7:H: 完成情况「差不多」应为 已完成 / 部分完成 / 未完成",
        f"{bad}:7:I: 自评分 120 超出范围 0–100", f"{bad}:8:A: 任务编号「B9」被修改（下发时为「B1」）"]
    with sessions.begin() as session:
        assert session.scalar(select(func.count(SelfCheckReturn.id))) == 0
        assert session.scalar(select(func.count(Finding.id))) == 0


def test_missing_rows_blank_completion_and_edited_headers(tmp_path):
    sessions, _ = make_db(tmp_path)
    original = forms(sessions, tmp_path)["msa"]
    path = fill(original, {**FILLED, "A2": (None, 80, None, None)}, tmp_path / "msa.xlsx")
    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    sheet.protection.sheet = False
    sheet.delete_rows(8)
    workbook.save(path)
    problems = [str(p) for p in read_form(path).problems]
    assert problems == [f"{path}:7:H: 未填写完成情况（已完成 / 部分完成 / 未完成）",
                        f"{path}:8:A: 缺少任务「B1」的行（下发时在第 8 行；请勿删除行）"]
    sheet["H5"] = "完成"
    sheet["B3"] = "court"
    workbook.save(path)
    assert [str(p) for p in read_form(path).problems] == [
        f"{path}:3:B: 单位编号被修改：表中为「court」，下发时为「msa」",
        f"{path}:5:H: 表头「完成」被修改，应为「完成情况」（请勿增删或移动列）"]


def _rewrite_sheet(path: Path, out: Path, change) -> Path:
    """A copy of the workbook with its first sheet's XML changed, as another program might write it."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            target.writestr(item, change(content) if item.filename == "xl/worksheets/sheet1.xml" else content)
    return out


def test_a_form_is_read_in_full_whatever_size_it_claims_and_a_damaged_sheet_is_said(tmp_path):
    """Forms are read in openpyxl's read-only mode, which trusts the size a sheet claims: it must not."""
    sessions, _ = make_db(tmp_path)
    path = fill(forms(sessions, tmp_path)["msa"], FILLED)
    def claim_less(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', xml)

    claims_less = _rewrite_sheet(path, tmp_path / "less.xlsx", claim_less)
    assert b'ref="A1:B2"' in zipfile.ZipFile(claims_less).read("xl/worksheets/sheet1.xml")
    form = read_form(claims_less)
    assert form.problems == [] and [(r.row, r.code) for r in form.rows] == [(6, "A1"), (7, "A2"), (8, "B1")]
    damaged = _rewrite_sheet(path, tmp_path / "damaged.xlsx", lambda xml: xml[: len(xml) // 2])
    assert [str(p) for p in read_form(damaged).problems] == [f"{damaged}:-:-: 不是 .xlsx 工作簿，无法读取"]


def test_forms_of_another_program_or_unit_duplicates_and_foreign_files(tmp_path):
    sessions, _ = make_db(tmp_path)
    reading = read_plan(write_plan(tmp_path, program=program_yaml("other-city"), name="other"))
    with sessions.begin() as session:
        import_program(session, reading.program, at(date(2023, 2, 1)))
    ours = fill(forms(sessions, tmp_path)["msa"], FILLED)
    with sessions.begin() as session:
        theirs = Path(
            write_forms(session, load_program(session, "other-city"), tmp_path / "other-forms", ["msa"])[0][
                "file"
            ]
        )
    fill(theirs, FILLED)
    plain = tmp_path / "plain.xlsx"
    Workbook().save(plain)
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    with sessions.begin() as session:
        ctx = ctx_of(session)
        _, problems = import_forms(session, ctx, [theirs, ours, plain, text], at(date(2024, 6, 20)), "court")
        assert [str(p) for p in problems] == [
            f"{plain}:-:-: 不是 duban 下发的自查表（缺少表单信息页）：请使用下发的表格填写",
            f"{text}:-:-: 不是 .xlsx 工作簿，无法读取",
            f"{theirs}:2:B: 本表属于计划「other-city」，不是「demo-city」：未导入",
            f"{ours}:3:B: 本表是单位「市市场监督管理局（知识产权局）」（msa）的自查表，不是「court」的：未"
            "导入",
        ]
        _, problems = import_forms(session, ctx, [ours, ours], at(date(2024, 6, 20)))
        assert [str(p) for p in problems] == [
            f"{ours}:-:-: 重复交回：单位「市市场监督管理局（知识产权局）」的自查表在本次导入中已有 {ours}"]
        results, problems = import_forms(session, ctx, [ours], at(date(2024, 6, 20)))
        assert results and not problems
    with sessions.begin() as session:
        _, problems = import_forms(session, ctx_of(session), [ours], at(date(2024, 6, 21)))
    assert [str(p) for p in problems] == [
        f"{ours}:-:-: 重复交回（同一文件）：单位「市市场监督管理局（知识产权局）」的自查表已于 2024-06-20 "
        "导入"
        f"（文件 {ours}），本次未导入"
    ]


def test_the_selfcheck_commands(tmp_path, home):
    sessions, url = make_db(tmp_path)
    app = cli_app()
    result = runner.invoke(
        app, ["selfcheck", "forms", "demo-city", "--out", str(tmp_path / "out"), "--db", url, "--json"]
    )
    assert result.exit_code == 0, result.output
    written = {f["unit"]: Path(f["file"]) for f in json.loads(result.stdout)["forms"]}
    assert sorted(written) == ["court", "justice", "msa", "office", "police"]
    bad = fill(written["msa"], {**FILLED, "B1": ("已完成", 101, None, None)}, tmp_path / "bad.xlsx")
    result = runner.invoke(
        app, ["selfcheck", "import", "demo-city", str(bad), "--db", url, "--as-of", "2024-06-20"]
    )
    assert result.exit_code == 1
    assert f"{bad}:8:I: 自评分 101 超出范围 0–100" in result.stderr
    good = fill(written["msa"], FILLED)
    result = runner.invoke(
        app, ["selfcheck", "import", "demo-city", str(good), "--db", url, "--as-of", "2024-06-20", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"][0]["unit"] == "msa"
    result = runner.invoke(app, ["selfcheck", "status", "demo-city", "--db", url, "--json"])
    assert json.loads(result.stdout)["missing"] == ["court", "justice", "office", "police"]
    result = runner.invoke(
        app, ["selfcheck", "forms", "demo-city", "--out", str(tmp_path), "--unit", "nobody", "--db", url]
    )
    assert result.exit_code == 1 and "--unit nobody" in result.stderr


# ---------------------------------------------------------------- gate, decisions, notices


def test_the_gate_holds_when_every_form_is_back_or_the_coordinator_approves(tmp_path, home):
    sessions, url = make_db(tmp_path)
    written = forms(sessions, tmp_path)
    with sessions.begin() as session:
        import_forms(session, ctx_of(session), [fill(written[u], {}) for u in ("court", "justice", "msa")],
                     at(date(2024, 7, 1)))
        set_phase(session, "demo-city", "self_check", "overrun")
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "self_check"))
        result = evaluate(session, "demo-city", phase, date(2024, 8, 5))
        assert not result.holds and result.reasons == [
            "未交回自查表的单位 2 个: 市知识产权工作领导小组办公室, 市公安局"]
    result = runner.invoke(
        cli_app(),
        [
            "phase", "approve", "demo-city", "self_check", "--by", "王主任", "--note", "两单位已说明",
            "--db", url, "--as-of", "2024-08-05", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overridden"] == [
        "未交回自查表的单位 2 个: 市知识产权工作领导小组办公室, 市公安局"]
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "self_check"))
        assert evaluate(session, "demo-city", phase, date(2024, 8, 5)).holds and phase.approved_by == "王主任"
        event = session.scalar(select(Event).where(Event.kind == "phase.approved"))
        assert event.actor == "王主任" and event.data["note"] == "两单位已说明"
        # The phase machine closes it at the next check.
        advance(session, ctx_of(session), date(2024, 8, 6), at(date(2024, 8, 6)))
        assert phase.state == "closed" and phase.closed_on == date(2024, 8, 6)
    assert (
        runner.invoke(cli_app(), ["phase", "approve", "demo-city", "self_check", "--db", url]).exit_code == 1
    )
    # A kind the program does not have (phases are the plan's own): refused with the program's phases.
    unknown = runner.invoke(cli_app(), ["phase", "approve", "demo-city", "selfcheck", "--db", url])
    assert unknown.exit_code == 1 and "deployment | implementation | self_check" in unknown.output
    spaced = runner.invoke(cli_app(), ["phase", "approve", "demo-city", "self check", "--db", url])
    assert spaced.exit_code == 2


def keys(sessions, day: date) -> list[str]:
    with sessions.begin() as session:
        ctx = ctx_of(session)
        return sorted(c.key for c in content_candidates(session, ctx, day))


def test_missing_forms_are_chased_on_the_ladder_and_escalated(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        set_phase(session, "demo-city", "self_check", "open")
    assert keys(sessions, date(2024, 5, 31)) == []  # before the window
    first = keys(sessions, date(2024, 6, 3))
    assert "selfcheck_form:demo-city:self_check:police" in first and len(first) == 5
    written = forms(sessions, tmp_path)
    with sessions.begin() as session:
        import_forms(
            session, ctx_of(session), [fill(written[u], {}) for u in ("court", "justice", "msa", "office")],
            at(date(2024, 6, 20)))
    # 2024-07-31 is the end: 10 workdays before is 2024-07-17, 3 before 2024-07-26, 1 before 2024-07-30.
    assert keys(sessions, date(2024, 7, 17)) == ["selfcheck_form:demo-city:self_check:police",
                                                 "selfcheck_missing:demo-city:self_check:police:unit:2024-07"
                                                 "-31:b10"]
    assert keys(sessions, date(2024, 7, 30))[1].endswith(":b1")
    with sessions.begin() as session:
        set_phase(session, "demo-city", "self_check", "overrun")
    assert (
        keys(sessions, date(2024, 8, 1))[1]
        == "selfcheck_missing:demo-city:self_check:police:unit:2024-07-31:o1"
    )
    # Slot 3 (7th–9th workday after the end) passes escalate_after 2: the leader and the coordinator are
    # copied.
    late = keys(sessions, date(2024, 8, 9))
    assert late[1:] == ["selfcheck_missing:demo-city:self_check:coordinator:police:2024-07-31:o3",
                        "selfcheck_missing:demo-city:self_check:police:leader:2024-07-31:o3",
                        "selfcheck_missing:demo-city:self_check:police:unit:2024-07-31:o3"]
    assert keys(sessions, date(2024, 8, 10)) == []  # a Saturday
    with sessions.begin() as session:
        ctx = ctx_of(session)
        candidates = content_candidates(session, ctx, date(2024, 8, 9))
        claimed = claim(session, ctx, candidates, at(date(2024, 8, 9)))
        assert claimed == {"selfcheck_missing": 3, "selfcheck_form": 1}
        assert not claim(session, ctx, candidates, at(date(2024, 8, 9)))  # exactly once
        escalation = next(c for c in candidates if c.audience == "leader")
        assert escalation.data["escalated"] and "督办" in escalation.data["note"]
        session.add(
            CoordinatorDecision(
                program_id="demo-city", kind="phase", subject="phase:self_check", approve=True,
                decided_by="王主任", decided_at=at(date(2024, 8, 9)))
        )
    assert keys(sessions, date(2024, 8, 12)) == []  # closing approved: no more chasing


@pytest.mark.parametrize("state", ["pending", "closed"])
def test_forms_are_chased_only_while_self_check_runs(tmp_path, state):
    """The daily check's program step leaves the self-check forms out while the phase rests (flows.check):
    nothing of a phase not running is ever chased, in its window or after it, forms back or not."""
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        set_phase(session, "demo-city", "self_check", state)
    for day in (date(2024, 6, 3), date(2024, 7, 30), date(2024, 8, 9)):
        with sessions.begin() as session:
            assert content_candidates(session, ctx_of(session), day, ("self_check",)) == []


def test_the_signing_key_is_read_once_per_transaction(tmp_path):
    """An import signs and verifies every form with the key read once; a transaction after it reads it again
    (one written in a transaction rolled back is gone with it)."""
    sessions, _ = make_db(tmp_path)
    replaced = "ab" * 32
    with sessions() as session:
        first = installation_key(session, "probe")
        session.commit()
        assert installation_key(session, "probe") == first
        with sessions.begin() as other:
            other.execute(update(InstallationSecret).where(InstallationSecret.name == "probe")
                          .values(value=replaced))
        assert installation_key(session, "probe") == first  # held by the transaction that read it
        session.commit()
        assert installation_key(session, "probe") == bytes.fromhex(replaced)


def test_the_decision_form_requires_who_decided():
    import pydantic

    from flows.decide import CoordinatorDecision as DecisionForm  # Prefect loads with the form's module

    with pytest.raises(pydantic.ValidationError):
        DecisionForm(approve=True, note="同意")
    with pytest.raises(pydantic.ValidationError):
        DecisionForm(approve=True, decided_by="")
    assert DecisionForm(approve=True, decided_by="王主任").decided_by == "王主任"


# ---------------------------------------------------------------- simulation


def replay_content(tmp_path: Path, seed: int) -> dict:
    sessions, _ = make_db(tmp_path)
    rng = random.Random(seed)
    day, counts = date(2024, 5, 31), {}
    with sessions.begin() as session:
        ctx = ctx_of(session)
        calendar = ctx.policies.work_calendar()
        for code, unit in (("D1", "office"), ("A1", "msa"), ("A2", "msa"), ("B2", "police")):
            record_report(session, ctx, code, unit, "done", None, None, [], at(date(2023, 4, 20)))
        record_report(session, ctx, "C1", "police", "in_progress", 50, None, [], at(date(2024, 3, 1)))
    units = SimulatedUnits(tmp_path / "home")
    while day <= date(2024, 11, 29):
        with sessions.begin() as session:
            ctx = ctx_of(session)
            advance(session, ctx, day, at(day))
            derive_items(session, ctx, day, at(day))
            if calendar.is_workday(day):
                for key, value in units.work(session, ctx, day, at(day, 15), rng).items():
                    counts[key] = counts.get(key, 0) + value
        day = date.fromordinal(day.toordinal() + 1)
    with sessions.begin() as session:
        returns = sorted(
            (r.unit_id, r.returned_on.isoformat()) for r in session.scalars(select(SelfCheckReturn))
        )
        items = [(i["code"], i["state"], i["closed_on"]) for i in list_items(session, ctx_of(session), day)]
    return {"counts": counts, "returns": returns, "items": items}


def test_simulated_units_give_evidence_once_to_done_tasks_none_of_whose_reports_carries_a_file(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "A1", "msa", "done", None, None, ["协议.pdf"], at(date(2023, 5, 30)))
        record_report(session, ctx, "D1", "office", "done", None, None, [], at(date(2023, 5, 30)))
    units, rng, day = SimulatedUnits(tmp_path / "home"), random.Random(3), date(2023, 6, 1)
    while day <= date(2023, 9, 29):
        with sessions.begin() as session:
            units.work(session, ctx_of(session), day, at(day, 15), rng)
        day = date.fromordinal(day.toordinal() + 1)
    with sessions.begin() as session:
        carried = session.execute(select(Task.code, ProgressReport.evidence).join(Task)
                                  .order_by(ProgressReport.id)).all()
    assert [code for code, _files in carried] == ["A1", "D1", "D1"]
    assert carried[2].evidence and all(Path(f).is_file() for f in carried[2].evidence)


def test_simulated_units_return_forms_and_close_items_deterministically(tmp_path):
    first = replay_content(tmp_path / "a", 7)
    assert first == replay_content(tmp_path / "b", 7)
    assert first["counts"]["selfcheck_returned"] == 5
    assert first["items"] and all(state == "closed" for _code, state, _on in first["items"])
    files = list((tmp_path / "a" / "home" / "evidence" / "demo-city").rglob("*.*"))
    assert files and (tmp_path / "a" / "home" / "selfcheck" / "demo-city" / "returned").is_dir()
    pdf = next(f for f in files if f.suffix == ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF-1.4")
