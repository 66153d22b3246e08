"""通报: counts by light per unit, the red list, failed deliveries, extensions granted; markdown, HTML,
workbook; Chinese by default, English for an English program; the command."""

from __future__ import annotations

import io
import json
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from db import Delivery, Task, TaskInstance, approve_extension, record_report, request_extension
from notifications import bulletin_data, render_bulletin
from tests.support.factories import program_yaml
from tests.support.programs import at, cli_app, ctx_of, make_db, runner

AS_OF = date(2024, 1, 10)


def with_history(tmp_path, **program):
    sessions, url = make_db(tmp_path, program=program_yaml(**program) if program else None)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "D1", "office", "done", None, None, [], at(date(2023, 4, 28)))
        request = request_extension(
            session, ctx, "A1", "msa", date(2023, 7, 14), "等待川渝协商", at(date(2023, 6, 20))
        )
        approve_extension(session, ctx, request["id"], "王主任", at(date(2023, 6, 21)))
        moment = at(date(2024, 1, 8))
        # m2's fate is unknown (the run died mid-send): the bulletin counts it with the failed ones.
        for message, unit, state in (
            ("m1", "police", "failed"), ("m2", "police", "unknown"), ("m3", "msa", "failed"),
            ("m3", "msa", "delivered"), ("m4", "court", "delivered")):
            session.add(Delivery(message_id=message, program_id="demo-city", unit_code=unit, channel=f"mailto://…{state}",
                                 channel_key=f"{message}-{state}", kind="email", state=state, first_at=moment,
                                 last_at=moment, kinds=["overdue"], task_codes=[], notice_ids=[]))
    return sessions, url


def test_the_markdown_bulletin(tmp_path):
    sessions, _ = with_history(tmp_path)
    with sessions.begin() as session:
        text = render_bulletin(session, ctx_of(session), AS_OF)
        data = bulletin_data(session, ctx_of(session), AS_OF)
    assert text.startswith("## 示范城市知识产权保护示范区建设 · 工作通报（截至 2024-01-10）")
    assert "**总体**：共 6 项任务，办结率 17%。办结 1，红灯 3，" in text
    # The red list, most overdue first: B2's first quarter (2023-06-30), A1 after its extension, A2.
    assert [(r["code"], r["due"], r["overdue_workdays"]) for r in data["red"]] == [
        ("B2", "2023-06-30", 133), ("A1", "2023-07-14", 123), ("A2", "2023-12-31", 7)]
    assert "| A2 | 深化跨区域协作 | 市市场监督管理局（知识产权局） | 2023-12-31 | 7 |" in text
    assert (
        "| 市公安局 | 2 | 1 | 1 | 0 | 0 | 0 | 2 |" in text
    )  # two messages that reached the police by no channel
    assert "- 市公安局：2 条通知未能送达或结果不明" in text and "市场监督管理局（知识产权局）：1" not in text
    assert (
        "- A1（市市场监督管理局（知识产权局））：2023-06-30 → 2023-07-14，2023-06-21 由 王主任 批准。理由："
        "等待川渝协商"
        in text
    )
    assert "### 约谈建议" in text and "市公安局：红牌" in text



