"""The units' side on the command line: `duban portal` (serve it), `duban portal revoke`, `duban portal user
add`, and `duban report import` (returned 报送表)."""

from __future__ import annotations

import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from db import add_user, import_reports, revoke_links
from duban.cli.support import (
    AsOfOption,
    DbOption,
    Failure,
    JsonOption,
    actor,
    emit_json,
    handles_errors,
    opened,
    out,
    parse_as_of,
    print_problems,
    refuse_returned,
    say,
)
from schedule import Problem, text

portal_app = typer.Typer(help="督办门户：各单位签收、报送、申请办结；牵头办审核", invoke_without_command=True)
user_app = typer.Typer(no_args_is_help=True, help="门户账号")
portal_app.add_typer(user_app, name="user")


@portal_app.callback()
@handles_errors
def portal(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="工作进程数（进程不保存状态，可多个）")] = 1,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="门户按此时刻运行（回放与演示用）；默认现在")
    ] = None,
    db: DbOption = None,
) -> None:
    """运行督办门户（uvicorn）。公开地址取 DUBAN_PORTAL_URL 或 program.yaml 的 portal.url。"""
    if ctx.invoked_subcommand is not None:
        return
    import os

    import uvicorn

    if db:
        os.environ["DUBAN_DATABASE_URL"] = db  # the factory below builds its wiring from the environment
    if as_of:  # read back as settings.portal_as_of
        os.environ["DUBAN_PORTAL_AS_OF"] = parse_as_of(as_of, "Asia/Shanghai").isoformat()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    out.print(say("portal_serving", host=host, port=port), highlight=False)
    # access_log off: the path of a unit page holds its token; the app logs requests with the token masked.
    uvicorn.run(
        "duban.portal.serve:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        server_header=False,
    )


@portal_app.command("revoke")
@handles_errors
def revoke(program: str, unit: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """撤销一个单位的全部门户链接；下一期督办消息会带来新链接。"""
    with opened(program, db) as the:
        count = revoke_links(the.session, the.ctx, unit, the.now(), actor())
    if as_json:
        emit_json({"program": program, "unit": unit, "revoked": count})
    else:
        out.print(say("portal_revoked", program=program, unit=unit, count=count), highlight=False)


@user_app.command("add")
@handles_errors
def user_add(
    program: str,
    name: str,
    role: Annotated[str, typer.Option("--role", help="coordinator")] = "coordinator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
    db: DbOption = None,
) -> None:
    """新建门户账号（或重设密码）；密码以 scrypt 散列保存。"""

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(say("portal_password"))
        if getpass.getpass(say("portal_password_again")) != password:
            raise Failure(say("portal_password_mismatch"))
    with opened(program, db) as the:
        result = add_user(the.session, the.ctx, name, role, password, the.now(), actor())
    said = "portal_user_created" if result["created"] else "portal_user_reset"
    out.print(say(said, program=program, name=name, role=role), highlight=False)


@handles_errors
def report_import(program: str, files: Annotated[list[Path], typer.Argument(help="交回的报送表 .xlsx")],
                  as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """导入交回的报送表：逐行校验（FILE:ROW:COLUMN: 问题），全部无误才记录，否则一行也不记录。"""
    from notifications import read_report_form  # openpyxl: loaded by the commands that read workbooks

    with opened(program, db) as the:  # the forms are read in the program's language
        forms = []
        for path in files:
            try:
                forms.append(read_report_form(path.read_bytes(), str(path), the.ctx.language))
            except OSError as exc:
                said = text(the.ctx.language, "selfcheck_form.unreadable", reason=exc.strerror or exc)
                print_problems([Problem(str(path), None, None, said)])
                raise typer.Exit(1) from None
        results, problems = import_reports(the.session, the.ctx, forms, the.moment(as_of), actor())
    if as_json:
        emit_json({"program": program, "recorded": results, "problems": [p.to_json() for p in problems]})
    else:
        print_problems(problems)
        for r in results:
            pending = say("report_form_pending") if r.get("review") == "pending" else ""
            out.print(say("report_form_recorded", code=r["code"], unit=r["unit"], status=r["status"],
                          progress=r["progress"], pending=pending), highlight=False)
    refuse_returned(bool(problems), as_json)

