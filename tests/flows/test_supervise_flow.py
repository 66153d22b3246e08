"""`supervise` as a real Prefect flow run: its name, tags, subflows and the coordinator's artifacts; `decide`
paused for the coordinator. One temporary server for all of them."""

from __future__ import annotations

import asyncio
import json
import threading
import time as time_
from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select
from typer.testing import CliRunner

from db import CoordinatorDecision, Event
from duban import app
from flows import database
from flows import decide_flow as decide
from flows import supervise_flow as supervise
from tests.support.factories import write_plan
from tests.support.programs import at as morning
from tests.support.programs import make_db, outbox_lines, set_phase, setup

runner = CliRunner()


async def _artifacts(keys: list[str]) -> dict[str, dict]:
    # The latest version of each keyed artifact, as the UI's Artifacts page lists them.
    async with get_client() as client:
        response = await client.request("POST", "/artifacts/latest/filter", json={"limit": 200, "offset": 0})
    return {a["key"]: a for a in response.json() if a["key"] in keys}


async def _runs(name: str):
    async with get_client() as client:
        return await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])),
                                           sort=FlowRunSort.START_TIME_ASC, limit=10)


def test_supervise_is_a_flow_run_with_subflows_and_artifacts(tmp_path, home, prefect_harness):
    wired = setup(tmp_path)
    with database(wired.settings.db_url):
        result = supervise(program="demo-city", as_of=morning(date(2023, 6, 20)))
    assert result["transitions"][0] == {
        "phase": "deployment", "name": "任务部署", "state": "open", "on": "2023-03-01", "reasons": []}
    assert result["running"] == ["implementation"]
    assert result["claimed"]["assignment"] > 0 and result["dispatched"]["messages"] > 0
    assert outbox_lines(wired)

    runs = asyncio.run(_runs("demo-city · 2023-06-20"))
    assert len(runs) == 1 and {"program:demo-city", "phase:implementation"} <= set(runs[0].tags)
    children = asyncio.run(_runs("demo-city · implementation · 2023-06-20"))
    assert len(children) == 1 and {"program:demo-city", "phase:implementation"} <= set(children[0].tags)

    keys = ["demo-city-tasks", "demo-city-progress", "demo-city-bulletin", "demo-city-failed-deliveries",
            "demo-city-notices"]
    artifacts = asyncio.run(_artifacts(keys))
    assert set(keys) <= set(artifacts)
    table = json.loads(artifacts["demo-city-tasks"]["data"])
    # Chinese headers, the light first, red rows first, units by name.
    assert list(table[0]) == ["预警", "编号", "工作举措", "牵头单位", "完成时限", "进度", "最近报送"]
    assert (
        table[0]["预警"] == "红灯"
        and table[0]["编号"] == "D1"
        and table[0]["牵头单位"] == "市知识产权工作领导小组办公室"
    )
    order = ["红灯", "黄灯", "绿灯", "无期限", "办结"]
    assert [order.index(r["预警"]) for r in table] == sorted(order.index(r["预警"]) for r in table)
    notices = json.loads(artifacts["demo-city-notices"]["data"])
    assert notices and list(notices[0]) == ["单位", "类型", "任务", "渠道", "状态"]
    assert {n["单位"] for n in notices} >= {"市公安局"} and {n["状态"] for n in notices} == {"已发送"}
    assert json.loads(artifacts["demo-city-failed-deliveries"]["data"]) == []  # no placeholder row
    assert "2023-06-20" in artifacts["demo-city-failed-deliveries"]["description"]
    assert artifacts["demo-city-bulletin"]["description"] == "通报（截至 2023-06-20）"
    progress = artifacts["demo-city-progress"]["description"]
    assert "截至 2023-06-20" in progress and "分阶段" in progress and "任务部署 0/1" in progress

    status = json.loads(runner.invoke(app, ["status", "demo-city", "--db", wired.settings.db_url, "--as-of",
                                            "2023-06-20", "--json"]).stdout)
    assert artifacts["demo-city-progress"]["data"] == round(status["done_share"] * 100, 1)
    assert len(table) == status["tasks"]
    events = _wait_for_events(["duban.phase.opened"])
    assert {e["resource"]["prefect.resource.name"] for e in events} >= {
        "demo-city · 任务部署",
        "demo-city · 组织实施",
    }


