"""The phase-content commands: self-check forms, remediation, extensions, phase approval, the acceptance
package,
the bulletin and the scores. `register(app)` adds them to the `duban` command.

Exit codes as everywhere: 0 success, 1 invalid input (a located `FILE:ROW:COLUMN: message` per problem on
stderr,
or `--OPTION VALUE: message`), 2 usage error.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from db import (
    accept_item,
    approve_extension,
    approve_phase,
    commit_files,
    list_extensions,
    list_items,
    load_program,
    pending_findings,
    reject_extension,
    report_item,
    request_extension,
    scores_report,
    selfcheck_summary,
    units_with_tasks,
)
from duban.cli.support import (
    AsOfOption,
    DbOption,
    Failure,
    JsonOption,
    context,
    date_option,
    emit_json,
    err,
    handles_errors,
    out,
    parse_as_of,
    print_problems,
    recorded_paths,
    stage_evidence,
)
from notifications import FORMATS, build_package, bulletin_data, import_forms, render_bulletin, write_forms
from schedule import PHASE_KINDS, is_phase_kind, text

ByOption = Annotated[str | None, typer.Option("--by", help="决定人（记入事件日志），默认当前系统用户")]
NoteOption = Annotated[str | None, typer.Option("--note", help="说明")]
STATE_NAMES = {"open": "未办结", "closed": "已办结", "accepted": "牵头办认可",
               "pending": "待审批", "approved": "已批准", "rejected": "已驳回"}

selfcheck_app = typer.Typer(no_args_is_help=True, help="自查自评：下发自查表、导入交回的自查表")
extension_app = typer.Typer(no_args_is_help=True, help="延期申请：提出、批准、驳回")
phase_app = typer.Typer(no_args_is_help=True, help="阶段：牵头办的决定")
acceptance_app = typer.Typer(no_args_is_help=True, help="验收准备：验收材料包")


def register(app: typer.Typer) -> None:
    app.add_typer(selfcheck_app, name="selfcheck")
    app.add_typer(extension_app, name="extension")
    app.add_typer(phase_app, name="phase")
    app.add_typer(acceptance_app, name="acceptance")
    app.command("remediation")(remediation)
    app.command("bulletin")(bulletin)
    app.command("scores")(scores)


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


# ---------------------------------------------------------------- self-check


@selfcheck_app.command("forms")
@handles_errors
def selfcheck_forms(
    program: str,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只写这些单位的表，可重复")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """为每个有任务的单位写出自查自评表（.xlsx）。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        known = set(units_with_tasks(session, ctx).values())
        for code in unit or []:
            if code not in known:
                raise Failure(f"--unit {code}: 计划「{program}」中没有承担任务的单位「{code}」")
        written = write_forms(session, ctx, out_dir, list(unit) if unit else None)
    if as_json:
        emit_json({"program": program, "dir": str(out_dir), "forms": written})
        return
    for form in written:
        out.print(f"{form['file']}  {form['name']}（{form['tasks']} 项任务）", highlight=False)
    out.print(f"已写出 {len(written)} 份自查表到 {out_dir}", highlight=False)


