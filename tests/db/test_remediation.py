"""补差提升: findings become items with a unit and a due date in the window; units close them, the coordinator
accepts them; the gate; the reminder ladder on items; the command."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from db import (
    Event,
    Finding,
    InvalidInput,
    Phase,
    ProgressReport,
    RemediationItem,
    accept_item,
    content_candidates,
    derive_items,
    evaluate,
    is_item_code,
    item_due,
    list_items,
    package_data,
    report_item,
    task_rows,
)
from tests.support.programs import at, cli_app, ctx_of, make_db, runner, set_phase, with_findings


def codes_and_dues(sessions) -> list[tuple[str, str, str, str]]:
    with sessions.begin() as session:
        return [
            (i["code"], i["unit"], i["task"], i["due"])
            for i in list_items(session, ctx_of(session), date(2024, 8, 1))
        ]


def test_findings_become_items_when_the_window_opens_once(tmp_path):
    sessions, _ = with_findings(tmp_path)
    with sessions.begin() as session:
        assert derive_items(session, ctx_of(session), date(2024, 7, 31), at(date(2024, 7, 31))) == []
        created = derive_items(session, ctx_of(session), date(2024, 8, 1), at(date(2024, 8, 1)))
        assert [c["code"] for c in created] == ["R-1", "R-2", "R-3"]
        assert derive_items(session, ctx_of(session), date(2024, 8, 2), at(date(2024, 8, 2))) == []
    # 20 workdays counted from the window's first day (2024-08-01 is day 1): 2024-08-28.
    assert codes_and_dues(sessions) == [
        ("R-1", "msa", "A2", "2024-08-28"),
        ("R-2", "msa", "B1", "2024-08-28"),
        ("R-3", "police", "C1", "2024-08-28"),
    ]
    with sessions.begin() as session:
        findings = [(f.kind, f.detail) for f in session.scalars(select(Finding).order_by(Finding.id))]
        assert findings == [("partial", "协作机制未落地"), ("no_evidence", None), ("not_done", "培训未开展")]
        assert (
            session.scalar(select(Event).where(Event.kind == "remediation.derived")).data["items"][0] == "R-1"
        )


def test_a_late_finding_gets_twenty_workdays_but_never_past_the_window(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        phase = session.scalar(select(Phase).where(Phase.kind == "remediation"))
        calendar = ctx_of(session).policies.work_calendar()
        assert item_due(date(2024, 9, 2), phase, calendar) == date(2024, 9, 30)
        assert item_due(date(2025, 3, 20), phase, calendar) == date(2025, 3, 31)
        assert item_due(date(2024, 6, 20), phase, calendar) == date(2024, 8, 28)
    assert is_item_code("R-12") and not is_item_code("A1") and not is_item_code("R1")


def test_units_close_their_items_and_the_tasks_follow(tmp_path):
    sessions, _ = with_findings(tmp_path)
    evidence = tmp_path / "培训台账.csv"
    evidence.write_text("x", "utf-8")
    with sessions.begin() as session:
        ctx = ctx_of(session)
        derive_items(session, ctx, date(2024, 8, 1), at(date(2024, 8, 1)))
        try:
            report_item(session, ctx, "R-3", "msa", "done", None, None, [], at(date(2024, 8, 5)))
            raise AssertionError("another unit's item was closed")
        except InvalidInput as exc:
            assert "属于单位「市公安局」（police），不是「msa」" in str(exc)
        try:
            report_item(session, ctx, "R-2", "msa", "done", None, None, [], at(date(2024, 8, 5)))
            raise AssertionError("closed without evidence")
        except InvalidInput as exc:
            assert "须附佐证材料" in str(exc)
        progress = report_item(
            session, ctx, "R-3", "police", "in_progress", 50, "已启动", [], at(date(2024, 8, 5))
        )
        assert progress["state"] == "open"
        closed = report_item(
            session, ctx, "R-3", "police", "done", None, "培训已完成", [str(evidence)], at(date(2024, 8, 20))
        )
        assert closed["state"] == "closed" and not closed["late"]
        # Closing a "not done" item records the task's 办结 with the evidence.
        c1 = next(r for r in task_rows(session, ctx, date(2024, 8, 20)) if r["code"] == "C1")
        assert c1["status"] == "done" and c1["done_on"] == "2024-08-20"
        assert session.scalar(select(ProgressReport.evidence).where(ProgressReport.note == "培训已完成")) == [
            str(evidence)
        ]
        report_item(session, ctx, "R-2", "msa", "done", None, None, [str(evidence)], at(date(2024, 9, 2)))
        late = next(i for i in list_items(session, ctx, date(2024, 9, 2)) if i["code"] == "R-2")
        assert late["state"] == "closed" and late["late"]
        # Closing a "no evidence" item of a done task adds the evidence as a report repeating its state.
        repeated = session.execute(
            select(ProgressReport.status, ProgressReport.progress, ProgressReport.evidence)
            .order_by(ProgressReport.id.desc())).first()
        assert tuple(repeated) == ("done", 100, [str(evidence)])
        try:
            report_item(session, ctx, "R-2", "msa", "done", None, None, [str(evidence)], at(date(2024, 9, 3)))
            raise AssertionError("closed twice")
        except InvalidInput as exc:
            assert "已办结" in str(exc)


def test_the_gate_holds_when_every_item_is_closed_or_accepted(tmp_path):
    sessions, _ = with_findings(tmp_path)
    evidence = tmp_path / "e.pdf"
    evidence.write_text("x")
    with sessions.begin() as session:
        ctx = ctx_of(session)
        phase = session.scalar(select(Phase).where(Phase.kind == "remediation"))
        result = evaluate(session, ctx.id, phase, date(2024, 7, 1))
        assert not result.holds and result.reasons == ["尚未转为整改事项的自查问题 3 个"]
        derive_items(session, ctx, date(2024, 8, 1), at(date(2024, 8, 1)))
        assert evaluate(session, ctx.id, phase, date(2025, 4, 1)).reasons == [
            "未办结的整改事项 3 项: R-1, R-2, R-3"
        ]
        for code, unit in (("R-1", "msa"), ("R-2", "msa")):
            report_item(session, ctx, code, unit, "done", None, None, [str(evidence)], at(date(2024, 8, 20)))
        assert not evaluate(session, ctx.id, phase, date(2025, 4, 1)).holds
        accept_item(session, ctx, "R-3", "王主任", at(date(2024, 8, 21)), "培训场地问题已协调")
        assert evaluate(session, ctx.id, phase, date(2025, 4, 1)).holds
        event = session.scalar(select(Event).where(Event.kind == "remediation.accepted"))
        assert (event.subject, event.actor) == ("item:R-3", "王主任")


def keys(sessions, day: date) -> list[str]:
    with sessions.begin() as session:
        ctx = ctx_of(session)
        return sorted(c.key for c in content_candidates(session, ctx, day)
                      if c.kind.startswith("remediation"))


def test_items_are_reminded_chased_and_escalated_like_tasks(tmp_path):
    sessions, _ = with_findings(tmp_path)
    with sessions.begin() as session:
        derive_items(session, ctx_of(session), date(2024, 8, 1), at(date(2024, 8, 1)))
        for item in session.scalars(select(RemediationItem).where(RemediationItem.code != "R-1")):
            item.state = "closed"
    assert keys(sessions, date(2024, 8, 1)) == ["remediation_assigned:demo-city:R-1:msa"]
    # Due 2024-08-28: the 10-workday reminder from 2024-08-14, the 3-day one from 2024-08-23.
    assert keys(sessions, date(2024, 8, 14))[1] == "remediation_before_due:demo-city:R-1:msa:2024-08-28:10"
    assert keys(sessions, date(2024, 8, 23))[1] == "remediation_before_due:demo-city:R-1:msa:2024-08-28:3"
    assert keys(sessions, date(2024, 8, 29))[1:] == ["remediation_overdue:demo-city:R-1:msa:2024-08-28:1"]
    assert keys(sessions, date(2024, 9, 6))[1:] == [
        "remediation_escalation:demo-city:R-1:coordinator:msa:2024-08-28:3",
        "remediation_escalation:demo-city:R-1:msa:leader:2024-08-28:3",
        "remediation_overdue:demo-city:R-1:msa:2024-08-28:3"]
    with sessions.begin() as session:
        ctx = ctx_of(session)
        escalation = next(c for c in content_candidates(session, ctx, date(2024, 9, 6))
                          if c.kind == "remediation_escalation" and c.audience == "leader")
        assert (
            escalation.task_code == "R-1"
            and escalation.data["task"] == "A2"
            and escalation.data["title"].startswith("R-1 A2")
        )


def items_open(tmp_path):
    """The findings' items derived, remediation open, an evidence file at hand: (sessions, url, evidence)."""
    sessions, url = with_findings(tmp_path)
    with sessions.begin() as session:
        derive_items(session, ctx_of(session), date(2024, 8, 1), at(date(2024, 8, 1)))
        set_phase(session, "demo-city", "remediation", "open")
    evidence = tmp_path / "合作协议.pdf"
    evidence.write_text("x")
    return sessions, url, evidence