def _wait_for_events(names: list[str]) -> list[dict]:
    """Events reach the server shortly after they are emitted."""
    async def read() -> list[dict]:
        async with get_client() as client:
            response = await client.request(
                "POST",
                "/events/filter",
                json={
                    "filter": {"event": {"name": names}, "occurred": {"since": "2000-01-01T00:00:00Z"}},
                    "limit": 50,
                },
            )
        return response.json()["events"]

    for _ in range(100):
        if events := asyncio.run(read()):
            return events
        time_.sleep(0.2)
    return []


def test_the_supervise_command_runs_the_flow_and_a_rerun_sends_nothing(tmp_path, home, prefect_harness):
    assert runner.invoke(app, ["plan", "import", str(write_plan(tmp_path))]).exit_code == 0
    first = runner.invoke(app, ["supervise", "demo-city", "--as-of", "2023-03-01", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["claimed"]["assignment"] > 0
    again = runner.invoke(app, ["supervise", "demo-city", "--as-of", "2023-03-01T10:00", "--json"])
    assert json.loads(again.stdout)["claimed"] == {}
    outbox = json.loads(runner.invoke(app, ["outbox", "demo-city", "--json"]).stdout)
    assert {"at", "unit", "kind", "tasks", "channel", "state", "message"} <= set(outbox[0])
    assert {e["state"] for e in outbox} == {"sent"}


@pytest.mark.parametrize(("text", "shown"), [
    ("开展<script>alert(1)</script>培训", "开展\\<script\\>alert(1)\\</script\\>培训"),
    ("[点此](http://evil.example)", "\\[点此\\](http://evil.example)"),
    ("**加粗** |管道|", "\\*\\*加粗\\*\\* \\|管道\\|"),
    ("第一行\r\n第二行", "第一行 第二行"),
    ("2023-04-30 前完成 50%", "2023-04-30 前完成 50%"),
])
def test_artifact_cells_show_plan_text_as_written(text, shown):
    from flows.supervise import cell  # loads Prefect with the flow's module

    assert cell(text) == shown


def test_a_worker_may_keep_the_database_url_in_a_prefect_secret_block(prefect_harness, monkeypatch):
    from prefect.blocks.system import Secret

    from flows import wiring  # after the environment is set: the settings are read when called

    Secret(value="sqlite:////srv/duban/duban.db").save("duban-database-test", overwrite=True)
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("DUBAN_DATABASE_SECRET", "duban-database-test")
    assert wiring().settings.db_url == "sqlite:////srv/duban/duban.db"
    monkeypatch.setenv("DUBAN_DATABASE_URL", "sqlite:////elsewhere.db")  # an explicit URL wins
    assert wiring().settings.db_url == "sqlite:////elsewhere.db"


def test_the_coordinator_decides_in_a_paused_prefect_run(tmp_path, home, prefect_harness):
    sessions, url = make_db(tmp_path)
    with sessions.begin() as session:
        set_phase(session, "demo-city", "self_check", "overrun")
    outcome: dict = {}
    def ask() -> None:
        with database(url):  # a thread starts with a fresh context: the binding is made inside it
            outcome.update(decide(program="demo-city", kind="self_check", timeout_seconds=60, poll_interval=1,
                                  as_of=morning(date(2024, 8, 5))))

    runner_thread = threading.Thread(target=ask)
    runner_thread.start()
    paused = None
    with get_client(sync_client=True) as client:
        for _ in range(200):
            runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=20)
            paused = next((r for r in runs if r.name and r.state and r.state.is_paused()), None)
            if paused:
                break
            time_.sleep(0.1)
    assert paused is not None
    resume_flow_run(paused.id, run_input={"approve": True, "note": "同意", "decided_by": "王主任"})
    runner_thread.join(60)
    assert outcome["decided"] and outcome["approve"] and outcome["by"] == "王主任"
    with sessions.begin() as session:
        decision = session.scalar(select(CoordinatorDecision))
        assert (decision.subject, decision.approve, decision.decided_by, decision.source) == (
            "phase:self_check", True, "王主任", "prefect")
        assert decision.decided_at.date() == date(2024, 8, 5)  # the program's date, not the wall clock
        assert session.scalar(select(Event).where(Event.kind == "phase.approved")).actor == "王主任"
        # Nothing left to ask: the gate now holds.
    assert paused.name == "demo-city · 决定 · 自查自评"
    with database(url):
        assert decide(program="demo-city", kind="self_check")["asked"] is False