@selfcheck_app.command("import")
@handles_errors
def selfcheck_import(
    program: str,
    files: Annotated[list[Path], typer.Argument(help="交回的自查表 .xlsx")],
    unit: Annotated[str | None, typer.Option("--unit", help="交表单位：表须属于该单位")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """导入交回的自查表：逐项校验（FILE:ROW:COLUMN: 问题），全部无误才导入，否则一份也不导入。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        at = parse_as_of(as_of, ctx.program.timezone)
        results, problems = import_forms(session, ctx, files, at, unit, _actor(None))
        failed = any(p.severity == "error" for p in problems)  # then nothing was written
    if as_json:
        emit_json({"program": program, "imported": results, "problems": [p.to_json() for p in problems]})
    else:
        print_problems(problems)
        for r in results:
            findings = "，".join(f"{k} {v}" for k, v in r["findings"].items()) or "无"
            out.print(f"已导入 {r['unit']}：{r['rows']} 行，发现问题 {findings}"
                      f"{'' if r['on_time'] else '（逾期交回）'}", highlight=False)
    if failed:
        if not as_json:
            err.print("未导入：请修正以上问题后重新交回（数据库未作任何改动）", highlight=False)
        raise typer.Exit(1)


@selfcheck_app.command("status")
@handles_errors
def selfcheck_status(program: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """自查表交回情况：已交、逾期、未交，以及发现的问题数。"""
    wired = context(db)
    with wired.transaction() as session:
        summary = {"program": program, **selfcheck_summary(session, load_program(session, program))}
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"应交 {summary['units']} 份，已交 {len(summary['returned'])} 份（逾期 {len(summary['late'])} 份）",
        highlight=False,
    )
    if summary["missing"]:
        out.print(f"未交: {', '.join(summary['missing'])}", highlight=False)
    out.print(
        "发现问题: " + ("，".join(f"{k} {v}" for k, v in summary["findings"].items()) or "无"),
        highlight=False,
    )


# ---------------------------------------------------------------- remediation


@handles_errors
def remediation(
    program: str,
    unit: Annotated[
        str | None, typer.Option("--unit", help="只看该单位；与 --close 一起时为报送单位")
    ] = None,
    close: Annotated[
        str | None, typer.Option("--close", help="办结整改事项（如 R-3），须同时给出 --unit")
    ] = None,
    accept: Annotated[
        str | None, typer.Option("--accept", help="牵头办认可未办结的整改事项（如 R-3）")
    ] = None,
    note: NoteOption = None,
    evidence: Annotated[list[Path] | None, typer.Option("--evidence", help="佐证材料文件，可重复")] = None,
    by: ByOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """自查发现问题转成的整改事项；--close 办结（单位），--accept 认可（牵头办）。"""
    if close and accept:
        raise typer.BadParameter("--close 与 --accept 只能选一个", param_hint="--close")
    if close and not unit:
        raise typer.BadParameter("办结整改事项须给出报送单位 --unit", param_hint="--unit")
    for path in evidence or []:
        if not path.is_file():
            raise Failure(f"{path}:-:-: 佐证材料文件不存在")
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        at = parse_as_of(as_of, ctx.program.timezone)
        today = ctx.local_date(at)
        action = None
        if close:
            staged = stage_evidence(evidence or [])
            action = report_item(
                session, ctx, close, unit, "done", None, note, recorded_paths(staged), at, _actor(by)
            )
            commit_files(wired.settings.home, staged)
        elif accept:
            action = accept_item(session, ctx, accept, _actor(by), at, note)
        items = list_items(session, ctx, today, None if close else unit)
        waiting = pending_findings(session, program)
    if as_json:
        emit_json({"program": program, "as_of": today.isoformat(), "action": action, "items": items,
                   "findings_without_items": waiting})
        return
    if action:
        out.print(f"{action['item']} → {STATE_NAMES[action['state']]}", highlight=False)
        return
    table = Table("事项", "单位", "问题", "时限", "状态", title=f"整改事项（截至 {today}）")
    for item in items:
        state = STATE_NAMES[item["state"]]
        if item["state"] == "open" and item["overdue_workdays"]:
            state = f"[red]逾期 {item['overdue_workdays']} 个工作日[/red]"
        elif item["closed_on"]:
            state += f" {item['closed_on']}" + ("（逾期）" if item["late"] else "")
        table.add_row(item["code"], item["unit"], item["title"], item["due"], state)
    out.print(table)
    open_count = sum(i["state"] == "open" for i in items)
    out.print(
        f"共 {len(items)} 项，未办结 {open_count} 项"
        + (f"；另有 {waiting} 个自查问题待补差提升阶段开始后转为整改事项" if waiting else ""),
        highlight=False,
    )


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
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        result = request_extension(session, ctx, code, unit, new_due, reason,
                                   parse_as_of(as_of, ctx.program.timezone), f"unit:{unit}")
    if as_json:
        emit_json(result)
        return
    out.print(f"延期申请 #{result['id']} 已提出：{code} {result['from']} → {result['to']}，待牵头办审批"
              f"（duban extension approve {program} {result['id']}）", highlight=False)


def _decide(program: str, request_id: int, approve: bool, by: str | None, note: str | None, as_of: str | None,
            db: str | None, as_json: bool) -> None:
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        decide = approve_extension if approve else reject_extension
        result = decide(session, ctx, request_id, _actor(by), parse_as_of(as_of, ctx.program.timezone), note)
    if as_json:
        emit_json(result)
        return
    verdict = f"已批准：{result['code']} 的完成时限改为 {result['to']}（原 {result['from']}）" if approve \
        else f"已驳回：{result['code']} 的完成时限仍为 {result['from']}"
    out.print(f"延期申请 #{request_id} {verdict}", highlight=False)


def _decision_command(approve: bool, doc: str):
    """`duban extension approve|reject PROGRAM ID`: the same options, the opposite decision."""

    def command(
        program: str,
        request_id: Annotated[int, typer.Argument(metavar="ID")],
        by: ByOption = None,
        note: NoteOption = None,
        as_of: AsOfOption = None,
        db: DbOption = None,
        as_json: JsonOption = False,
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
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """延期申请及其决定。"""
    wired = context(db)
    with wired.transaction() as session:
        rows = list_extensions(session, load_program(session, program), state)
    if as_json:
        emit_json(rows)
        return
    table = Table("#", "任务", "单位", "原时限", "新时限", "状态", "决定人", "理由")
    for r in rows:
        table.add_row(str(r["id"]), r["code"], r["unit"], r["from"], r["to"], STATE_NAMES[r["state"]],
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
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """牵头办决定结束一个关口条件未满足的阶段（记入事件日志）；下一次每日检查时阶段结束。"""
    if not is_phase_kind(kind):  # the program's own phases are checked once it is loaded
        raise typer.BadParameter(text(None, "plan.phase_kind", kind=kind, kinds=" | ".join(PHASE_KINDS)),
                                 param_hint="KIND")
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        result = approve_phase(session, ctx, kind, _actor(by), parse_as_of(as_of, ctx.program.timezone), note)
    if as_json:
        emit_json(result)
        return
    overridden = f"（未满足: {'；'.join(result['overridden'])}）" if result["overridden"] else ""
    out.print(
        f"已记录：{result['by']} 批准结束阶段「{result['name']}」{overridden}；下一次每日检查时生效",
        highlight=False,
    )


# ---------------------------------------------------------------- acceptance


@acceptance_app.command("package")
@handles_errors
def acceptance_package(
    program: str,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录（新的或空的）")],
    force: Annotated[
        bool, typer.Option("--force", help="替换该目录中上次生成的材料包（只删除材料包自己生成的文件）")
    ] = False,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """验收材料包：索引表 index.xlsx、佐证材料、report.html，及其 zip；给出准备度和待补齐问题。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        result = build_package(
            session, ctx, out_dir, ctx.local_date(parse_as_of(as_of, ctx.program.timezone)),
            home=wired.settings.home, force=force)
    if as_json:
        emit_json(result)
        return
    out.print(
        f"验收材料包: {result['dir']}\n  索引表 {result['index']}\n  报告 {result['report']}\n  压缩包 "
        f"{result['zip']}",
        highlight=False,
    )
    out.print(
        f"准备度 {result['readiness']}/100：{result['tasks']} 项任务，办结 {result['done']} 项，"
        f"有佐证 {result['with_evidence']} 项（{result['files']} 个文件）；待补齐问题 {len(result['gaps'])}"
        " 个",
        highlight=False,
    )


# ---------------------------------------------------------------- bulletin and scores


@handles_errors
def bulletin(
    program: str,
    fmt: Annotated[str, typer.Option("--format", help="md（输出到屏幕）| html | xlsx（写入文件）")] = "md",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="输出文件，默认 $DUBAN_HOME/reports/")
    ] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """通报：各单位红黄绿灯数量、红灯清单、投递失败、延期批准、约谈建议。"""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"「{fmt}」应为 {' | '.join(FORMATS)}", param_hint="--format")
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        today = ctx.local_date(parse_as_of(as_of, ctx.program.timezone))
        rendered = render_bulletin(session, ctx, today, fmt)
        data = bulletin_data(session, ctx, today) if as_json else None
    target = out_path
    if target is None and fmt != "md":
        target = wired.settings.reports_dir / f"bulletin-{program}-{today.isoformat()}.{fmt}"
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
        out.print(f"通报已写入 {target}", highlight=False)


