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
    say,
    speak,
)
from schedule import read_plan

plan_app = typer.Typer(no_args_is_help=True, help="计划文件夹：校验与导入")
DirectoryArgument = Annotated[Path, typer.Argument(help="计划文件夹")]


@plan_app.command("validate")
@handles_errors
def plan_validate(directory: DirectoryArgument, as_json: JsonOption = False) -> None:
    """校验计划文件夹：有效则退出码 0（警告输出到 stderr），否则 1，每个问题一行 FILE:ROW:COLUMN: message。"""
    reading = read_plan(directory)
    speak(reading.language)
    if as_json:
        emit_json({"valid": reading.ok, "program": reading.program.id if reading.program else None,
                   "tasks": len(reading.program.tasks) - reading.program.shares if reading.program else 0,
                   "shares": reading.program.shares if reading.program else 0,
                   "problems": [p.to_json() for p in reading.problems]})
    else:
        print_problems(reading.problems)
        if reading.ok:
            program = reading.program
            out.print(say("valid", id=program.id, name=program.name, phases=len(program.phases),
                          units=len(program.units), tasks=len(program.tasks) - program.shares,
                          shares=program.shares), highlight=False)
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
