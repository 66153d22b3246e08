"""The daily check on Prefect: `duban supervise` (one run now), `duban serve` (every program's deployments,
at most --limit runs at once) and `duban prefect setup` (the automation and the work pool's limit). Only
these commands load Prefect: this module is loaded by them alone."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from prefect import get_client
from prefect import serve as prefect_serve
from prefect.automations import Automation
from prefect.blocks.core import Block
from prefect.client.schemas.actions import WorkPoolUpdate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.exceptions import ObjectNotFound
from sqlalchemy import select

from db import Program
from duban.cli.support import (
    AsOfOption,
    DbOption,
    Failure,
    JsonOption,
    context,
    emit_json,
    err,
    handles_errors,
    label,
    opened,
    out,
    run_flow,
    say,
)
from flows import (
    OVERRUN_AUTOMATION,
    database,
    deployment_names,
    deployments,
    load_settings,
    overrun_automation,
    supervise_flow,
)

WORK_POOL = "duban"  # the process work pool of prefect.yaml's deployments
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help=say("limit_help")),
]


@handles_errors
def supervise(program: str, as_of: AsOfOption = None, db: DbOption = None,
              as_json: JsonOption = False) -> None:
    """一次每日检查（Prefect 流程运行）：阶段转换、提醒、催办、督办。"""
    with opened(program, db) as the:
        moment, settings = the.moment(as_of), the.wired.settings
    with database(settings.db_url):  # the flow's database, without making it a parameter
        result = run_flow(settings, lambda: supervise_flow(program=program, as_of=moment))
    if as_json:
        emit_json(result)
    else:
        print_check(program, result)
    if result["dispatched"] and result["dispatched"]["all_failed"]:
        if not as_json:
            err.print(say("all_failed"), highlight=False)
        raise typer.Exit(1)


def print_check(program: str, result: dict) -> None:
    for transition in result["transitions"]:
        out.print(
            f"{transition['on']}  {transition['name']} → {label('transition', transition['state'])}",
            highlight=False,
        )
    claimed = say("separator").join(f"{label('kind', k)} {v}" for k, v in sorted(result["claimed"].items()))
    claimed = claimed or say("no_new_notices")
    out.print(say("check_claimed", program=program, today=result["today"], claimed=claimed), highlight=False)
    dispatched = result["dispatched"]
    if dispatched is None:
        out.print(say("outside_hours"), highlight=False)
        return
    states = dispatched["states"]
    reached = sum(v for k, v in states.items() if k in ("sent", "delivered"))
    out.print(say("sent", messages=dispatched["messages"], notices=dispatched["notices"], reached=reached,
                  failed=states.get("failed", 0)), highlight=False)
    for failure in dispatched["render_failures"]:
        err.print(say("render_failed", unit=failure["unit"], message=failure["message"],
                      reason=failure["reason"]), highlight=False, markup=False)


@handles_errors
def serve(db: DbOption = None, limit: LimitOption = None) -> None:
    """以 prefect.serve 提供每个计划的部署（每日 08:30 检查、每周一 09:00 通报），
    同时运行的检查不超过 --limit 个；需要 Prefect 服务器。

    100 个计划的 08:30 检查不会同时开始：超出的排队，等前面的结束。"""
    wired = context(db)
    with wired.transaction() as session:
        programs = dict(session.execute(select(Program.id, Program.timezone)).all())
    if not programs:
        raise Failure(say("no_programs"))
    if taken := deployed_to_work_pools(programs):
        # Serving would rewrite them: their work pool, pull steps and workers would silently stop applying.
        raise Failure(say("deployed_elsewhere", names=", ".join(taken)))
    # Served runs execute in child processes of this one: they read the database from its environment.
    os.environ["DUBAN_DATABASE_URL"] = wired.settings.db_url
    # pause_on_shutdown=False: stopping `serve` must not leave the program's schedules paused. limit: the
    # runner starts at most that many runs at once; the others wait for a slot.
    prefect_serve(*deployments(programs), pause_on_shutdown=False, limit=limit or wired.settings.check_limit)


def deployed_to_work_pools(programs: dict[str, str]) -> list[str]:
    """The deployments of these programs that `prefect deploy` made (they have a work pool): a page of 200 a
    request, not a request per deployment (300 of them for 100 programs)."""

    wanted = {name: flow for program in programs for flow, name in deployment_names(program).items()}
    only_ours = DeploymentFilter(name=DeploymentFilterName(any_=sorted(wanted)))
    taken, page = [], 200
    with get_client(sync_client=True) as client:
        for offset in range(0, len(wanted), page):
            found = client.read_deployments(deployment_filter=only_ours, limit=page, offset=offset)
            taken += [f"{wanted[d.name]}/{d.name}" for d in found if d.name in wanted and d.work_pool_name]
    return sorted(taken)


prefect_app = typer.Typer(no_args_is_help=True, help=say("prefect_help"))


@prefect_app.command("setup")
@handles_errors
def prefect_setup(
    notify_block: Annotated[
        str | None,
        typer.Option(
            "--notify-block", help=say("notify_block_help")
        ),
    ] = None,
    limit: LimitOption = None,
) -> None:
    """在 Prefect 服务器上创建（或更新）自动化：阶段超期未结（duban.phase.overrun）时通知牵头办；并把工作池
    duban（若已创建）的并发上限设为 --limit。"""

    block_id = None
    if notify_block:
        try:
            block_id = Block.load(notify_block)._block_document_id
        except (ValueError, ObjectNotFound) as exc:
            raise Failure(say("block_missing", block=notify_block, error=exc)) from None
    try:
        Automation.read(name=OVERRUN_AUTOMATION).delete()  # set-up may be run again: one automation, current
    except ValueError:
        pass
    created = overrun_automation(block_id).create()
    action = say("automation_notifies", block=notify_block) if notify_block else say("automation_marks")
    out.print(say("automation_created", name=created.name, id=created.id, action=action), highlight=False)
    limit = limit or load_settings().check_limit
    if limit_work_pool(limit):
        out.print(say("pool_limited", pool=WORK_POOL, limit=limit), highlight=False)


def limit_work_pool(limit: int) -> bool:
    """prefect.yaml's deployments run on the work pool `duban`: its concurrency limit caps the checks that
    run at once, so 08:30 does not start every program's check together. False when there is no pool."""
    with get_client(sync_client=True) as client:
        try:
            client.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=limit))
        except ObjectNotFound:
            return False
    return True
