"""The annual programs of seeds 002 (宁夏 2021) and 003 (四川 2021) validate, import and replay to a clean
end: every phase opens and closes (or is overrun and said so) once its window has passed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duban import app

runner = CliRunner()
PLANS = Path(__file__).resolve().parents[2] / "plans"

SEEDS = [
    # (plan, its phases, tasks in the table, a collective's task and how many member shares it has)
    ("ningxia-2021", ["deployment", "annual"], 19, ("8", 5)),
    ("sichuan-2021", ["program"], 16, ("SC-5", 21)),
]
SEEDED = pytest.mark.parametrize("plan, phases, measures, collective", SEEDS, ids=[s[0] for s in SEEDS])


@SEEDED
def test_the_seed_plan_validates_and_imports(home, plan, phases, measures, collective):
    validated = runner.invoke(app, ["plan", "validate", str(PLANS / plan), "--json"])
    assert validated.exit_code == 0, validated.output
    assert json.loads(validated.stdout)["tasks"] == measures  # the plan's own tasks, without the shares
    assert runner.invoke(app, ["plan", "import", str(PLANS / plan)]).exit_code == 0
    tasks = json.loads(runner.invoke(app, ["tasks", plan, "--json"]).stdout)
    assert len([t for t in tasks if "@" not in t["code"]]) == measures
    code, members = collective
    assert len([t for t in tasks if t["code"].startswith(f"{code}@")]) == members
    status = json.loads(runner.invoke(app, ["status", plan, "--json"]).stdout)
    assert [p["kind"] for p in status["phases"]] == phases


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """The seed plan replayed to a clean end, once per plan for the whole module whatever order its tests
    run in: replaying a year is the costly part, and its assertions below need not pay it each."""
    summaries: dict[str, dict] = {}

    def replay(plan: str) -> dict:
        if plan not in summaries:
            with pytest.MonkeyPatch.context() as env:
                env.setenv("DUBAN_HOME", str(tmp_path_factory.mktemp(plan) / "home"))
                env.delenv("DUBAN_DATABASE_URL", raising=False)
                env.setenv("DUBAN_NOTIFIER", "outbox")
                result = runner.invoke(app, ["simulate", str(PLANS / plan), "--to", "2022-01-10", "--json"])
            assert result.exit_code == 0, result.output
            summaries[plan] = json.loads(result.stdout)
        return summaries[plan]

    return replay


@SEEDED
def test_every_phase_opens_and_ends_closed_or_overrun(replayed, plan, phases, measures, collective):
    summary = replayed(plan)
    ends = {t["phase"]: t["state"] for t in summary["transitions"] if t["state"] != "open"}
    opened = [t["phase"] for t in summary["transitions"] if t["state"] == "open"]
    assert opened == phases and set(ends) == set(phases)
    assert set(ends.values()) <= {"closed", "overrun"}


@SEEDED
def test_units_are_assigned_their_tasks_and_report(replayed, plan, phases, measures, collective):
    summary = replayed(plan)
    assert summary["notices"]["assignment"] > 0 and summary["reports"] > 0


@SEEDED
def test_the_collectives_task_is_its_members_roll_up(replayed, plan, phases, measures, collective):
    """Done exactly where every share of the period is."""
    summary, (code, _members) = replayed(plan), collective
    with sqlite3.connect(Path(summary["home"]) / "duban.db") as db:
        rows = db.execute(
            "SELECT t.code, t.parent_code, i.seq, i.status FROM tasks t"
            " JOIN task_instances i ON i.task_id = t.id WHERE t.code = ? OR t.parent_code = ?",
            (code, code),
        ).fetchall()
    parents = {seq: status for task, parent, seq, status in rows if parent is None}
    shares: dict[int, set[str]] = {}
    for _task, parent, seq, status in rows:
        if parent is not None:
            shares.setdefault(seq, set()).add(status)
    assert parents and {seq: (status == "done") for seq, status in parents.items()} == {
        seq: statuses == {"done"} for seq, statuses in shares.items()
    }
