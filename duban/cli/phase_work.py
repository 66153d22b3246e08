"""The phase-content commands: self-check forms, extensions, phase approval, the acceptance package, the
bulletin and the scores (remediation items: duban.cli.remediation).

Exit codes as everywhere: 0 success, 1 invalid input (a located `FILE:ROW:COLUMN: message` per problem on
stderr, or `--OPTION VALUE: message`), 2 usage error. The workbooks (openpyxl) and the acceptance package load
inside the commands that write or read them: the reading ones (extension list, selfcheck status, scores) do
without.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from db import (
    approve_extension,
    approve_phase,
    list_extensions,
    reject_extension,
    request_extension,
    scores_report,
    selfcheck_summary,
    units_with_tasks,
)
from duban.cli.support import (
    AsOfOption,
    ByOption,
    DbOption,
    Failure,
    JsonOption,
    NoteOption,
    actor,
    date_option,
    emit_json,
    handles_errors,
    label,
    opened,
    out,
    print_problems,
    refuse_returned,
    say,
)
from schedule import PHASE_KINDS, is_phase_kind, text

selfcheck_app = typer.Typer(no_args_is_help=True, help="自查自评：下发自查表、导入交回的自查表")
extension_app = typer.Typer(no_args_is_help=True, help="延期申请：提出、批准、驳回")
phase_app = typer.Typer(no_args_is_help=True, help="阶段：牵头办的决定")
acceptance_app = typer.Typer(no_args_is_help=True, help="验收准备：验收材料包")


# ---------------------------------------------------------------- self-check


@selfcheck_app.command("forms")
@handles_errors
def selfcheck_forms(
    program: str,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只写这些单位的表，可重复")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """为每个有任务的单位写出自查自评表（.xlsx）。"""
    from notifications import write_forms  # openpyxl: loaded by the commands that write workbooks

    with opened(program, db) as the:
        known = set(units_with_tasks(the.session, the.ctx).values())
        for code in unit or []:
            if code not in known:
                raise Failure(say("selfcheck_no_unit", unit=code, program=program))
        written = write_forms(the.session, the.ctx, out_dir, list(unit) if unit else None)
    if as_json:
        emit_json({"program": program, "dir": str(out_dir), "forms": written})
        return
    for form in written:
        out.print(say("selfcheck_form_written", file=form["file"], name=form["name"], tasks=form["tasks"]),
                  highlight=False)
    out.print(say("selfcheck_forms_written", count=len(written), dir=out_dir), highlight=False)


@selfcheck_app.command("import")
@handles_errors
def selfcheck_import(
    program: str,
    files: Annotated[list[Path], typer.Argument(help="交回的自查表 .xlsx")],
    unit: Annotated[str | None, typer.Option("--unit", help="交表单位：表须属于该单位")] = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """导入交回的自查表：逐项校验（FILE:ROW:COLUMN: 问题），全部无误才导入，否则一份也不导入。"""
    from notifications import import_forms  # openpyxl: loaded by the commands that read workbooks

    with opened(program, db) as the:
        results, problems = import_forms(the.session, the.ctx, files, the.moment(as_of), unit, actor())
        failed = any(p.severity == "error" for p in problems)  # then nothing was written
    if as_json:
        emit_json({"program": program, "imported": results, "problems": [p.to_json() for p in problems]})
    else:
        print_problems(problems)
        for r in results:
            late = "" if r["on_time"] else say("selfcheck_late")
            found = findings(r["findings"])
            out.print(say("selfcheck_imported", unit=r["unit"], rows=r["rows"], findings=found, late=late),
                      highlight=False)
    refuse_returned(failed, as_json)


@selfcheck_app.command("status")
@handles_errors
def selfcheck_status(program: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """自查表交回情况：已交、逾期、未交，以及发现的问题数。"""
    with opened(program, db) as the:
        summary = {"program": program, **selfcheck_summary(the.session, the.ctx)}
    if as_json:
        emit_json(summary)
        return
    out.print(say("selfcheck_returned", units=summary["units"], returned=len(summary["returned"]),
                  late=len(summary["late"])), highlight=False)
    if summary["missing"]:
        out.print(say("selfcheck_missing", units=", ".join(summary["missing"])), highlight=False)
    out.print(say("selfcheck_findings", findings=findings(summary["findings"])), highlight=False)


def findings(counts: dict[str, int]) -> str:
    """Findings by kind, such as '未完成 2，部分完成 1'; none said as such."""
    return say("findings_separator").join(f"{k} {v}" for k, v in counts.items()) or say("scores_none")


# ---------------------------------------------------------------- extensions


@extension_app.command("request")
@handles_errors
def extension_request(program: str, code: str,
                      unit: Annotated[str, typer.Option("--unit", help="申请单位（任务的牵头或配合单位）")],
                      to: Annotated[str, typer.Option("--to", help="申请的新完成时限（ISO 日期）")],
                      reason: Annotated[str, typer.Option("--reason", help="延期理由")],
                      as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """提出延期申请（须在完成时限前）。"""
    new_due = date_option(to, "--to")
    with opened(program, db) as the:
        result = request_extension(the.session, the.ctx, code, unit, new_due, reason, the.moment(as_of),
                                   f"unit:{unit}")
    if as_json:
        emit_json(result)
        return
    out.print(say("extension_asked", id=result["id"], code=code, old=result["from"], new=result["to"],
                  program=program), highlight=False)


def _decide(program: str, request_id: int, approve: bool, by: str | None, note: str | None, as_of: str | None,
            db: str | None, as_json: bool) -> None:
    decide = approve_extension if approve else reject_extension
    with opened(program, db) as the:
        result = decide(the.session, the.ctx, request_id, actor(by), the.moment(as_of), note)
    if as_json:
        emit_json(result)
        return
    verdict = "extension_approved" if approve else "extension_rejected"
    out.print(say(verdict, id=request_id, code=result["code"], new=result["to"], old=result["from"]),
              highlight=False)


def _decision_command(approve: bool, doc: str):
    """`duban extension approve|reject PROGRAM ID`: the same options, the opposite decision."""

    def command(
        program: str,
        request_id: Annotated[int, typer.Argument(metavar="ID")],
        by: ByOption = None,
        note: NoteOption = None,
        as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
    ) -> None:
        _decide(program, request_id, approve, by, note, as_of, db, as_json)

    command.__doc__ = doc
    return handles_errors(command)


extension_approve = extension_app.command("approve")(
    _decision_command(True, "批准延期申请：任务时限、预警灯和此后的提醒都按新时限。")
)
extension_reject = extension_app.command("reject")(_decision_command(False, "驳回延期申请。"))


@extension_app.command("list")
@handles_errors
def extension_list(
    program: str,
    state: Annotated[str | None, typer.Option("--state", help="pending | approved | rejected")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """延期申请及其决定。"""
    with opened(program, db) as the:
        rows = list_extensions(the.session, the.ctx, state)
    if as_json:
        emit_json(rows)
        return
    columns = ("code", "unit", "from", "to", "state", "by", "reason")
    table = Table("#", *(say(f"extension_{c}") for c in columns))
    for r in rows:
        table.add_row(str(r["id"]), r["code"], r["unit"], r["from"], r["to"], label("item_state", r["state"]),
                      r["decided_by"] or "", r["reason"])
    out.print(table)


# ---------------------------------------------------------------- phase


@phase_app.command("approve")
@handles_errors
def phase_approve(
    program: str,
    kind: Annotated[str, typer.Argument(metavar="KIND", help=" | ".join(PHASE_KINDS))],
    by: ByOption = None,
    note: NoteOption = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """牵头办决定结束一个关口条件未满足的阶段（记入事件日志）；下一次每日检查时阶段结束。"""
    if not is_phase_kind(kind):  # the program's own phases are checked once it is loaded
        raise typer.BadParameter(text(None, "plan.phase_kind", kind=kind, kinds=" | ".join(PHASE_KINDS)),
                                 param_hint="KIND")
    with opened(program, db) as the:
        result = approve_phase(the.session, the.ctx, kind, actor(by), the.moment(as_of), note)
    if as_json:
        emit_json(result)
        return
    unmet = say("phase_unmet", conditions=say("phase_unmet_separator").join(result["overridden"])) \
        if result["overridden"] else ""
    out.print(say("phase_approved", by=result["by"], name=result["name"], unmet=unmet), highlight=False)


# ---------------------------------------------------------------- acceptance


@acceptance_app.command("package")
@handles_errors
def acceptance_package(
    program: str,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录（新的或空的）")],
    force: Annotated[
        bool, typer.Option("--force", help="替换该目录中上次生成的材料包（只删除材料包自己生成的文件）")
    ] = False,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """验收材料包：索引表 index.xlsx、佐证材料、report.html，及其 zip；给出准备度和待补齐问题。"""
    from notifications import build_package  # the package's workbook and report: loaded by this command only

    with opened(program, db) as the:
        result = build_package(the.session, the.ctx, out_dir, the.day(as_of), home=the.wired.settings.home,
                               force=force)
    if as_json:
        emit_json(result)
        return
    out.print(say("package_written", dir=result["dir"], index=result["index"], report=result["report"],
                  zip=result["zip"]), highlight=False)
    counts = {k: result[k] for k in ("readiness", "tasks", "done", "with_evidence", "files")}
    out.print(say("package_readiness", **counts, gaps=len(result["gaps"])), highlight=False)


# ---------------------------------------------------------------- bulletin and scores


@handles_errors
def bulletin(
    program: str,
    fmt: Annotated[str, typer.Option("--format", help="md（输出到屏幕）| html | xlsx（写入文件）")] = "md",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="输出文件，默认 $DUBAN_HOME/reports/")
    ] = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """通报：各单位红黄绿灯数量、红灯清单、投递失败、延期批准、约谈建议。"""
    from notifications import FORMATS, bulletin_data, render_bulletin  # the templates: loaded by this command

    if fmt not in FORMATS:
        raise typer.BadParameter(say("bulletin_format", value=fmt, formats=" | ".join(FORMATS)),
                                 param_hint="--format")
    with opened(program, db) as the:
        today = the.day(as_of)
        rendered = render_bulletin(the.session, the.ctx, today, fmt)
        data = bulletin_data(the.session, the.ctx, today) if as_json else None
        reports_dir = the.wired.settings.reports_dir
    target = out_path
    if target is None and fmt != "md":
        target = reports_dir / f"bulletin-{program}-{today.isoformat()}.{fmt}"
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(rendered, bytes):
            target.write_bytes(rendered)
        else:
            target.write_text(rendered, "utf-8")
    if as_json:
        emit_json({**data, "format": fmt, "file": str(target) if target else None})
    elif target is None:
        out.print(rendered, highlight=False, markup=False)
    else:
        out.print(say("bulletin_written", target=target), highlight=False)


@handles_errors
def scores(
    program: str,
    year: Annotated[int | None, typer.Option("--year", help="只计该年度到期的事项")] = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """考核评价：各单位按时/逾期、黄牌红牌、扣分，及约谈名单。"""
    with opened(program, db) as the:
        report = scores_report(the.session, the.ctx, year, the.day(as_of))
    if as_json:
        emit_json(report)
        return
    print_scores(report)


def print_scores(report: dict) -> None:
    title = say("scores_title_year" if report["year"] else "scores_title", on=report["as_of"],
                year=report["year"])
    columns = ("unit", "due", "on_time", "done_late", "overdue", "remediation_late", "yellow", "red",
               "escalations", "returns", "deduction", "score", "interview")
    table = Table(*(say(f"scores_{c}") for c in columns), title=title)
    for s in report["units"]:
        if not (s["tasks_due"] or s["remediation_due"] or s["yellow_cards"] or s["red_cards"]
                or s["escalations"] or s["returns"]):
            continue
        table.add_row(
            s["name"],
            str(s["tasks_due"]),
            str(s["done_on_time"]),
            str(s["done_late"]),
            str(s["overdue"]),
            str(s["remediation_late"]),
            str(s["yellow_cards"]),
            str(s["red_cards"]),
            str(s["escalations"]),
            str(s["returns"]),
            str(s["deduction"]),
            str(s["score"]),
            f"[red]{say('scores_yes')}[/red]" if s["interview"] else "",
        )
    out.print(table)
    rule = report["rule"]
    out.print(say("scores_rule", **rule), highlight=False)
    names = say("list_separator").join(i["name"] for i in report["interview"]) or say("scores_none")
    out.print(say("scores_interviews", names=names), highlight=False)
