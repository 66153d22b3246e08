"""Replays on a simulated clock: `duban simulate` (a plan, seeded units) and `duban demo` (the Chengdu plan
end to end, with the acceptance package and the scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from db import load_program, scores_report, status_summary
from duban.cli.phase_work import print_scores
from duban.cli.support import (
    DbOption,
    Failure,
    JsonOption,
    context,
    date_option,
    emit_json,
    handles_errors,
    label,
    out,
    say,
    speak,
)
from duban.simulation import EXAMPLE_PLANS, Replay, ReplayError, fresh_home, readable_plan, replay, unit_table
from notifications import build_package


@handles_errors
def simulate(
    plan_or_program: Annotated[str, typer.Argument(metavar="DIR_OR_PROGRAM")],
    from_: Annotated[str | None, typer.Option("--from", help="开始日期，默认第一阶段开始")] = None,
    to: Annotated[str | None, typer.Option("--to", help="结束日期，默认最后阶段结束")] = None,
    seed: Annotated[int, typer.Option("--seed", help="模拟单位行为的随机种子")] = 2023,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """按模拟时钟逐日回放；单位按种子模拟报送进展；通知只进入发件箱（在单独的模拟目录中）。

    --db 只用于按计划编号查找计划文件夹；回放只写入自己的模拟目录，从不写入该数据库。"""
    wired = context(db)
    directory = Path(plan_or_program)
    if not directory.is_dir():
        with wired.transaction() as session:
            ctx = load_program(session, plan_or_program)
        if not ctx.program.source_dir:
            speak(ctx.language)
            raise Failure(say("replay_no_source", program=plan_or_program))
        directory = Path(ctx.program.source_dir)
    try:
        reading = readable_plan(directory)
        home = fresh_home(wired.settings.home / "simulations" / reading.program.id)
        result = replay(reading, home, date_option(from_, "--from"), date_option(to, "--to"), seed)
    except ReplayError as exc:
        raise Failure(str(exc)) from None
    if as_json:
        emit_json({**result.simulation.to_json(), "home": str(home),
                   "outbox": str(result.wiring.settings.outbox_path)})
        return
    print_timeline(result)


@handles_errors
def demo(seed: Annotated[int, typer.Option("--seed")] = 2023, as_json: JsonOption = False) -> None:
    """主流程演示：全新目录，导入成都示范区计划，回放 2023-03-01 至 2025-04-30 的全部日程。"""
    wired = context(None)
    home = fresh_home(wired.settings.home / "demo")
    try:
        result = replay(readable_plan(EXAMPLE_PLANS / "chengdu-2023"), home, None, None, seed)
    except ReplayError as exc:
        raise Failure(str(exc)) from None
    outcome = demo_outcome(result)
    if as_json:
        emit_json(outcome)
        return
    print_timeline(result, outcome)
    print_outcome(outcome)


def demo_outcome(result: Replay) -> dict:
    """What the demo shows, as data: the replay, the per-unit table, the status at the end, the acceptance
    package and the scores (`duban demo --json` prints it; the text output is drawn from it)."""
    wired, end = result.wiring, result.simulation.end
    with wired.transaction() as session:
        ctx = load_program(session, result.program)
        units = unit_table(session, ctx)
        summary = status_summary(session, ctx, end)
        package = build_package(session, ctx, wired.settings.reports_dir / "acceptance", end,
                                home=wired.settings.home)
        scores = scores_report(session, ctx, None, end)
    return {"simulation": result.simulation.to_json(), "units": units, "status": summary,
            "acceptance": {"readiness": package["readiness"], "gaps": package.get("gaps", []),
                           "index": package["index"], "report": package["report"], "zip": package["zip"]},
            "scores": scores}


def print_outcome(outcome: dict) -> None:
    """The end of the program: the acceptance package and the assessment."""
    package = outcome["acceptance"]
    gaps = package["gaps"]
    out.print(say("replay_package", readiness=package["readiness"], gaps=len(gaps)), highlight=False)
    for gap in gaps[:5]:
        out.print(f"  - {gap['task']}: {gap['detail']}", highlight=False)
    files = {k: package[k] for k in ("index", "report", "zip")}
    out.print(say("replay_package_files", **files), highlight=False)
    print_scores(outcome["scores"])


def print_timeline(result: Replay, outcome: dict | None = None) -> None:
    simulation, wired = result.simulation, result.wiring
    with wired.transaction() as session:
        ctx = load_program(session, result.program)
        speak(ctx.language)
        units = outcome["units"] if outcome else unit_table(session, ctx)
        summary = outcome["status"] if outcome else status_summary(session, ctx, simulation.end)
    out.print(say("replay_heading", name=ctx.program.name, id=ctx.id, start=simulation.start,
                  end=simulation.end, seed=simulation.seed), highlight=False)
    timeline = Table(*(say(f"replay_{c}") for c in ("on", "phase", "transition", "reasons")),
                     title=say("replay_timeline"))
    separator = say("phase_unmet_separator")
    for t in simulation.transitions:
        timeline.add_row(t["on"], t["name"], label("transition", t["state"]), separator.join(t["reasons"]))
    out.print(timeline)
    kinds = Table(say("replay_kind"), say("replay_count"), title=say(
        "replay_notices", notices=sum(simulation.notices.values()), messages=simulation.messages))
    for kind, count in sorted(simulation.notices.items(), key=lambda kv: -kv[1]):
        kinds.add_row(label("kind", kind), str(count))
    out.print(kinds)
    columns = ("unit", "on_time", "late", "open", "escalations", "acks", "returns")
    table = Table(*(say(f"replay_{c}") for c in columns), title=say("replay_units"))
    for row in units:
        table.add_row(row["name"], str(row["on_time"]), str(row["late"]), str(row["open"]),
                      str(row["escalations"]), str(row["acks"]), str(row["returns"]))
    out.print(table)
    side = simulation.units_side
    out.print(say("replay_units_side", **{k: side[k] for k in ("acks", "claims", "passed", "returned")}),
              highlight=False)
    lights = summary["lights"]
    out.print(say("replay_lights", end=simulation.end, done=lights["done"], tasks=summary["tasks"],
                  red=lights["red"], yellow=lights["yellow"]), highlight=False)
    out.print(say("replay_where", db=wired.settings.db_url, outbox=wired.settings.outbox_path, id=ctx.id),
              highlight=False)
