"""The 08:30 check on a real `prefect server start`, installed as the README's production path says: the
scheduler creates the daily checks, the CLI lists, a deployment run on a process worker moves the phase
machine, the coordinator is asked on the worker, the artifacts and events are what a coordinator reads, no
database URL reaches Prefect, and the overrun automation exists. One server for the module (it takes up to a
minute to start).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from db import CoordinatorDecision, Notice, Phase
from flows import OVERRUN_AUTOMATION
from tests.support.production import DAILY_CHECK, PROGRAM, README_COMMANDS, ROOT, production

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    folder = tmp_path_factory.mktemp("production")
    with production(folder, database_url=f"sqlite:///{folder / 'duban' / 'duban.db'}") as running:
        yield running


def test_the_readme_production_path_is_the_one_tested():
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme[readme.index("## Running on Prefect"):readme.index("## Delivery")]
    for command in README_COMMANDS:
        assert re.search(rf"^{re.escape(command)}(\s|$)", block, re.MULTILINE), command
    assert "PREFECT_UI_API_URL" in block


def test_the_scheduler_creates_the_daily_checks_at_0830_in_shanghai(prod):
    scheduled = prod.server.wait_for(lambda: (found := prod.scheduled_checks()) and len(found) >= 3 and found,
                                     timeout=120, what="scheduled daily checks")
    local = [moment.astimezone(SHANGHAI) for moment in scheduled]
    assert all(moment.time() == time(8, 30) for moment in local)
    days = [moment.date() for moment in local]
    today = datetime.now(SHANGHAI).date()
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))] and today <= days[
        0
    ] <= today + timedelta(days=1)
    assert not re.search(r"bulk DML|Traceback", prod.server.log("server"))


def test_every_list_command_works_against_the_server(prod):
    kinds = ("deployment", "flow-run", "work-pool", "artifact", "automation")
    listed, *_ = prod.server.run_all(*(("prefect", kind, "ls") for kind in kinds))
    for name in ("daily-check", "weekly-bulle", "decide"):
        assert name in listed.stdout


def test_the_overrun_automation_exists_after_setup(prod):
    automations = prod.server.api("POST", "/automations/filter", json={}).json()
    found = [a for a in automations if a["name"] == OVERRUN_AUTOMATION]
    assert len(found) == 1 and found[0]["enabled"]
    assert found[0]["trigger"]["expect"] == ["duban.phase.overrun"]
    assert found[0]["trigger"]["match"] == {"prefect.resource.id": "duban.program.*"}
    prod.server.run("duban", "prefect", "setup")  # again: still one
    assert (
        sum(
            a["name"] == OVERRUN_AUTOMATION
            for a in prod.server.api("POST", "/automations/filter", json={}).json()
        )
        == 1
    )


def test_a_deployment_run_on_the_worker_completes_and_moves_the_phase_machine(prod):
    run_id = prod.run_deployment(DAILY_CHECK, "as_of=2023-03-01")
    run = prod.wait_for_state(run_id)
    assert run["state_type"] == "COMPLETED", prod.server.log("worker")
    assert run["name"] == f"{PROGRAM} · 2023-03-01" and {"program:chengdu-2023", "phase:deployment"} <= set(
        run["tags"]
    )
    with prod.sessions().begin() as session:
        states = dict(
            session.execute(select(Phase.kind, Phase.state).where(Phase.program_id == PROGRAM)).all()
        )
        times = set(session.scalars(select(Notice.at).where(Notice.program_id == PROGRAM)))
        sent = set(session.scalars(select(Notice.state).where(Notice.program_id == PROGRAM)))
    assert states["deployment"] == "open" and states["implementation"] == "pending"
    # A date alone is that day's 08:30 in the program's zone: inside the sending window, so the 交办 went out.
    assert {
        moment.replace(tzinfo=moment.tzinfo or ZoneInfo("UTC")).astimezone(SHANGHAI) for moment in times
    } == {datetime(2023, 3, 1, 8, 30, tzinfo=SHANGHAI)}
    assert sent == {"sent"}


def test_an_overrun_phase_is_put_to_the_coordinator_on_the_worker(prod):
    with prod.sessions().begin() as session:
        session.execute(update(Phase).where(Phase.program_id == PROGRAM, Phase.kind == "self_check")
                        .values(state="overrun", opened_on=date(2023, 3, 1)))
    check = prod.wait_for_state(prod.run_deployment(DAILY_CHECK, "as_of=2023-07-10"))
    assert check["state_type"] == "COMPLETED", prod.server.log("worker")

    def paused_decision():
        runs = prod.server.flow_runs(flow_runs={"name": {"any_": [f"{PROGRAM} · 决定 · 自查自评"]}})
        return next((r for r in runs if r["state_name"] == "Paused"), None)

    asked = prod.server.wait_for(
        paused_decision, timeout=240, what="the decide run paused for the coordinator"
    )
    assert {"program:chengdu-2023", "phase:self_check"} <= set(asked["tags"])
    assert asked["parameters"] == {
        "program": PROGRAM,
        "kind": "self_check",
        "as_of": "2023-07-10T08:30:00+08:00",
    }
    bulletin = prod.artifacts()[f"{PROGRAM}-bulletin"]
    assert "待牵头办决定" in bulletin["data"] and "自查自评" in bulletin["data"]

    refused = httpx.post(f"{prod.server.api_url}/flow_runs/{asked['id']}/resume",
                         json={"run_input": {"approve": True, "note": "同意"}}, timeout=30)
    assert refused.status_code != 200 or refused.json()["status"] != "ACCEPT"  # who decided is required
    resumed = prod.server.api(
        "POST",
        f"/flow_runs/{asked['id']}/resume",
        json={"run_input": {"approve": True, "note": "同意", "decided_by": "王主任"}},
    ).json()
    assert resumed["status"] == "ACCEPT"
    assert prod.wait_for_state(asked["id"])["state_type"] == "COMPLETED", prod.server.log("worker")
    with prod.sessions().begin() as session:
        decision = session.scalar(
            select(CoordinatorDecision).where(CoordinatorDecision.subject == "phase:self_check")
        )
        assert (decision.approve, decision.decided_by, decision.source) == (True, "王主任", "prefect")
        at = decision.decided_at.replace(tzinfo=decision.decided_at.tzinfo or ZoneInfo("UTC"))
        assert at.astimezone(SHANGHAI) == datetime(2023, 7, 10, 8, 30, tzinfo=SHANGHAI)  # the check's as_of


def test_the_artifacts_on_the_server_read_at_a_glance(prod):
    bulletin_run = prod.wait_for_state(
        prod.run_deployment(f"bulletin/{PROGRAM}-weekly-bulletin", "as_of=2023-07-10")
    )
    assert bulletin_run["state_type"] == "COMPLETED", prod.server.log("worker")
    artifacts = prod.artifacts()
    tasks = json.loads(artifacts[f"{PROGRAM}-tasks"]["data"])
    assert list(tasks[0]) == ["预警", "编号", "工作举措", "牵头单位", "完成时限", "进度", "最近报送"]
    assert tasks[0]["预警"] == "红灯" and not re.search(r"\b[a-z_]+\b", tasks[0]["牵头单位"])
    notices = json.loads(artifacts[f"{PROGRAM}-notices"]["data"])
    assert notices and {"单位", "类型", "任务", "渠道", "状态"} == set(notices[0])
    assert json.loads(artifacts[f"{PROGRAM}-failed-deliveries"]["data"]) == []
    assert "分阶段" in artifacts[f"{PROGRAM}-progress"]["description"]
    weekly = artifacts[f"{PROGRAM}-weekly-bulletin"]
    assert weekly["description"] == "每周通报（2023-07-10）" and weekly["data"].startswith("## 成都市")
    events = prod.server.api("POST", "/events/filter", json={
        "filter": {"event": {"prefix": ["duban.phase."]}, "occurred": {"since": "2000-01-01T00:00:00Z"}},
        "limit": 50}).json()["events"]
    names = {(e["event"], e["resource"]["prefect.resource.name"]) for e in events}
    assert ("duban.phase.opened", f"{PROGRAM} · 任务部署") in names
    assert ("duban.phase.opened", f"{PROGRAM} · 组织实施") in names


def test_no_database_url_reaches_prefect(prod):
    for name in (DAILY_CHECK, f"bulletin/{PROGRAM}-weekly-bulletin", f"decide/{PROGRAM}-decide"):
        assert prod.deployment(name)["parameters"] == {"program": PROGRAM}
    runs = prod.server.flow_runs()
    assert runs and all("database_url" not in run["parameters"] for run in runs)
    stored = (prod.server.folder / "prefect-home" / "prefect.db").read_bytes()
    assert prod.database_url.encode() not in stored and b"duban.db" not in stored


def test_duban_serve_refuses_to_rewrite_deployments_made_by_prefect_deploy(prod):
    refused = prod.server.run("duban", "serve", env=prod.duban_env, check=False, timeout=180)
    assert (
        refused.returncode == 1 and "prefect deploy" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert prod.deployment(DAILY_CHECK)["work_pool_name"] == "duban"
