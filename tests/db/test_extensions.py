"""延期申请: refused with the option concerned and nothing changed; on approval the due date, the light and
every later reminder follow the new date, and the history keeps both dates."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from db import (
    CoordinatorDecision,
    Event,
    ExtensionRequest,
    InvalidInput,
    NotFound,
    TaskInstance,
    approve_extension,
    content_candidates,
    list_extensions,
    plan_candidates,
    preview,
    reject_extension,
    request_extension,
    task_rows,
)
from tests.support.programs import at, cli_app, ctx_of, make_db, runner

# A2 (lead msa, co justice) is due 2023-12-31; the program ends 2025-04-30.


def refused(sessions, code, unit, to, reason, day) -> str:
    with sessions.begin() as session:
        try:
            request_extension(session, ctx_of(session), code, unit, to, reason, at(day))
        except (InvalidInput, NotFound) as exc:
            return str(exc)
    raise AssertionError("the request was accepted")


def a2(session) -> dict:
    return next(r for r in task_rows(session, ctx_of(session), date(2024, 1, 2)) if r["code"] == "A2")


def msa_asks_for_a2(session, ctx) -> dict:
    """On 2023-12-20, msa asks to move A2 (due 2023-12-31) to 2024-01-31."""
    return request_extension(
        session, ctx, "A2", "msa", date(2024, 1, 31), "等待川渝协商", at(date(2023, 12, 20))
    )


def test_bad_requests_are_refused_and_nothing_changes(tmp_path):
    sessions, _ = make_db(tmp_path)
    day = date(2023, 12, 20)
    for code, unit, to, reason, on, expected in [  # an expected message ending in … is its beginning
        ("A2", "msa", date(2023, 12, 19), "x", day, "--to 2023-12-19: 新时限早于今天（2023-12-20）"),
        ("A2", "msa", date(2025, 5, 6), "x", day, "--to 2025-05-06: 新时限晚于计划结束日 2025-04-30"),
        ("A2", "msa", date(2023, 12, 29), "x", day, "--to 2023-12-29: 新时限应晚于当前时限 2023-12-31"),
        ("A2", "msa", date(2024, 1, 31), "x", date(2024, 1, 2),
         "CODE A2: 完成时限 2023-12-31 已过，延期申请须在时限前提出（今天 2024-01-02）"),
        ("A2", "police", date(2024, 1, 31), "x", day,
         "--unit police: 单位「市公安局」不是任务 A2 的责任单位（justice, msa），不能申请延期"),
        ("A9", "msa", date(2024, 1, 31), "x", day, "CODE A9: 计划「demo-city」中没有编号为「A9」的任务"),
        ("A2", "nobody", date(2024, 1, 31), "x", day, "--unit nobody: 计划「demo-city」中没有单位「nobody」"),
        ("A2", "msa", date(2024, 1, 31), "  ", day, "--reason: 请填写延期理由"),
        ("B1", "police", date(2024, 1, 31), "x", day, "CODE B1: 任务没有完成时限…"),
    ]:
        message = refused(sessions, code, unit, to, reason, on)
        if expected.endswith("…"):
            assert message.startswith(expected[:-1]), message
        else:
            assert message == expected
    with sessions.begin() as session:
        assert session.scalar(select(func.count(ExtensionRequest.id))) == 0
        assert a2(session)["due"] == "2023-12-31"
        # A co-unit may ask, and a member of a collective for the collective's task; a second pending one
        # may not.
        request_extension(
            session, ctx_of(session), "A2", "justice", date(2024, 1, 31), "等待协议签署", at(day)
        )
        request_extension(
            session, ctx_of(session), "C1", "court", date(2024, 4, 15), "培训场地", at(date(2024, 3, 1))
        )
    assert (
        refused(sessions, "A2", "msa", date(2024, 1, 31), "x", day)
        == "CODE A2: 已有待审批的延期申请 #1，请等待牵头办决定"
    )


def test_an_approved_extension_moves_the_light_and_every_later_reminder(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        request = msa_asks_for_a2(session, ctx)
        assert request["state"] == "pending" and request["from"] == "2023-12-31"
        # Still pending on 2024-01-02: the old date holds, A2 is red and chased.
        assert a2(session)["light"] == "red"
        overdue = [c.key for c in preview(session, plan_candidates(session, ctx, date(2024, 1, 2)))
                   if c.task_code == "A2"]
        assert overdue and all(k.startswith("overdue:") and ":2023-12-31:" in k for k in overdue)
        approved = approve_extension(session, ctx, request["id"], "王主任", at(date(2024, 1, 2)), "同意")
        assert (approved["state"], approved["to"], approved["decided_by"]) == (
            "approved",
            "2024-01-31",
            "王主任",
        )
        instance = session.scalar(select(TaskInstance).where(TaskInstance.due == date(2024, 1, 31)))
        assert instance.original_due == date(2023, 12, 31)
        row = a2(session)
        assert (row["due"], row["original_due"], row["light"]) == (
            "2024-01-31",
            "2023-12-31",
            "yellow",
        )  # behind 序时进度, no longer red
        assert [c for c in preview(session, plan_candidates(session, ctx, date(2024, 1, 2)))
                if c.task_code == "A2"] == []
        # The before-due rungs re-arm for the new date: 10 workdays before 2024-01-31 is 2024-01-17.
        rungs = sorted(c.key for c in preview(session, plan_candidates(session, ctx, date(2024, 1, 17)))
                       if c.task_code == "A2")
        assert rungs == [f"before_due:demo-city:{instance.id}:justice:2024-01-31:10",
                         f"before_due:demo-city:{instance.id}:msa:2024-01-31:10"]
        assert session.scalar(select(CoordinatorDecision.subject)) == f"extension:{request['id']}"
        event = session.scalar(select(Event).where(Event.kind == "extension.approved"))
        assert (
            event.actor == "王主任"
            and event.data["from"] == "2023-12-31"
            and event.data["to"] == "2024-01-31"
        )
        # The unit hears of the decision once; the coordinator heard of the request while it was pending.
        notices = [c for c in content_candidates(session, ctx, date(2024, 1, 2))
                   if c.kind.startswith("extension")]
        assert [(c.key, c.data["note"]) for c in notices] == [
            (f"extension_decided:demo-city:ext{request['id']}:msa:approved", "完成时限为 2024-01-31；同意")]


def test_a_rejected_extension_keeps_the_date_and_the_coordinator_is_told_of_requests(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        request = msa_asks_for_a2(session, ctx)
        pending = [c for c in content_candidates(session, ctx, date(2023, 12, 20))]
        assert [(c.key, c.unit_id == ctx.program.coordinator_unit_id) for c in pending] == [
            (f"extension_requested:demo-city:ext{request['id']}:coordinator", True)]
        rejected = reject_extension(
            session, ctx, request["id"], "王主任", at(date(2023, 12, 22)), "请按期完成"
        )
        assert rejected["state"] == "rejected" and a2(session)["due"] == "2023-12-31"
        try:
            approve_extension(session, ctx, request["id"], "王主任", at(date(2023, 12, 22)))
            raise AssertionError("decided twice")
        except InvalidInput as exc:
            assert "已驳回" in str(exc)
        assert [r["state"] for r in list_extensions(session, ctx)] == ["rejected"]


def test_the_extension_commands(tmp_path, home):
    _, url = make_db(tmp_path)
    app = cli_app()
    base = ["--db", url]
    result = runner.invoke(
        app,
        [
            "extension", "request", "demo-city", "A2", "--unit", "msa", "--to", "2024-01-31", "--reason",
            "等待川渝协商", "--as-of", "2023-12-20", "--json", *base],
    )
    assert result.exit_code == 0, result.output
    request_id = json.loads(result.stdout)["id"]
    result = runner.invoke(
        app,
        [
            "extension", "request", "demo-city", "A2", "--unit", "msa", "--to", "2025-06-30", "--reason",
            "x", "--as-of", "2023-12-20", *base],
    )
    assert result.exit_code == 1 and "--to 2025-06-30: 新时限晚于计划结束日 2025-04-30" in result.stderr
    result = runner.invoke(app, ["extension", "request", "demo-city", "A2", "--unit", "msa", "--to", "明年",
                                 "--reason", "x", *base])
    assert result.exit_code == 2
    result = runner.invoke(app, ["extension", "approve", "demo-city", str(request_id), "--by", "王主任",
                                 "--as-of", "2023-12-21", *base])
    assert result.exit_code == 0 and "改为 2024-01-31" in result.stdout
    result = runner.invoke(app, ["extension", "reject", "demo-city", str(request_id), *base])
    assert result.exit_code == 1 and "已批准" in result.stderr
    result = runner.invoke(app, ["extension", "list", "demo-city", "--json", *base])
    assert [(r["id"], r["state"], r["decided_by"]) for r in json.loads(result.stdout)] == [
        (request_id, "approved", "王主任")
    ]
    assert runner.invoke(app, ["extension", "approve", "demo-city", "99", *base]).exit_code == 1
