"""通报: the coordinator's bulletin, from one data gathering, in markdown, HTML or a workbook.

The weekly bulletin notice and the Prefect markdown artifact use `render_bulletin(..., fmt="md")`; `duban
bulletin`
prints the markdown or writes the HTML / workbook. Chinese by default, English when the program's language
is en.
Contents: phases, counts by light overall and per unit (lead tasks), the red list (code, measure, lead
units, due,
overdue workdays), self-check returns and remediation items while those phases run, extensions granted (and
requests pending), failed deliveries per unit (messages that reached the unit through no channel), the 约谈
list.
"""

from __future__ import annotations

import io
from datetime import date
from functools import cache

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from db import (
    Lights,
    ProgramContext,
    RemediationItem,
    SelfCheckKnown,
    Unit,
    core,
    flush_pending,
    interview_list,
    list_extensions,
    pending_decisions,
    program_lights,
    returned_on,
    selfcheck_summary,
    status_summary,
    unit_scores,
    units_with_tasks,
)
from notifications.delivery.ledger import failed_delivery_counts
from notifications.render.environment import environment
from schedule import LANGUAGES, cell_row, labels, text

FORMATS = ("md", "html", "xlsx")
# What a digest or an artifact lists of the red tasks and overdue items; `duban bulletin` lists them all.
LISTED_IN_MESSAGES = 50
STATE_NAMES = {language: labels(language, "phase_state") for language in LANGUAGES}
LIGHT_NAMES = {language: labels(language, "light") for language in LANGUAGES}


def _language(ctx: ProgramContext, language: str | None) -> str:
    wanted = language or ctx.program.language
    return "en" if wanted and wanted.startswith("en") else "zh-CN"


def failed_deliveries(session: Session, ctx: ProgramContext) -> dict[str, int]:
    """unit code → messages that reached it through no channel (the delivery ledger)."""
    return failed_delivery_counts(session, ctx.id)


def bulletin_data(session: Session, ctx: ProgramContext, today: date, listed: int | None = None) -> dict:
    """`listed`: only that many red tasks, the longest overdue first (`red_total` counts them all)."""
    flush_pending(session)
    units = core(session, _UNITS_OF, {"program": ctx.id}).all()
    names = {code: name for _id, code, name in units}
    tally = program_lights(session, ctx, today)  # read once: the counts and the red list
    summary = status_summary(session, ctx, today, names, tally)
    red = _red_tasks(tally, ctx, today, names, listed)
    failed = failed_deliveries(session, ctx)
    extensions = list_extensions(session, ctx)
    granted = [
        dict(e, unit_name=names.get(e["unit"], e["unit"])) for e in extensions if e["state"] == "approved"
    ]
    pending = [
        dict(e, unit_name=names.get(e["unit"], e["unit"])) for e in extensions if e["state"] == "pending"
    ]
    phases = {p["kind"]: p for p in summary["phases"]}
    selfcheck = expected = returned = None
    if phases.get("self_check", {}).get("state", "pending") != "pending":
        # read once: the summary and the scores' form cards
        expected, returned = units_with_tasks(session, ctx), returned_on(session, ctx)
        known = SelfCheckKnown(date.fromisoformat(phases["self_check"]["end"]), returned,
                               {unit_id: code for unit_id, code, _name in units})
        selfcheck = selfcheck_summary(session, ctx, expected, known)
        selfcheck["missing_names"] = [names.get(c, c) for c in selfcheck["missing"]]
    items = core(session, _REMEDIATION_ITEMS, {"program": ctx.id}).all()
    remediation = _remediation(items, ctx, today, {unit_id: name for unit_id, _code, name in units})
    scores = unit_scores(session, ctx, None, today, expected, items, cards=False,  # counts only
                         phases=summary["phases"], returned=returned)
    # Only an overrun phase can wait for a decision: most weeks none is, and nothing is read for it.
    overrun = any(p["state"] == "overrun" for p in summary["phases"])
    return {
        "program": ctx.id, "name": ctx.program.name, "today": today.isoformat(),
        "phases": summary["phases"], "tasks": summary["tasks"], "done_share": summary["done_share"],
        "lights": summary["lights"],
        "units": [dict(u, name=names.get(u["unit"], u["unit"]), failed=failed.get(u["unit"], 0))
                  for u in summary["units"]],
        "red": red, "red_total": len(tally.red),
        "failed": [{"unit": code, "name": names.get(code, code), "count": count}
                   for code, count in sorted(failed.items(), key=lambda kv: (-kv[1], kv[0])) if count],
        "extensions": granted, "pending_extensions": pending,
        "pending_decisions": [
            {"kind": p.kind, "name": p.name, "end": p.end.isoformat(), "reasons": list(p.gate_reasons or [])}
            for p in (pending_decisions(session, ctx.id) if overrun else [])],
        "selfcheck": selfcheck, "remediation": remediation,
        "interviews": interview_list(scores), **praise_and_criticism(scores)}


def praise_and_criticism(scores: list[dict]) -> dict:
    """表扬: units that finished their items early or on time, none overdue, no red card; 通报批评: units
    with items overdue or a red card, the worst first. The coordinator is in neither: it is not scored."""
    praise = [{"unit": s["unit"], "name": s["name"], "early": s["done_early"],
               "on_time": s["done_on_time"] - s["done_early"]}
              for s in scores if s["done_on_time"] and not s["overdue"] and not s["red_cards"]]
    praise.sort(key=lambda p: (-(p["early"] + p["on_time"]), -p["early"], p["unit"]))
    criticism = [{"unit": s["unit"], "name": s["name"], "overdue": s["overdue"], "red": s["red_cards"]}
                 for s in scores if s["overdue"] or s["red_cards"]]
    criticism.sort(key=lambda c: (-c["overdue"], -c["red"], c["unit"]))
    return {"praise": praise, "criticism": criticism}


