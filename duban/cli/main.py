"""The `duban` command: a thin layer over schedule/, db/, notifications/ and flows/.

Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error. Errors go to stderr.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from typer.core import TyperGroup

from db import (
    Program,
    commit_files,
    import_program,
    is_item_code,
    load_program,
    outbox_entries,
    report_item,
    scores_report,
    status_summary,
    submit_report,
    task_exists,
    task_rows,
)
from duban.cli.deliveries import register as register_delivery_commands
from duban.cli.phase_work import print_scores
from duban.cli.phase_work import register as register_content_commands
from duban.cli.portal import register as register_portal_commands
from duban.cli.support import (
    LIGHT_STYLE,
    AsOfOption,
    DbOption,
    Failure,
    JsonOption,
    context,
    date_option,
    emit_json,
    err,
    handles_errors,
    label,
    out,
    parse_as_of,
    print_problems,
    recorded_paths,
    run_flow,
    say,
    short,
    speak,
    stage_evidence,
)
from duban.simulation.days import unit_table
from duban.simulation.home import EXAMPLE_PLANS, Replay, ReplayError, fresh_home, readable_plan, replay
from flows import database, deployments, now
from flows import supervise_flow as supervise
from notifications import build_package
from schedule import read_plan


class DubanCommands(TyperGroup):
    """`duban report import PROGRAM FILE…` shares its first word with `duban report PROGRAM CODE`: it is
    routed to the (hidden) command `report-import`."""

    def parse_args(self, ctx, args):
        if args[:2] == ["report", "import"]:
            args = ["report-import", *args[2:]]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DubanCommands, no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
    help="督办 duban: 示范区建设计划的督办与提醒")
plan_app = typer.Typer(no_args_is_help=True, help="计划文件夹：校验与导入")
app.add_typer(plan_app, name="plan")

# ---------------------------------------------------------------- plan


@plan_app.command("validate")
@handles_errors
def plan_validate(
    directory: Annotated[Path, typer.Argument(help="计划文件夹")], as_json: JsonOption = False
) -> None:
    """校验计划文件夹：有效则退出码 0（警告输出到 stderr），否则 1，每个问题一行 FILE:ROW:COLUMN: message。"""
    reading = read_plan(directory)
    speak(reading.language)
    if as_json:
        emit_json({"valid": reading.ok, "program": reading.program.id if reading.program else None,
                   "tasks": len(reading.program.tasks) if reading.program else 0,
                   "problems": [p.to_json() for p in reading.problems]})
    else:
        print_problems(reading.problems)
        if reading.ok:
            program = reading.program
            out.print(say("valid", id=program.id, name=program.name, phases=len(program.phases),
                          units=len(program.units), tasks=len(program.tasks)), highlight=False)
    if not reading.ok:
        raise typer.Exit(1)


@plan_app.command("import")
@handles_errors
def plan_import(directory: Annotated[Path, typer.Argument(help="计划文件夹")], db: DbOption = None,
                replace: Annotated[bool, typer.Option("--replace", help="以这个计划替换同一编号下的另一个计"
                                                                        "划（记录均保留）")] = False,
                as_json: JsonOption = False) -> None:
    """校验后导入（全部或全不）；重复导入按任务编号更新并保留进展，表中已删除的任务会列出而非静默丢弃。"""
    reading = read_plan(directory)
    speak(reading.language)
    print_problems(reading.problems)
    if not reading.ok:
        err.print(say("not_imported"), highlight=False)
        raise typer.Exit(1)
    wired = context(db)
    with wired.transaction() as session:
        result = import_program(session, reading.program, now(ZoneInfo(reading.program.timezone)),
                                replace=replace)
        # Said before the transaction commits: what this import replaces and retires.
        if result.replaced is not None:
            err.print(say("replaced", id=result.program_id, old=result.replaced, new=reading.program.name),
                      highlight=False)
        if result.instances_retired:
            err.print(say("retired", count=len(result.instances_retired)), highlight=False)
            for line in result.instances_retired:
                err.print(f"  - {line}", highlight=False, markup=False)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(say("imported" if result.created else "updated", id=result.program_id,
                  added=len(result.tasks_added), updated=len(result.tasks_updated),
                  instances=result.instances), highlight=False)
    if result.tasks_removed:
        out.print(say("removed", codes=", ".join(result.tasks_removed)), highlight=False)


# ---------------------------------------------------------------- read


@app.command("tasks")
@handles_errors
def tasks(program: str, unit: Annotated[str | None, typer.Option("--unit", help="只看该单位的任务")] = None,
          as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """任务清单及其红黄绿灯。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        speak(ctx.language)
        today = ctx.local_date(parse_as_of(as_of, ctx.program.timezone))
        rows = task_rows(session, ctx, today, unit)
    if as_json:
        emit_json([{k: v for k, v in row.items() if k != "instance_id"} for row in rows])
        return
    table = Table(*(say(f"tasks_{c}") for c in ("code", "title", "lead", "due", "progress", "light")),
                  show_lines=False)
    for row in rows:
        style = LIGHT_STYLE[row["light"]]
        table.add_row(row["code"], short(row["title"], 36), ",".join(row["lead"]),
                      row["due"] or row["recurrence"] or "—", f"{row['progress']}%",
                      f"[{style}]{label('light', row['light'])}[/{style}]")
    out.print(table)


