"""`duban plan validate|import DIR`: a plan folder checked, then imported all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from duban.cli.support import (
    DbOption,
    JsonOption,
    context,
    emit_json,
    err,
    handles_errors,
    out,
    print_problems,
)
from schedule import read_plan

plan_app = typer.Typer(no_args_is_help=True, help="计划文件夹：校验与导入")
DirectoryArgument = Annotated[Path, typer.Argument(help="计划文件夹")]


@plan_app.command("validate")
@handles_errors
def plan_validate(directory: DirectoryArgument, as_json: JsonOption = False) -> None:
    """校验计划文件夹：有效则退出码 0（警告输出到 stderr），否则 1，每个问题一行 FILE:ROW:COLUMN: message。"""
    reading = read_plan(directory)
    if as_json:
        emit_json({"valid": reading.ok, "program": reading.program.id if reading.program else None,
                   "tasks": len(reading.program.tasks) if reading.program else 0,
                   "problems": [p.to_json() for p in reading.problems]})
    else:
        print_problems(reading.problems)
        if reading.ok:
            program = reading.program
            out.print(f"有效: {program.id} {program.name} — {len(program.phases)} 个阶段, "
                      f"{len(program.units)} 个单位, {len(program.tasks)} 项任务", highlight=False)
    if not reading.ok:
        raise typer.Exit(1)


@plan_app.command("import")
@handles_errors
def plan_import(directory: DirectoryArgument, db: DbOption = None,
                replace: Annotated[bool, typer.Option("--replace", help="以这个计划替换同一编号下的另一个计"
                                                                        "划（记录均保留）")] = False,
                as_json: JsonOption = False) -> None:
    """校验后导入（全部或全不）；重复导入按任务编号更新并保留进展，表中已删除的任务会列出而非静默丢弃。"""
    from db import import_program  # the importer, loaded by this command only
    from flows import now  # the clock, for the import's time

    reading = read_plan(directory)
    print_problems(reading.problems)
    if not reading.ok:
        err.print("未导入：请先修正以上问题（数据库未作任何改动）", highlight=False)
        raise typer.Exit(1)
    wired = context(db)
    with wired.transaction() as session:
        result = import_program(session, reading.program, now(ZoneInfo(reading.program.timezone)),
                                replace=replace)
        # Said before the transaction commits: what this import replaces and retires.
        if result.replaced is not None:
            err.print(f"替换计划 {result.program_id}：「{result.replaced}」→「{reading.program.name}」"
                      "（原有报送、通知、事件与决定均保留）", highlight=False)
        if result.instances_retired:
            err.print(
                f"停用 {len(result.instances_retired)} 个任务期次（其报送与通知保留）：", highlight=False
            )
            for line in result.instances_retired:
                err.print(f"  - {line}", highlight=False, markup=False)
    if as_json:
        emit_json(result.to_json())
        return
    verb = "已导入" if result.created else "已更新"
    out.print(f"{verb} {result.program_id}: 新增 {len(result.tasks_added)} 项, "
              f"更新 {len(result.tasks_updated)} 项, 共 {result.instances} 个任务期次", highlight=False)
    if result.tasks_removed:
        out.print(
            f"分工表中已不存在、已停用（保留历史）的任务: {', '.join(result.tasks_removed)}", highlight=False
        )