def _red_tasks(tally: Lights, ctx: ProgramContext, today: date, names: dict[str, str],
               listed: int | None) -> list[dict]:
    """The red tasks, the longest overdue first; the first `listed` of them only, when given (a digest of a
    100,000-task program names 50 of tens of thousands)."""
    calendar = ctx.policies.work_calendar()
    overdue = cache(lambda due: calendar.workdays_between(date.fromisoformat(due), today))
    red = sorted(tally.red, key=lambda r: (-overdue(r["due"]), r["code"]))
    return [dict(row, lead=[names.get(c, c) for c in row["lead"]], overdue_workdays=overdue(row["due"]))
            for row in red[:listed]]


# The bulletin's own reads, built once on the tables (Core): a digest carries the bulletin each week.
_ITEMS, _UNITS = RemediationItem.__table__, Unit.__table__
_REMEDIATION_ITEMS = (select(_ITEMS.c.code, _ITEMS.c.title, _ITEMS.c.unit_id, _ITEMS.c.due, _ITEMS.c.state,
                             _ITEMS.c.closed_on)
                      .where(_ITEMS.c.program_id == bindparam("program")).order_by(_ITEMS.c.id))
_UNITS_OF = select(_UNITS.c.id, _UNITS.c.code, _UNITS.c.name).where(
    _UNITS.c.program_id == bindparam("program"))


def _remediation(items: list[Row], ctx: ProgramContext, today: date, names: dict[int, str]) -> dict | None:
    """The 整改 items (_REMEDIATION_ITEMS) counted by state, with the open ones past due; None for a program
    without any. `names`: unit id → name."""
    if not items:
        return None
    calendar = ctx.policies.work_calendar()
    overdue = [
        {
            "code": i.code, "title": i.title, "unit": names.get(i.unit_id, ""),
            "due": i.due.isoformat(), "overdue_workdays": calendar.workdays_between(i.due, today)}
        for i in items
        if i.state == "open" and i.due < today
    ]
    return {"total": len(items), "open": sum(i.state == "open" for i in items),
            "closed": sum(i.state == "closed" for i in items),
            "accepted": sum(i.state == "accepted" for i in items),
            "closed_late": sum(i.state == "closed" and i.closed_on > i.due for i in items),
            "overdue": sorted(overdue, key=lambda r: (-r["overdue_workdays"], r["code"]))}


def render_bulletin(session: Session, ctx: ProgramContext, today: date, fmt: str = "md",
                    language: str | None = None, commands: bool = True,
                    listed: int | None = None) -> str | bytes:
    """`commands`: name the commands that act on it (the coordinator's terminal), never inside a digest.
    `listed`: at most that many red tasks and overdue items in the markdown, the longest overdue first, the
    rest counted (a digest or an artifact of a 100,000-task program must stay readable); all by default."""
    language = _language(ctx, language)
    if fmt not in FORMATS:
        raise ValueError(text(language, "bulletin_sheet.format", fmt=fmt, formats=" | ".join(FORMATS)))
    data = bulletin_data(session, ctx, today, listed if fmt == "md" else None)
    if fmt == "xlsx":
        return bulletin_workbook(data, language)
    template = environment().get_template(f"bulletin.{language}.{fmt}.j2")
    words = labels(language, "praise")
    return template.render(**data, states=STATE_NAMES[language], light_names=LIGHT_NAMES[language],
                           words=words, sep=words["sep"], comma=words["comma"], commands=commands,
                           listed_or=lambda rows: rows if listed is None else rows[:listed])


def bulletin_workbook(data: dict, language: str) -> bytes:
    sheets = labels(language, "bulletin_sheet")
    workbook = Workbook()
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="D9E1F2")

    def sheet_with(sheet, header, rows, widths):
        sheet.append(cell_row([f"{data['name']} · {sheets['title']} · {data['today']}"]))
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(list(header))
        for cell in sheet[2]:
            cell.font, cell.fill = bold, fill
        for row in rows:
            sheet.append(cell_row(row))
        for index, width in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + index)].width = width
        sheet.freeze_panes = "A3"

    units = workbook.active
    units.title = sheets["units"]
    sheet_with(units, labels(language, "bulletin_units").values(), [
        (u["name"], u["lead"], u["co"], u["red"], u["yellow"], u["green"], u["done"], u["none"], u["failed"])
        for u in data["units"]], [36, 10, 10, 8, 8, 8, 8, 10, 12])
    sheet_with(workbook.create_sheet(sheets["red"]), labels(language, "bulletin_red").values(), [
        (r["code"], r["title"], sheets["separator"].join(r["lead"]), r["due"], r["overdue_workdays"],
         r["progress"])
        for r in data["red"]], [10, 60, 36, 12, 12, 8])
    sheet_with(
        workbook.create_sheet(sheets["extensions"]),
        labels(language, "bulletin_extensions").values(),
        [
            (
                e["id"], e["code"], e["unit_name"], e["from"], e["to"], e["decided_on"], e["decided_by"],
                e["reason"])
            for e in data["extensions"]
        ],
        [8, 10, 30, 12, 12, 12, 16, 40],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