@app.command("status")
@handles_errors
def status(program: str, as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """阶段状态、各灯数量、各单位数量。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        speak(ctx.language)
        summary = status_summary(session, ctx, ctx.local_date(parse_as_of(as_of, ctx.program.timezone)))
    if as_json:
        emit_json(summary)
        return
    print_status(summary)


def print_status(summary: dict) -> None:
    out.print(f"[bold]{summary['name']}[/bold] ({summary['program']})  {say('as_of', on=summary['as_of'])}",
              highlight=False)
    phases = Table(say("phase"), say("span"), say("state"), title=say("phases"))
    for phase in summary["phases"]:
        phases.add_row(
            phase["name"], f"{phase['start']} — {phase['end']}", label("transition", phase["state"])
        )
    out.print(phases)
    lights = summary["lights"]
    out.print(
        "  ".join(f"[{LIGHT_STYLE[k]}]{label('light', k)} {v}[/{LIGHT_STYLE[k]}]" for k, v in lights.items())
        + "   " + say("totals", tasks=summary["tasks"], share=f"{summary['done_share']:.0%}"),
        highlight=False,
    )
    units = Table(*(say(f"units_{c}") for c in ("unit", "lead", "co", "red", "yellow", "green", "done")),
                  title=say("units_title"))
    for unit in summary["units"]:
        units.add_row(unit["name"], str(unit["lead"]), str(unit["co"]), str(unit["red"]), str(unit["yellow"]),
                      str(unit["green"]), str(unit["done"]))
    out.print(units)


# ---------------------------------------------------------------- write


@app.command("report")
@handles_errors
def report(
    program: str,
    code: str,
    unit: Annotated[str, typer.Option("--unit", help="报送单位编号")],
    status_: Annotated[str, typer.Option("--status", help="not_started | in_progress | done")],
    progress: Annotated[int | None, typer.Option("--progress", help="进度 0–100")] = None,
    note: Annotated[str | None, typer.Option("--note", help="进展说明")] = None,
    evidence: Annotated[list[Path] | None, typer.Option("--evidence", help="佐证材料文件，可重复")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """记录一个单位的进展报送。"""
    wired = context(db)
    staged = stage_evidence(evidence or [])
    stored = recorded_paths(staged)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        at = parse_as_of(as_of, ctx.program.timezone)
        if is_item_code(code) and not task_exists(session, program, code):
            # A remediation item (R-n) is closed with the same command as a task.
            result = report_item(session, ctx, code, unit, status_, progress, note, stored, at)
        else:
            result = submit_report(session, ctx, code, unit, status_, progress, note, stored, at, "cli")
        # Only an accepted report brings its files into the home; a failed copy rolls the report back.
        commit_files(wired.settings.home, staged)
    if as_json:
        emit_json(result)
    else:
        pending = "（已申请办结，待牵头办审核）" if result.get("review") == "pending" else ""
        out.print(
            f"已记录: {program} {code} {unit} → {status_} {result['progress']}%{pending}", highlight=False
        )


# ---------------------------------------------------------------- run


@app.command("supervise")
@handles_errors
def supervise_command(
    program: str, as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """一次每日检查（Prefect 流程运行）：阶段转换、提醒、催办、督办。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
    moment = parse_as_of(as_of, ctx.program.timezone)
    with database(wired.settings.db_url):  # the flow's database, without making it a parameter
        result = run_flow(wired.settings, lambda: supervise(program=program, as_of=moment))
    dispatched = result["dispatched"]
    if as_json:
        emit_json(result)
        if dispatched and dispatched["all_failed"]:
            raise typer.Exit(1)
        return
    for transition in result["transitions"]:
        out.print(
            f"{transition['on']}  {transition['name']} → {label('transition', transition['state'])}",
            highlight=False,
        )
    claimed = "，".join(f"{label('kind', k)} {v}" for k, v in sorted(result["claimed"].items())) or "无新通知"
    out.print(f"{program} · {result['today']}：{claimed}", highlight=False)
    if result["dispatched"] is None:
        out.print("不在发送时段内：通知已排队，下一次检查时发送", highlight=False)
    else:
        states = dispatched["states"]
        reached = sum(v for k, v in states.items() if k in ("sent", "delivered"))
        out.print(f"发送 {dispatched['messages']} 条消息（{dispatched['notices']} 项通知，送达 {reached} 项，"
                  f"失败 {states.get('failed', 0)} 项）", highlight=False)
        for failure in dispatched["render_failures"]:
            err.print(f"通知生成失败: {failure['unit']} {failure['message']}: {failure['reason']}",
                      highlight=False, markup=False)
        if dispatched["all_failed"]:
            err.print("错误: 本次所有消息均未送达（见 duban deliveries --failed）", highlight=False)
            raise typer.Exit(1)


@app.command("simulate")
@handles_errors
def simulate_command(
    plan_or_program: Annotated[str, typer.Argument(metavar="DIR_OR_PROGRAM")],
    from_: Annotated[str | None, typer.Option("--from", help="开始日期，默认第一阶段开始")] = None,
    to: Annotated[str | None, typer.Option("--to", help="结束日期，默认最后阶段结束")] = None,
    seed: Annotated[int, typer.Option("--seed", help="模拟单位行为的随机种子")] = 2023,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """按模拟时钟逐日回放；单位按种子模拟报送进展；通知只进入发件箱（在单独的模拟目录中）。

    --db 只用于按计划编号查找计划文件夹；回放只写入自己的模拟目录，从不写入该数据库。"""
    wired = context(db)
    directory = Path(plan_or_program)
    if not directory.is_dir():
        with wired.transaction() as session:
            ctx = load_program(session, plan_or_program)
        if not ctx.program.source_dir:
            raise Failure(f"计划「{plan_or_program}」没有记录来源目录，请直接给出计划文件夹")
        directory = Path(ctx.program.source_dir)
    try:
        reading = readable_plan(directory)
        home = fresh_home(wired.settings.home / "simulations" / reading.program.id)
        result = replay(reading, home, date_option(from_, "--from"), date_option(to, "--to"), seed)
    except ReplayError as exc:
        raise Failure(str(exc)) from None
    if as_json:
        emit_json(
            {
                **result.simulation.to_json(),
                "home": str(home),
                "outbox": str(result.wiring.settings.outbox_path),
            }
        )
        return
    print_timeline(result)


@app.command("demo")
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
    out.print(f"验收材料包: 就绪度 {package['readiness']:.1f}/100，差距 {len(gaps)} 项", highlight=False)
    for gap in gaps[:5]:
        out.print(f"  - {gap['task']}: {gap['detail']}", highlight=False)
    out.print(
        f"  索引 {package['index']}\n  报告 {package['report']}\n  压缩包 {package['zip']}", highlight=False
    )
    print_scores(outcome["scores"])


def print_timeline(result: Replay, outcome: dict | None = None) -> None:
    simulation, wired = result.simulation, result.wiring
    with wired.transaction() as session:
        ctx = load_program(session, result.program)
        units = outcome["units"] if outcome else unit_table(session, ctx)
        summary = outcome["status"] if outcome else status_summary(session, ctx, simulation.end)
    out.print(
        f"[bold]{ctx.program.name}[/bold]（{ctx.id}）回放 {simulation.start} — {simulation.end}，种子 "
        f"{simulation.seed}",
        highlight=False,
    )
    timeline = Table("日期", "阶段", "转换", "说明", title="阶段时间线")
    for t in simulation.transitions:
        timeline.add_row(t["on"], t["name"], label("transition", t["state"]), "；".join(t["reasons"]))
    out.print(timeline)
    kinds = Table(
        "类型",
        "通知数",
        title=f"通知（共 {sum(simulation.notices.values())} 项，{simulation.messages} 条摘要消息）",
    )
    for kind, count in sorted(simulation.notices.items(), key=lambda kv: -kv[1]):
        kinds.add_row(label("kind", kind), str(count))
    out.print(kinds)
    table = Table(
        "单位", "按时办结", "逾期办结", "未办结", "督办", "签收", "退回重办", title="各单位（牵头任务期次）"
    )
    for row in units:
        table.add_row(row["name"], str(row["on_time"]), str(row["late"]), str(row["open"]),
                      str(row["escalations"]), str(row["acks"]), str(row["returns"]))
    out.print(table)
    side = simulation.units_side
    out.print(f"单位端：签收 {side['acks']} 项，申请办结 {side['claims']} 次，审核销号 {side['passed']} 次，"
              f"退回重办 {side['returned']} 次", highlight=False)
    lights = summary["lights"]
    out.print(
        f"截至 {simulation.end}：办结 {lights['done']}/{summary['tasks']} 项，红灯 {lights['red']}，黄灯 "
        f"{lights['yellow']}",
        highlight=False,
    )
    out.print(f"数据库: {wired.settings.db_url}\n发件箱: {wired.settings.outbox_path}\n"
              f"查看: duban outbox {ctx.id} --db {wired.settings.db_url}", highlight=False)


@app.command("outbox")
@handles_errors
def outbox(program: Annotated[str | None, typer.Argument()] = None, db: DbOption = None,
           as_json: JsonOption = False) -> None:
    """已发送或排队的通知：时间、接收单位、渠道、类型、任务编号、投递状态。"""
    wired = context(db)
    with wired.transaction() as session:
        if program is not None:
            load_program(session, program)
        entries = outbox_entries(session, program)
    if as_json:
        emit_json(entries)
        return
    table = Table("时间", "单位", "类型", "任务", "渠道", "状态")
    for entry in entries:
        table.add_row(entry["at"][:16].replace("T", " "), entry["unit"], label("kind", entry["kind"]),
                      short(",".join(entry["tasks"]), 30), entry["channel"] or "—", entry["state"])
    out.print(table)
    out.print(f"共 {len(entries)} 项通知", highlight=False)


@app.command("serve")
@handles_errors
def serve(db: DbOption = None) -> None:
    """以 prefect.serve 提供每个计划的部署（每日 08:30 检查、每周一 09:00 通报）；需要 Prefect 服务器。"""
    from prefect import serve as prefect_serve

    wired = context(db)
    with wired.transaction() as session:
        programs = {p.id: p.timezone for p in session.query(Program).all()}
    if not programs:
        raise Failure("数据库中还没有计划：先运行 duban plan import DIR")
    if taken := deployed_to_work_pools(programs):
        # Serving would rewrite them: their work pool, pull steps and workers would silently stop applying.
        raise Failure(f"这些部署已由 prefect deploy 创建（工作池运行）：{', '.join(taken)}；"
                      "请用 prefect worker 运行它们，或先 prefect deployment delete 再 duban serve")
    # Served runs execute in child processes of this one: they read the database from its environment.
    os.environ["DUBAN_DATABASE_URL"] = wired.settings.db_url
    # pause_on_shutdown=False: stopping `serve` must not leave the program's schedules paused.
    prefect_serve(*deployments(programs), pause_on_shutdown=False)


def deployed_to_work_pools(programs: dict[str, str]) -> list[str]:
    """The deployments of these programs that `prefect deploy` made (they have a work pool)."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from flows import deployment_names  # loads Prefect: only `duban serve` needs it

    taken = []
    with get_client(sync_client=True) as client:
        for program in programs:
            for flow_name, name in deployment_names(program).items():
                try:
                    found = client.read_deployment_by_name(f"{flow_name}/{name}")
                except ObjectNotFound:
                    continue
                if found.work_pool_name:
                    taken.append(f"{flow_name}/{name}")
    return taken


prefect_app = typer.Typer(no_args_is_help=True, help="Prefect 服务器上的设置")
app.add_typer(prefect_app, name="prefect")


@prefect_app.command("setup")
@handles_errors
def prefect_setup(
    notify_block: Annotated[
        str | None,
        typer.Option(
            "--notify-block", help="牵头办的 Prefect 通知块（block 类型/名称，如 slack-webhook/coordinator）"
        ),
    ] = None,
) -> None:
    """在 Prefect 服务器上创建（或更新）自动化：阶段超期未结（duban.phase.overrun）时通知牵头办。"""
    from prefect.blocks.core import Block
    from prefect.exceptions import ObjectNotFound

    from flows import OVERRUN_AUTOMATION, overrun_automation  # loads Prefect: only this command needs it

    block_id = None
    if notify_block:
        try:
            block_id = Block.load(notify_block)._block_document_id
        except (ValueError, ObjectNotFound) as exc:
            raise Failure(f"--notify-block {notify_block}: 找不到这个通知块（{exc}）") from None
    from prefect.automations import Automation

    try:
        Automation.read(name=OVERRUN_AUTOMATION).delete()  # set-up may be run again: one automation, current
    except ValueError:
        pass
    created = overrun_automation(block_id).create()
    out.print(f"已创建自动化「{created.name}」（{created.id}）："
              + ("通知 " + notify_block if notify_block else "在事件流中标记每次超期"), highlight=False)


register_content_commands(app)
register_delivery_commands(app)
register_portal_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