def test_the_remediation_command(tmp_path, home):
    sessions, url, evidence = items_open(tmp_path)
    app = cli_app()
    result = runner.invoke(app, ["remediation", "demo-city", "--db", url, "--as-of", "2024-09-02", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [i["code"] for i in listed["items"]] == ["R-1", "R-2", "R-3"]
    assert listed["items"][0]["overdue_workdays"] == 3 and listed["findings_without_items"] == 0
    result = runner.invoke(
        app,
        [
            "remediation", "demo-city", "--close", "R-1", "--unit", "msa", "--evidence", str(evidence),
            "--db", url, "--as-of", "2024-08-20", "--json"],
    )
    assert result.exit_code == 0, result.output
    action = json.loads(result.stdout)["action"]
    assert action["state"] == "closed"
    # Stored by content under the home, recorded relative to it (db/evidence.py).
    [recorded] = action["evidence"]
    assert recorded.startswith("evidence/sha256/") and recorded.endswith("/合作协议.pdf")
    assert (home / recorded).read_text() == "x"
    result = runner.invoke(
        app, ["remediation", "demo-city", "--accept", "R-3", "--by", "王主任", "--db", url]
    )
    assert result.exit_code == 0 and "R-3 → 牵头办认可" in result.stdout
    result = runner.invoke(app, ["remediation", "demo-city", "--close", "R-9", "--unit", "msa", "--db", url])
    assert result.exit_code == 1 and "没有整改事项「R-9」" in result.stderr
    assert runner.invoke(app, ["remediation", "demo-city", "--close", "R-2", "--db", url]).exit_code == 2
    with sessions.begin() as session:
        assert (
            session.scalar(select(func.count(RemediationItem.id)).where(RemediationItem.state == "open")) == 1
        )


def test_an_item_records_its_cause_and_measure_and_the_package_shows_them(tmp_path, home):
    sessions, url, evidence = items_open(tmp_path)
    app = cli_app()
    closed = runner.invoke(app, [
        "remediation", "demo-city", "--close", "R-1", "--unit", "msa", "--evidence", str(evidence),
        "--cause", "川渝协商周期长", "--measure", "签订合作协议并建立联席会议", "--db", url,
        "--as-of", "2024-08-20", "--json"])
    assert closed.exit_code == 0, closed.output
    assert json.loads(closed.stdout)["action"]["cause"] == "川渝协商周期长"
    reported = runner.invoke(app, [
        "report", "demo-city", "R-2", "--unit", "msa", "--status", "done", "--evidence", str(evidence),
        "--db", url, "--as-of", "2024-08-21", "--json"])  # closed without its cause and measure
    assert reported.exit_code == 0, reported.output
    with sessions.begin() as session:
        data = package_data(session, ctx_of(session), None, date(2024, 9, 2), home=home)
    rows = {r["code"]: r for r in data["remediation"]}
    assert (rows["R-1"]["cause"], rows["R-1"]["measure"]) == ("川渝协商周期长", "签订合作协议并建立联席会议")
    assert [(g["task"], g["kind"]) for g in data["gaps"] if g["kind"].startswith("remediation")] == [
        ("R-2", "remediation_unexplained"), ("R-3", "remediation_open")]
    a2 = next(t for t in data["tasks"] if t["code"] == "A2")
    assert "原因分析：川渝协商周期长；整改措施：签订合作协议并建立联席会议" in a2["remediation"][0]
