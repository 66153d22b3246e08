"""The tasks and their progress: `duban tasks`, `duban status`, `duban outbox` (reading: no Prefect, pandas or
openpyxl) and `duban report` (a unit's progress report)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from db import (
    commit_files,
    load_program,
    outbox_entries,
    program_state,
    status_summary,
    task_exists,
    task_rows,
)
from duban.cli.support import (
    LIGHT_STYLE,
    AsOfOption,
    CauseOption,
    DbOption,
    EvidenceOption,
    JsonOption,
    MeasureOption,
    context,
    emit_json,
    handles_errors,
    label,
    opened,
    out,
    recorded_paths,
    say,
    short,
    speak,
    stage_evidence,
)


@handles_errors
def tasks(program: str, unit: Annotated[str | None, typer.Option("--unit", help="只看该单位的任务")] = None,
          as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """任务清单及其红黄绿灯。"""
    with opened(program, db) as the:
        rows = task_rows(the.session, the.ctx, the.day(as_of), unit)
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


@handles_errors
def status(program: str, as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """阶段状态、各灯数量、各单位数量。"""
    with opened(program, db) as the:
        summary = status_summary(the.session, the.ctx, the.day(as_of))
        summary["program_state"] = program_state(the.session, the.ctx)  # running | completed | archived
    if as_json:
        emit_json(summary)
        return
    print_status(summary)


def print_status(summary: dict) -> None:
    state = (summary.get("program_state") or {}).get("label", "")  # running, completed (on …), archived
    out.print(f"[bold]{summary['name']}[/bold] ({summary['program']})  {say('as_of', on=summary['as_of'])}  "
              f"{state}", highlight=False)
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


@handles_errors
def report(
    program: str,
    code: str,
    unit: Annotated[str, typer.Option("--unit", help="报送单位编号")],
    status_: Annotated[str, typer.Option("--status", help="not_started | in_progress | done")],
    progress: Annotated[int | None, typer.Option("--progress", help="进度 0–100")] = None,
    note: Annotated[str | None, typer.Option("--note", help="进展说明")] = None,
    evidence: EvidenceOption = None,
    cause: CauseOption = None, measure: MeasureOption = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """记录一个单位的进展报送。"""
    from db import is_item_code, report_item, submit_report  # the report's rules: loaded by this command

    staged = stage_evidence(evidence or [])
    stored = recorded_paths(staged)
    with opened(program, db) as the:
        session, ctx, at = the.session, the.ctx, the.moment(as_of)
        if is_item_code(code) and not task_exists(session, program, code):
            # A remediation item (R-n) is closed with the same command as a task.
            result = report_item(session, ctx, code, unit, status_, progress, note, stored, at,
                                 cause=cause, measure=measure)
        else:
            result = submit_report(session, ctx, code, unit, status_, progress, note, stored, at, "cli")
        # Only an accepted report brings its files into the home; a failed copy rolls the report back.
        commit_files(the.wired.settings.home, staged, ctx.language)
    if as_json:
        emit_json(result)
    else:
        pending = say("report_pending") if result.get("review") == "pending" else ""
        out.print(say("report_recorded", program=program, code=code, unit=unit, status=status_,
                      progress=result["progress"], pending=pending), highlight=False)


@handles_errors
def outbox(program: Annotated[str | None, typer.Argument()] = None, db: DbOption = None,
           as_json: JsonOption = False) -> None:
    """已发送或排队的通知：时间、接收单位、渠道、类型、任务编号、投递状态。"""
    wired = context(db)
    with wired.transaction() as session:
        if program is not None:
            speak(load_program(session, program).language)
        entries = outbox_entries(session, program)
    if as_json:
        emit_json(entries)
        return
    table = Table(*(say(f"outbox_{c}") for c in ("at", "unit", "kind", "tasks", "channel", "state")))
    for entry in entries:
        table.add_row(entry["at"][:16].replace("T", " "), entry["unit"], label("kind", entry["kind"]),
                      short(",".join(entry["tasks"]), 30), entry["channel"] or "—", entry["state"])
    out.print(table)
    out.print(say("outbox_total", count=len(entries)), highlight=False)