@handles_errors
def scores(
    program: str,
    year: Annotated[int | None, typer.Option("--year", help="只计该年度到期的事项")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """考核评价：各单位按时/逾期、黄牌红牌、扣分，及约谈名单。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        report = scores_report(session, ctx, year, ctx.local_date(parse_as_of(as_of, ctx.program.timezone)))
    if as_json:
        emit_json(report)
        return
    print_scores(report)


def print_scores(report: dict) -> None:
    title = (
        f"考核评价（截至 {report['as_of']}" + (f"，{report['year']} 年度" if report["year"] else "") + "）"
    )
    table = Table(
        "单位",
        "应完成",
        "按时",
        "逾期办结",
        "逾期未办",
        "整改逾期",
        "黄牌",
        "红牌",
        "督办",
        "退回重办",
        "扣分",
        "得分",
        "约谈",
        title=title,
    )
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
            "[red]是[/red]" if s["interview"] else "",
        )
    out.print(table)
    rule = report["rule"]
    out.print(
        f"规则：每两张黄牌 {rule['per_two_yellow']} 分，每张红牌 {rule['per_red']} 分，每次退回重办 "
        f"{rule['per_return']} 分；逾期超过 "
        f"{rule['red_after_workdays']} 个工作日为红牌；红牌或督办达 {rule['interview_escalations']} 次约谈",
        highlight=False,
    )
    names = "、".join(i["name"] for i in report["interview"]) or "无"
    out.print(f"约谈名单：{names}", highlight=False)
