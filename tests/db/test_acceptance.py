"""验收准备: the evidence checklist, the package (index workbook, evidence files, report.html, zip), the
readiness score and its gaps, the gate."""

from __future__ import annotations

import json
import zipfile
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from db import Phase, checklist, derive_items, evaluate, list_items, matches, record_report, report_item
from notifications import build_package, import_forms
from tests.support.factories import program_yaml
from tests.support.programs import at, cli_app, ctx_of, fill, forms, make_db, runner


def test_the_checklist_comes_from_the_expected_results_column():
    assert checklist("合作协议及联席会议纪要") == ["合作协议", "联席会议纪要"]
    assert checklist("跨区域协作协议、联合执法案件统计表") == ["跨区域协作协议", "联合执法案件统计表"]
    assert checklist("年度创新举措及典型案例汇编等") == ["年度创新举措", "典型案例汇编"]
    assert checklist("知识产权普及教育") == ["知识产权普及教育"]  # 普 alone is no item
    assert checklist(None) == [] and checklist("") == []
    assert matches("合作协议", "/x/2023年成渝合作协议（签字版）.pdf") and not matches(
        "会议纪要", "合作协议.pdf"
    )


def evidence(tmp_path, name: str) -> str:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(name, "utf-8")
    return str(path)


def prepared(tmp_path, **program):
    sessions, url = make_db(tmp_path, program=program_yaml(**program) if program else None)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(
            session, ctx, "D1", "office", "done", None, None, [evidence(tmp_path, "印发文件.pdf")],
            at(date(2023, 4, 20)))
        record_report(session, ctx, "A1", "msa", "done", None, None,
                      [evidence(tmp_path, "合作协议.pdf"), "https://example.org/a1"], at(date(2023, 6, 20)))
        record_report(
            session, ctx, "A2", "msa", "done", None, None, [evidence(tmp_path, "其他.pdf")],
            at(date(2024, 1, 5)))
        record_report(session, ctx, "B1", "police", "done", None, None, [], at(date(2024, 5, 5)))
        record_report(
            session, ctx, "C1", "court", "done", None, None, [str(tmp_path / "gone.pdf")],
            at(date(2024, 3, 1)))
    return sessions, url


def test_the_package_gathers_the_evidence_and_scores_readiness(tmp_path):
    sessions, _ = prepared(tmp_path)
    out = tmp_path / "package"
    with sessions.begin() as session:
        result = build_package(session, ctx_of(session), out, date(2025, 4, 20))
    # D1 100, A1 100, A2 50+25+0 (no file named 会议纪要), B1 50 (no evidence), B2 0 (not done), C1 50 (file
    # gone).
    assert result["readiness"] == 62.5
    assert (result["tasks"], result["done"], result["on_time"], result["with_evidence"], result["files"]) == (
        6, 5, 4, 3, 4)
    assert [(g["task"], g["kind"]) for g in result["gaps"]] == [
        ("A2", "checklist"), ("B1", "no_evidence"), ("B2", "not_done"), ("B2", "no_evidence"),
        ("C1", "no_evidence"), ("C1", "missing_file")]
    assert (out / "evidence" / "D1" / "印发文件.pdf").read_text("utf-8") == "印发文件.pdf"
    sheet = load_workbook(out / "index.xlsx").worksheets[0]
    assert [c.value for c in sheet[2]][:8] == [
        "编号", "重点任务", "工作举措", "牵头单位", "配合单位", "完成时限", "原定时限", "完成日期"]
    rows = {row[0].value: [c.value for c in row] for row in sheet.iter_rows(min_row=3)}
    assert list(rows) == ["D1", "A1", "A2", "B1", "B2", "C1"]
    assert rows["A1"][11] == "evidence/A1/合作协议.pdf\nhttps://example.org/a1"
    assert rows["A2"][7] == "2024-01-05" and rows["A2"][9] == "否" and rows["A2"][12] == "会议纪要"
    html = (out / "report.html").read_text("utf-8")
    assert (
        "验收准备情况报告" in html
        and "62.5" in html
        and "分牵头单位完成及时情况" in html
        and "佐证材料文件缺失：gone.pdf" in html
    )
    with zipfile.ZipFile(result["zip"]) as archive:
        assert sorted(archive.namelist()) == [
            "evidence/A1/合作协议.pdf", "evidence/A2/其他.pdf", "evidence/D1/印发文件.pdf", "index.xlsx",
            "report.html"]
    # Rebuilt: the same package, no stale files.
    with sessions.begin() as session:
        assert (
            build_package(session, ctx_of(session), out, date(2025, 4, 20), force=True)["readiness"] == 62.5
        )


