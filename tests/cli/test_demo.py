"""The main job: `duban demo` replays the Chengdu plan end to end, and `duban simulate` previews any plan."""

from __future__ import annotations

import gc
import json
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from duban import SimulatedUnits, UnitModel, app

runner = CliRunner()
PLANS = Path(__file__).resolve().parents[2] / "plans"


def test_demo_replays_the_chengdu_plan_to_its_acceptance_package(home):
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    output = result.stdout
    for opened in (
        "2023-03-01 │ 任务部署 │ 开始", "2023-05-01 │ 组织实施 │ 开始", "2024-06-01 │ 自查自评 │ 开始",
        "2024-08-01 │ 补差提升 │ 开始", "2025-04-01 │ 验收准备 │ 开始"):
        assert opened in output
    assert "Traceback" not in result.output
    assert "验收材料包: 就绪度" in output and "约谈名单" in output

    demo = home / "demo"
    outbox = [json.loads(line) for line in (demo / "outbox.jsonl").read_text("utf-8").splitlines()]
    kinds = {kind for line in outbox for kind in line["kinds"]}
    assert {"assignment", "before_due", "overdue", "escalation", "bulletin", "selfcheck_form"} <= kinds
    sent = [i for line in outbox for i in line["notice_ids"]]
    assert len(sent) == len(set(sent))  # every notice went out once

    package = demo / "reports" / "acceptance"
    index = load_workbook(package / "index.xlsx").active
    assert index.max_row > 40
    assert "<html" in (package / "report.html").read_text("utf-8")
    archive = next(package.glob("*.zip"))
    with zipfile.ZipFile(archive) as zf:
        assert {"index.xlsx", "report.html"} <= set(zf.namelist())
    # The simulated units close their 整改事项 as the portal asks units to: with 原因分析 and 整改措施.
    with create_engine(f"sqlite:///{demo / 'duban.db'}").connect() as connection:
        closed, unexplained = connection.execute(text(
            "SELECT count(*), sum(cause IS NULL OR measure IS NULL) FROM remediation_items "
            "WHERE state = 'closed'")).one()
    assert closed > 0 and unexplained == 0


def test_simulate_previews_a_plan_folder_in_its_own_home_and_is_deterministic(home):
    arguments = [
        "simulate", str(PLANS / "county-ip-2023"), "--from", "2023-05-01", "--to", "2023-09-30", "--json"]
    first = runner.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["transitions"][0]["phase"] == "deployment"
    assert summary["notices"]["assignment"] > 0
    assert Path(summary["outbox"]).is_relative_to(home / "simulations" / "county-ip-2023")
    again = json.loads(runner.invoke(app, arguments).stdout)
    assert again["notices"] == summary["notices"] and again["reports"] == summary["reports"]
    assert not (home / "duban.db").exists()  # the user's own database is untouched


def test_the_units_sign_on_the_days_they_would_if_they_looked_every_workday(home, monkeypatch):
    """The replay's units read what waits for their 签收 only when a 交办 may have gone out since or one left
    waiting is due (UnitModel.to_sign): the same 签收, on the same days, as units that look every workday."""
    arguments = [
        "simulate", str(PLANS / "chengdu-2023"), "--from", "2023-03-01", "--to", "2023-05-31", "--json"]

    def signed() -> tuple[int, list]:
        summary = json.loads(runner.invoke(app, arguments).stdout)
        with create_engine(f"sqlite:///{Path(summary['home']) / 'duban.db'}").connect() as connection:
            acks = connection.execute(text(
                "SELECT task_id, unit_id, acked_on FROM assignment_acks ORDER BY task_id, unit_id")).all()
        return summary["units_side"]["acks"], acks

    skipping = signed()
    monkeypatch.setattr(UnitModel, "to_sign", lambda _model, _today: True)
    assert signed() == skipping and skipping[0] > 0


def test_the_units_keep_the_phases_between_checks_and_do_as_units_that_read_them_every_workday(
        home, monkeypatch):
    """The replay's units read the phases again only after a check that moved one (SimulatedUnits.heard);
    the same forms, findings, evidence, remediation and extensions as units that read them every workday,
    through the self-check's opening, its end and the remediation's opening."""
    arguments = [
        "simulate", str(PLANS / "chengdu-2023"), "--from", "2024-05-20", "--to", "2024-09-20", "--json"]
    tables = {
        "selfcheck_returns": "unit_id, returned_on, rows", "findings": "unit_id, task_id, kind, found_on",
        "remediation_items": "code, state, closed_on",
        "progress_reports": "task_id, unit_id, reported_at, evidence",
        "extension_requests": "task_id, from_due, to_due, state"}

    def replayed() -> tuple[dict, dict]:
        summary = json.loads(runner.invoke(app, arguments).stdout)
        with create_engine(f"sqlite:///{Path(summary['home']) / 'duban.db'}").connect() as connection:
            rows = {table: connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY id")).all()
                    for table, columns in tables.items()}
        return {key: summary[key] for key in ("notices", "messages", "reports", "units_side")}, rows

    keeping = replayed()
    assert keeping[1]["selfcheck_returns"] and keeping[1]["remediation_items"]
    monkeypatch.setattr(SimulatedUnits, "heard", lambda _units, _check: None)  # never told: read every day
    assert replayed() == keeping


def test_simulate_reads_the_plan_from_db_and_never_writes_into_it(home, tmp_path):
    url = f"sqlite:///{tmp_path / 'real.db'}"
    assert runner.invoke(app, ["plan", "import", str(PLANS / "county-ip-2023"), "--db", url]).exit_code == 0
    before = _rows(url)
    result = runner.invoke(app, ["simulate", "county-ip-2023", "--db", url, "--from", "2023-05-01",
                                 "--to", "2023-06-30", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["reports"] > 0 or summary["notices"]
    assert Path(summary["home"]).is_relative_to(home / "simulations")
    assert _rows(url) == before  # nothing simulated reached the database the plan was read from


def _rows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {t: connection.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
                  for t in ("progress_reports", "notices", "events", "task_instances")}
    engine.dispose()
    return counts


def test_a_replay_sets_the_heap_before_it_aside_from_the_collector_and_hands_it_back(home, monkeypatch):
    """duban.simulation.home: the objects the process held when the replay started are frozen for it (its
    full collections scan only what it made), then unfrozen: nothing stays out of the collector's reach."""
    frozen_during: list[int] = []
    heard = SimulatedUnits.heard

    def watched(units, check) -> None:
        frozen_during.append(gc.get_freeze_count())
        heard(units, check)

    monkeypatch.setattr(SimulatedUnits, "heard", watched)
    before = gc.get_freeze_count()
    arguments = ["simulate", str(PLANS / "county-ip-2023"), "--from", "2023-05-01", "--to", "2023-05-10"]
    assert runner.invoke(app, [*arguments, "--json"]).exit_code == 0
    assert frozen_during and frozen_during[0] > before and gc.get_freeze_count() == before
