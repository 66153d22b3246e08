"""At most N checks at once (default 4, DUBAN_CHECK_LIMIT or --limit), so 08:30 does not start every program's
check together: `duban serve` hands Prefect's `serve` its runner limit, and `duban prefect setup` sets the
concurrency limit of the work pool prefect.yaml's deployments run on. Against Prefect's temporary server."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from typer.testing import CliRunner

from duban import app

PLANS = Path(__file__).resolve().parents[2] / "plans"
runner = CliRunner()


@pytest.fixture
def served(prefect_harness, home, monkeypatch) -> dict:
    """What `duban serve` hands Prefect's serve (which would block: it is replaced by a recorder)."""
    for plan in ("chengdu-2023", "county-ip-2023"):
        assert runner.invoke(app, ["plan", "import", str(PLANS / plan)]).exit_code == 0
    seen: dict = {}
    monkeypatch.setattr("duban.cli.checks.prefect_serve",
                        lambda *deployments, **options: seen.update(deployments=deployments, **options))
    return seen


@pytest.mark.parametrize(("arguments", "environment", "limit"), [
    ([], {}, 4),
    ([], {"DUBAN_CHECK_LIMIT": "2"}, 2),
    (["--limit", "1"], {"DUBAN_CHECK_LIMIT": "2"}, 1),
])
def test_serve_caps_the_runs_at_once(served, monkeypatch, arguments, environment, limit):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["serve", *arguments])
    assert result.exit_code == 0, result.stderr
    assert served["limit"] == limit and served["pause_on_shutdown"] is False
    names = sorted(d.name for d in served["deployments"])
    assert len(names) == 6 and "chengdu-2023-daily-check" in names and "county-ip-2023-decide" in names
    # Each check still never overlaps itself.
    daily = [d for d in served["deployments"] if d.name.endswith("daily-check")]
    assert all(d.concurrency_limit == 1 for d in daily)


def test_serve_refuses_a_limit_below_one(served):
    result = runner.invoke(app, ["serve", "--limit", "0"])
    assert result.exit_code == 2 and not served


def test_setup_limits_the_work_pool_of_the_deployments(prefect_harness, home):
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="duban", type="process"), overwrite=True)
    result = runner.invoke(app, ["prefect", "setup", "--limit", "3"])
    assert result.exit_code == 0, result.stderr
    assert "工作池 duban：同时运行的检查不超过 3 个" in result.stdout
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("duban").concurrency_limit == 3
        client.delete_work_pool("duban")
    result = runner.invoke(app, ["prefect", "setup"])  # no pool (`duban serve` runs it): nothing to limit
    assert result.exit_code == 0 and "工作池" not in result.stdout