def test_the_bulletin_sees_the_writes_its_transaction_has_not_flushed_yet(tmp_path):
    """Its reads are built once on the tables, which the ORM does not autoflush before: they flush first."""
    sessions, _ = with_history(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        before = bulletin_data(session, ctx, AS_OF)
        instance = session.scalar(select(TaskInstance).join(Task).where(Task.code == "A2"))
        instance.status, instance.progress, instance.done_on = "done", 100, AS_OF
        session.add(Delivery(message_id="m5", program_id="demo-city", unit_code="court", channel="mailto://…",
                             channel_key="m5-failed", kind="email", state="failed", first_at=at(AS_OF),
                             last_at=at(AS_OF), kinds=["overdue"], task_codes=[], notice_ids=[]))
        after = bulletin_data(session, ctx, AS_OF)
    assert after["lights"]["done"] == before["lights"]["done"] + 1
    assert [r["code"] for r in after["red"]] == [r["code"] for r in before["red"] if r["code"] != "A2"]
    assert {f["unit"]: f["count"] for f in after["failed"]} == {"police": 2, "court": 1}


def test_a_digest_or_artifact_lists_the_longest_overdue_and_counts_the_rest(tmp_path):
    """A 100,000-task program's bulletin must stay readable in a message: `listed` keeps the head of the red
    list (the longest overdue first) and says how many more, and where the whole list is."""
    sessions, _ = with_history(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        terminal = render_bulletin(session, ctx, AS_OF, listed=2)
        message = render_bulletin(session, ctx, AS_OF, listed=2, commands=False)
        english = render_bulletin(session, ctx, AS_OF, listed=1, language="en")
        whole = render_bulletin(session, ctx, AS_OF)
        head, data = bulletin_data(session, ctx, AS_OF, listed=2), bulletin_data(session, ctx, AS_OF)
    # Only the rows listed are built; the rest are counted.
    assert head["red"] == data["red"][:2] and head["red_total"] == data["red_total"] == len(data["red"]) == 3
    assert {k: v for k, v in head.items() if k != "red"} == {k: v for k, v in data.items() if k != "red"}
    assert "| B2 |" in terminal and "| A1 |" in terminal and "| A2 |" not in terminal
    assert "### 红灯事项（3 项）" in terminal
    more = "另有 1 项红灯事项未列出（按逾期工作日列前 2 项）"
    assert f"{more}；完整清单：`duban bulletin demo-city --format xlsx`。" in terminal
    assert f"{more}。" in message and "duban" not in message
    assert "2 more red items not listed (the 1 longest overdue are)" in english
    assert "| A2 |" in whole and "未列出" not in whole

def test_html_and_workbook_and_english(tmp_path):
    sessions, _ = with_history(tmp_path, language="en")
    with sessions.begin() as session:
        ctx = ctx_of(session)
        markdown = render_bulletin(session, ctx, AS_OF)
        html = render_bulletin(session, ctx, AS_OF, fmt="html")
        chinese = render_bulletin(session, ctx, AS_OF, fmt="html", language="zh-CN")
        workbook = load_workbook(io.BytesIO(render_bulletin(session, ctx, AS_OF, fmt="xlsx")))
    assert (
        markdown.startswith("## 示范城市知识产权保护示范区建设 · Bulletin (as of 2024-01-10)")
        and "### Red list (3)" in markdown
    )
    assert html.startswith("<!DOCTYPE html>") and "<h2>Red list (3)</h2>" in html and "<td>B2</td>" in html
    assert "工作通报" in chinese
    assert workbook.sheetnames == ["Units", "Red list", "Extensions"]
    assert [c.value for c in workbook["Red list"][3]][:2] == ["B2", "报送季度执法数据"]


def test_the_bulletin_command(tmp_path, home):
    _, url = with_history(tmp_path)
    app = cli_app()
    result = runner.invoke(app, ["bulletin", "demo-city", "--as-of", "2024-01-10", "--db", url])
    assert result.exit_code == 0 and result.stdout.startswith("## 示范城市知识产权保护示范区建设 · 工作通报")
    result = runner.invoke(
        app, ["bulletin", "demo-city", "--as-of", "2024-01-10", "--format", "html", "--db", url]
    )
    written = home / "reports" / "bulletin-demo-city-2024-01-10.html"
    assert result.exit_code == 0 and written.is_file() and str(written) in result.stdout
    out = tmp_path / "b.xlsx"
    result = runner.invoke(
        app,
        [
            "bulletin", "demo-city", "--as-of", "2024-01-10", "--format", "xlsx", "--out", str(out), "--db",
            url, "--json"],
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["file"] == str(out) and out.stat().st_size > 0
    assert runner.invoke(app, ["bulletin", "demo-city", "--format", "pdf", "--db", url]).exit_code == 2


def test_the_bulletin_praises_units_on_time_and_criticises_the_late_never_the_coordinator(tmp_path):
    sessions, _ = make_db(tmp_path)
    with sessions.begin() as session:
        ctx = ctx_of(session)
        record_report(session, ctx, "D1", "office", "done", None, None, [], at(date(2023, 4, 20)))
        record_report(session, ctx, "A1", "msa", "done", None, None, [], at(date(2023, 6, 20)))  # early
        record_report(session, ctx, "A2", "msa", "done", None, None, [], at(date(2023, 12, 29)))  # on the day
        data = bulletin_data(session, ctx, AS_OF)
        chinese = render_bulletin(session, ctx, AS_OF)
        english = render_bulletin(session, ctx, AS_OF, language="en", fmt="html")
    msa = "市市场监督管理局（知识产权局）"
    assert data["praise"] == [{"unit": "msa", "name": msa, "early": 2, "on_time": 0}]
    assert [c["unit"] for c in data["criticism"]] == ["police"]  # B2's quarters overdue
    assert "office" not in {p["unit"] for p in data["praise"] + data["criticism"]}
    assert "### 表扬\n\n- 市市场监督管理局（知识产权局）：提前办结 2 项" in chinese
    assert "### 通报批评\n\n- 市公安局：逾期未办结 3 项，红牌 3 张" in chinese
    assert "<h2>Commended</h2>" in english and "2 finished early" in english
