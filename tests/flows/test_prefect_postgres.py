"""The production path once on PostgreSQL, for duban and for Prefect alike: the scheduler creates the 08:30
checks, the CLI lists, a run on the worker moves the phase machine, and duban's database password is nowhere
in Prefect's database. Skipped only where the machine has no PostgreSQL server binaries."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db import Phase
from tests.support.postgres import cluster_or_skip
from tests.support.production import DAILY_CHECK, PROGRAM, production

PASSWORD = "Duban-pw-7f1c9e"  # trust authentication ignores it; it is in the URL as in a real installation


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory):
    with cluster_or_skip() as cluster:
        cluster.create_database("duban")
        cluster.create_database("prefect")
        folder = tmp_path_factory.mktemp("production-postgres")
        with production(folder, database_url=cluster.url("duban", password=PASSWORD),
                        prefect_database_url=cluster.url("prefect", driver="asyncpg")) as running:
            yield running, cluster


def test_the_daily_check_runs_on_postgresql_without_its_password_in_prefect(on_postgres):
    prod, cluster = on_postgres
    scheduled = prod.server.wait_for(lambda: (found := prod.scheduled_checks()) and len(found) >= 3 and found,
                                     timeout=120, what="scheduled daily checks")
    assert {moment.astimezone(ZoneInfo("Asia/Shanghai")).time() for moment in scheduled} == {time(8, 30)}
    assert "daily-check" in prod.server.run("prefect", "deployment", "ls").stdout

    run = prod.wait_for_state(prod.run_deployment(DAILY_CHECK, "as_of=2023-05-04"))
    assert run["state_type"] == "COMPLETED", prod.server.log("worker")
    with prod.sessions().begin() as session:
        states = dict(
            session.execute(select(Phase.kind, Phase.state).where(Phase.program_id == PROGRAM)).all()
        )
    # No unit has reported here, so 任务部署's exit tasks (D-1, D-2) hold it open past 04-30: overrun
    assert states["deployment"] == "overrun" and states["implementation"] == "open"

    dumped = cluster.dump("prefect")
    assert "flow_run" in dumped and PROGRAM in dumped  # the dump is Prefect's, with the runs in it
    assert PASSWORD not in dumped and prod.database_url not in dumped