def test_remediation_history_is_in_the_index(tmp_path):
    sessions, _ = make_db(tmp_path)
    path = fill(forms(sessions, tmp_path)["police"], {"C1": ("未完成", 40, None, "培训未开展")})
    with sessions.begin() as session:
        ctx = ctx_of(session)
        import_forms(session, ctx, [path], at(date(2024, 6, 20)))
        derive_items(session, ctx, date(2024, 8, 1), at(date(2024, 8, 1)))
        code = next(i["code"] for i in list_items(session, ctx, date(2024, 8, 1)) if i["task"] == "C1")
        report_item(
            session, ctx, code, "police", "done", None, None, [evidence(tmp_path, "培训台账.csv")],
            at(date(2024, 8, 20)))
        data = build_package(session, ctx, tmp_path / "p", date(2025, 4, 20))
    sheet = load_workbook(tmp_path / "p" / "index.xlsx").worksheets[0]
    c1 = next([c.value for c in row] for row in sheet.iter_rows(min_row=3) if row[0].value == "C1")
    assert c1[14].startswith(f"{code} 自查未完成（police，时限 2024-08-28）→ 已办结 2024-08-20")
    assert "police: 未完成 40" in c1[13]
    assert data["remediation"]["closed"] >= 1


def test_the_gate_wants_every_task_done_with_evidence(tmp_path):
    sessions, _ = prepared(tmp_path)
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "acceptance"))
        result = evaluate(session, "demo-city", phase, date(2025, 5, 6))
        assert not result.holds
        assert result.reasons == ["未办结的任务 1 项: B2", "已办结但无佐证材料的任务 1 项: B1"]
        ctx = ctx_of(session)
        for _ in range(8):
            record_report(
                session, ctx, "B2", "police", "done", None, None, [evidence(tmp_path, "统计表.csv")],
                at(date(2025, 4, 1)))
        record_report(
            session, ctx, "B1", "police", "done", None, None, [evidence(tmp_path, "案件统计表.csv")],
            at(date(2025, 4, 1)))
        assert evaluate(session, "demo-city", phase, date(2025, 5, 6)).holds


def test_an_english_program_gets_english_gate_reasons(tmp_path):
    sessions, _ = prepared(tmp_path, language="en")
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "acceptance"))
        result = evaluate(session, "demo-city", phase, date(2025, 5, 6))
    assert result.reasons == ["1 task(s) not done: B2", "1 task(s) done without evidence: B1"]


def test_the_acceptance_command_in_english(tmp_path, home):
    _, url = prepared(tmp_path, language="en")
    result = runner.invoke(cli_app(), ["acceptance", "package", "demo-city", "--out", str(tmp_path / "pkg"),
                                       "--as-of", "2025-04-20", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["readiness"] == 62.5 and data["zip"].endswith("demo-city-acceptance-2025-04-20.zip")
    sheet = load_workbook(tmp_path / "pkg" / "index.xlsx").worksheets[0]
    assert sheet["A2"].value == "Code" and sheet.title == "Index"
    assert "Acceptance readiness report" in (tmp_path / "pkg" / "report.html").read_text("utf-8")
