"""The README's production path on a real Prefect server, step by step as a test drives it:

    prefect work-pool create duban --type process
    duban plan import plans/chengdu-2023
    DUBAN_PROJECT_DIR=$PWD prefect deploy --all
    duban prefect setup
    prefect worker start --pool duban

`README_COMMANDS` are those lines; tests/flows/test_prefect_server.py checks the README still says them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db import get_engine
from tests.support.prefect_server import PrefectServer

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = "chengdu-2023"
DAILY_CHECK = f"supervise/{PROGRAM}-daily-check"
README_COMMANDS = [
    "prefect work-pool create duban --type process",
    "duban plan import plans/chengdu-2023",
    "DUBAN_PROJECT_DIR=$PWD prefect deploy --all",
    "duban prefect setup",
    "prefect worker start --pool duban",
]
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class Production:
    server: PrefectServer
    duban_env: dict[str, str]  # what the worker's environment holds: the database comes from here only
    database_url: str

    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(get_engine(self.database_url), expire_on_commit=False)

    def deployment(self, name: str) -> dict:
        return self.server.api("GET", f"/deployments/name/{name}").json()

    def run_deployment(self, name: str, *params: str) -> str:
        """`prefect deployment run NAME --param k=v …`: the new flow run's id."""
        arguments = [part for param in params for part in ("--param", param)]
        output = self.server.run("prefect", "deployment", "run", name, *arguments).stdout
        return re.search(r"UUID: ([0-9a-f-]{36})", output).group(1)

    def wait_for_state(self, run_id: str, states: set[str] = TERMINAL, timeout: float = 240) -> dict:
        def reached():
            run = self.server.api("GET", f"/flow_runs/{run_id}").json()
            return run if run["state_type"] in states or run["state_name"] in states else None

        return self.server.wait_for(reached, timeout=timeout, what=f"flow run {run_id} in {states}")

    def scheduled_checks(self) -> list[datetime]:
        deployment = self.deployment(DAILY_CHECK)
        runs = self.server.flow_runs(flow_runs={"deployment_id": {"any_": [deployment["id"]]},
                                                "state": {"type": {"any_": ["SCHEDULED"]}}})
        return sorted(datetime.fromisoformat(run["next_scheduled_start_time"] or run["expected_start_time"])
                      for run in runs if run["state_name"] == "Scheduled")

    def artifacts(self) -> dict[str, dict]:
        latest = self.server.api("POST", "/artifacts/latest/filter", json={"limit": 200}).json()
        return {artifact["key"]: artifact for artifact in latest}


@contextmanager
def production(
    folder: Path, *, database_url: str, prefect_database_url: str | None = None
) -> Iterator[Production]:
    """A Prefect server (on `prefect_database_url`, else SQLite in its home) with duban deployed as the README
    says and a process worker running; stopped afterwards whatever happened."""
    duban_env = {
        "DUBAN_HOME": str(folder / "duban"),
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_NOTIFIER": "outbox",
    }
    with PrefectServer.start(folder / "prefect", database_url=prefect_database_url) as server:
        # The README's steps; those that do not depend on each other at once. The work pool, the program and
        # the automation are independent; `prefect deploy` needs the pool.
        server.run_all(("prefect", "work-pool", "create", "duban", "--type", "process"),
                       ("duban", "plan", "import", "plans/chengdu-2023"), ("duban", "prefect", "setup"),
                       env=duban_env, cwd=ROOT)
        # Not the database: `prefect deploy` never sees it, so nothing of it can reach a deployment.
        server.run("prefect", "deploy", "--all", env={"DUBAN_PROJECT_DIR": str(ROOT)}, cwd=ROOT)
        server.spawn("prefect", "worker", "start", "--pool", "duban", name="worker", env=duban_env, cwd=ROOT)
        yield Production(server, duban_env, database_url)
