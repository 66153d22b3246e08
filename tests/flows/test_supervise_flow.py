"""`supervise` as a real Prefect flow run: its name, tags, subflows and the coordinator's artifacts."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.client.schemas.sorting import FlowRunSort
from typer.testing import CliRunner

from duban import app
from flows import supervise_flow as supervise
from tests.support.factories import write_plan
from tests.support.programs import at as morning
from tests.support.programs import outbox_lines, setup

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
    result = supervise(
        program="demo-city", as_of=morning(date(2023, 6, 20)), database_url=wired.settings.db_url
    )
    assert result["transitions"][0] == {
        "phase": "deployment", "name": "任务部署", "state": "open", "on": "2023-03-01", "reasons": []}
    assert result["running"] == ["implementation"]
    assert result["claimed"]["assignment"] > 0 and result["dispatched"]["messages"] > 0
    assert outbox_lines(wired)

    runs = asyncio.run(_runs("demo-city · 2023-06-20"))
    assert len(runs) == 1 and {"program:demo-city", "phase:implementation"} <= set(runs[0].tags)
    children = asyncio.run(_runs("demo-city · implementation · 2023-06-20"))
    assert len(children) == 1 and {"program:demo-city", "phase:implementation"} <= set(children[0].tags)

    keys = ["demo-city-tasks", "demo-city-progress", "demo-city-bulletin", "demo-city-failed-deliveries"]
    artifacts = asyncio.run(_artifacts(keys))
    assert set(keys) <= set(artifacts)
    table = json.loads(artifacts["demo-city-tasks"]["data"])
    assert {"code", "measure", "lead", "due", "light", "last_report"} <= set(table[0])

    status = json.loads(runner.invoke(app, ["status", "demo-city", "--db", wired.settings.db_url, "--as-of",
                                            "2023-06-20", "--json"]).stdout)
    assert artifacts["demo-city-progress"]["data"] == round(status["done_share"] * 100, 1)
    assert len(table) == status["tasks"]


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
