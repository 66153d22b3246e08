"""The `duban` command: a thin layer over schedule/, db/, notifications/ and flows/.

Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error. Errors go to stderr.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from functools import wraps
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from db.importer import import_program
from db.queries import InvalidInput, NotFound, load_program, record_report, status_summary, task_rows
from duban.wiring import Wiring, wiring
from schedule.planfile import read_plan

app = typer.Typer(no_args_is_help=True, add_completion=False, help="督办 duban: 示范区建设计划的督办与提醒")
plan_app = typer.Typer(no_args_is_help=True, help="计划文件夹：校验与导入")
app.add_typer(plan_app, name="plan")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[str | None, typer.Option("--db", help="数据库 URL（默认 DUBAN_DATABASE_URL 或 $DUBAN_HOME/duban.db）")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="日期（当日 08:30）或日期时间，程序时区；默认现在")]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]

DAILY_CHECK_TIME = time(8, 30)
LIGHT_STYLE = {"done": "blue", "red": "red", "yellow": "yellow", "green": "green", "none": "dim"}
LIGHT_ZH = {"done": "办结", "red": "红灯", "yellow": "黄灯", "green": "绿灯", "none": "无期限"}


class Failure(Exception):
    """A failed check or invalid input: exit 1 with a message on stderr."""


def handles_errors(command: Callable) -> Callable:
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (Failure, NotFound, InvalidInput) as exc:
            err.print(f"[red]错误[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None
    return wrapper


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_as_of(text: str | None, timezone: str) -> datetime:
    """A date means that day at 08:30 (the daily check's time) in the program's zone; no value means now."""
    zone = ZoneInfo(timezone)
    if text is None:
        return datetime.now(zone)
    try:
        if "T" in text or " " in text.strip():
            moment = datetime.fromisoformat(text.strip())
            return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
        return datetime.combine(date.fromisoformat(text.strip()), DAILY_CHECK_TIME, zone)
    except ValueError:
        raise typer.BadParameter(f"「{text}」不是 ISO 日期（2024-02-19）或日期时间（2024-02-19T15:00）",
                                 param_hint="--as-of") from None


def context(db: str | None) -> Wiring:
    return wiring(db)


# ---------------------------------------------------------------- plan


@plan_app.command("validate")
@handles_errors
def plan_validate(directory: Annotated[Path, typer.Argument(help="计划文件夹")], as_json: JsonOption = False) -> None:
    """校验计划文件夹：有效则退出码 0（警告输出到 stderr），否则 1，每个问题一行 FILE:ROW:COLUMN: message。"""
    reading = read_plan(directory)
    if as_json:
        emit_json({"valid": reading.ok, "program": reading.program.id if reading.program else None,
                   "tasks": len(reading.program.tasks) if reading.program else 0,
                   "problems": [p.to_json() for p in reading.problems]})
    else:
        for problem in reading.problems:
            prefix = "warning: " if problem.severity == "warning" else ""
            err.print(f"{problem.file}:{problem.row or '-'}:{problem.column or '-'}: {prefix}{problem.message}",
                      highlight=False, markup=False)
        if reading.ok:
            program = reading.program
            out.print(f"有效: {program.id} {program.name} — {len(program.phases)} 个阶段, "
                      f"{len(program.units)} 个单位, {len(program.tasks)} 项任务", highlight=False)
    if not reading.ok:
        raise typer.Exit(1)


@plan_app.command("import")
@handles_errors
def plan_import(directory: Annotated[Path, typer.Argument(help="计划文件夹")], db: DbOption = None,
                as_json: JsonOption = False) -> None:
    """校验后导入（全部或全不）；重复导入按任务编号更新并保留进展，表中已删除的任务会列出而非静默丢弃。"""
    reading = read_plan(directory)
    for problem in reading.problems:
        prefix = "warning: " if problem.severity == "warning" else ""
        err.print(f"{problem.file}:{problem.row or '-'}:{problem.column or '-'}: {prefix}{problem.message}",
                  highlight=False, markup=False)
    if not reading.ok:
        err.print("未导入：请先修正以上问题（数据库未作任何改动）", highlight=False)
        raise typer.Exit(1)
    wired = context(db)
    with wired.transaction() as session:
        result = import_program(session, reading.program, datetime.now(ZoneInfo(reading.program.timezone)))
    if as_json:
        emit_json(result.to_json())
        return
    verb = "已导入" if result.created else "已更新"
    out.print(f"{verb} {result.program_id}: 新增 {len(result.tasks_added)} 项, 更新 {len(result.tasks_updated)} 项, "
              f"共 {result.instances} 个任务期次", highlight=False)
    if result.tasks_removed:
        out.print(f"分工表中已不存在、已停用（保留历史）的任务: {', '.join(result.tasks_removed)}", highlight=False)


# ---------------------------------------------------------------- read


@app.command("tasks")
@handles_errors
def tasks(program: str, unit: Annotated[str | None, typer.Option("--unit", help="只看该单位的任务")] = None,
          as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """任务清单及其红黄绿灯。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(parse_as_of(as_of, ctx.program.timezone))
        rows = task_rows(session, ctx, today, unit)
    if as_json:
        emit_json([{k: v for k, v in row.items() if k != "instance_id"} for row in rows])
        return
    table = Table("编号", "工作举措", "牵头", "时限", "进度", "预警", show_lines=False)
    for row in rows:
        style = LIGHT_STYLE[row["light"]]
        table.add_row(row["code"], _short(row["title"], 36), ",".join(row["lead"]),
                      row["due"] or row["recurrence"] or "—", f"{row['progress']}%",
                      f"[{style}]{LIGHT_ZH[row['light']]}[/{style}]")
    out.print(table)


@app.command("status")
@handles_errors
def status(program: str, as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """阶段状态、各灯数量、各单位数量。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        summary = status_summary(session, ctx, ctx.local_date(parse_as_of(as_of, ctx.program.timezone)))
    if as_json:
        emit_json(summary)
        return
    print_status(summary)


def print_status(summary: dict) -> None:
    out.print(f"[bold]{summary['name']}[/bold] ({summary['program']})  截至 {summary['as_of']}", highlight=False)
    phases = Table("阶段", "起止", "状态", title="阶段")
    state_zh = {"pending": "未开始", "open": "进行中", "closed": "已结束", "overrun": "超期未结"}
    for phase in summary["phases"]:
        phases.add_row(phase["name"], f"{phase['start']} — {phase['end']}", state_zh[phase["state"]])
    out.print(phases)
    lights = summary["lights"]
    out.print("  ".join(f"[{LIGHT_STYLE[k]}]{LIGHT_ZH[k]} {v}[/{LIGHT_STYLE[k]}]" for k, v in lights.items())
              + f"   共 {summary['tasks']} 项，办结率 {summary['done_share']:.0%}", highlight=False)
    units = Table("单位", "牵头", "配合", "红", "黄", "绿", "办结", title="各单位（牵头任务）")
    for unit in summary["units"]:
        units.add_row(unit["name"], str(unit["lead"]), str(unit["co"]), str(unit["red"]), str(unit["yellow"]),
                      str(unit["green"]), str(unit["done"]))
    out.print(units)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- write


@app.command("report")
@handles_errors
def report(program: str, code: str,
           unit: Annotated[str, typer.Option("--unit", help="报送单位编号")],
           status_: Annotated[str, typer.Option("--status", help="not_started | in_progress | done")],
           progress: Annotated[int | None, typer.Option("--progress", help="进度 0–100")] = None,
           note: Annotated[str | None, typer.Option("--note", help="进展说明")] = None,
           evidence: Annotated[list[Path] | None, typer.Option("--evidence", help="佐证材料文件，可重复")] = None,
           as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """记录一个单位的进展报送。"""
    wired = context(db)
    for path in evidence or []:
        if not path.is_file():
            raise Failure(f"{path}:-:-: 佐证材料文件不存在")
    with wired.transaction() as session:
        ctx = load_program(session, program)
        at = parse_as_of(as_of, ctx.program.timezone)
        stored = _store_evidence(wired, program, code, evidence or [])
        result = record_report(session, ctx, code, unit, status_, progress, note, stored, at)
    if as_json:
        emit_json(result)
    else:
        out.print(f"已记录: {program} {code} {unit} → {status_} {result['progress']}%", highlight=False)


def _store_evidence(wired: Wiring, program: str, code: str, files: list[Path]) -> list[str]:
    """Copies evidence into the home, so the acceptance package finds it years later."""
    stored = []
    for path in files:
        target = wired.settings.home / "evidence" / program / code / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        stored.append(str(target))
    return stored


def main() -> None:
    app()


if __name__ == "__main__":
    main()
