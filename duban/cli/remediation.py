"""`duban remediation`: the remediation items the self-check's findings became; a unit closes one
(--close), the coordinator accepts one left open (--accept), and without either the items are listed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from db import accept_item, commit_files, list_items, pending_findings, report_item
from duban.cli.support import (
    AsOfOption,
    ByOption,
    CauseOption,
    DbOption,
    EvidenceOption,
    JsonOption,
    MeasureOption,
    NoteOption,
    actor,
    emit_json,
    handles_errors,
    label,
    opened,
    out,
    recorded_paths,
    say,
    stage_evidence,
)


@handles_errors
def remediation(
    program: str,
    unit: Annotated[str | None, typer.Option(help="只看该单位；与 --close 一起时为报送单位")] = None,
    close: Annotated[str | None, typer.Option(help="办结整改事项（如 R-3），须同时给出 --unit")] = None,
    evidence: EvidenceOption = None,
    note: NoteOption = None,
    cause: CauseOption = None, measure: MeasureOption = None,
    accept: Annotated[str | None, typer.Option(help="牵头办认可未办结的整改事项（如 R-3）")] = None,
    by: ByOption = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """自查发现问题转成的整改事项；--close 办结（单位），--accept 认可（牵头办）。"""
    if close and accept:
        raise typer.BadParameter(say("remediation_one_action"), param_hint="--close")
    if close and not unit:
        raise typer.BadParameter(say("remediation_close_unit"), param_hint="--unit")
    staged = stage_evidence(evidence or [])  # checked before anything is recorded
    with opened(program, db) as the:
        action = None
        if close:
            action = report_item(the.session, the.ctx, close, unit, "done", None, note,
                                 recorded_paths(staged), the.moment(as_of), actor(by), cause=cause,
                                 measure=measure)
            commit_files(the.wired.settings.home, staged, the.ctx.language)
        elif accept:
            action = accept_item(the.session, the.ctx, accept, actor(by), the.moment(as_of), note)
        today = the.day(as_of)
        items = list_items(the.session, the.ctx, today, None if close else unit)
        waiting = pending_findings(the.session, program)
    if as_json:
        emit_json({"program": program, "as_of": today.isoformat(), "action": action, "items": items,
                   "findings_without_items": waiting})
    elif action:
        out.print(f"{action['item']} → {label('item_state', action['state'])}", highlight=False)
    else:
        print_items(items, today, waiting)


def print_items(items: list[dict], today: date, waiting: int) -> None:
    table = Table(*(say(f"remediation_{c}") for c in ("code", "unit", "title", "due", "state")),
                  title=say("remediation_caption", on=today))
    for item in items:
        state = label("item_state", item["state"])
        if item["state"] == "open" and item["overdue_workdays"]:
            state = f"[red]{say('remediation_overdue', days=item['overdue_workdays'])}[/red]"
        elif item["closed_on"]:
            state += f" {item['closed_on']}" + (say("remediation_late") if item["late"] else "")
        table.add_row(item["code"], item["unit"], item["title"], item["due"], state)
    out.print(table)
    open_count = sum(i["state"] == "open" for i in items)
    out.print(
        say("remediation_totals", count=len(items), open=open_count)
        + (say("remediation_waiting", count=waiting) if waiting else ""),
        highlight=False,
    )
