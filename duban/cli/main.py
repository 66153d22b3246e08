"""The `duban` command: a thin layer over schedule/, db/, notifications/ and flows/.

Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error. Errors go to stderr.

The root knows its commands by name only (COMMANDS): `duban --help` loads none of the command modules, and a
command loads its own module and what that module uses, nothing else. Reading commands load no Prefect,
pandas or openpyxl (tests/cli/test_cli_imports.py holds it).
"""

from __future__ import annotations

import gc
import sys
from typing import NamedTuple

import click
import typer
from typer.core import TyperGroup

from schedule import load, text


class Entry(NamedTuple):
    module: str  # below duban.cli
    attribute: str  # a command function or a typer.Typer of sub-commands
    help: str  # the line `duban --help` shows: the command's first paragraph (a test holds them equal)
    hidden: bool = False


COMMANDS: dict[str, Entry] = {
    "tasks": Entry("progress", "tasks", "任务清单及其红黄绿灯。"),
    "status": Entry("progress", "status", "阶段状态、各灯数量、各单位数量。"),
    "report": Entry("progress", "report", "记录一个单位的进展报送。"),
    "supervise": Entry(
        "checks", "supervise",
        "一次每日检查（Prefect 流程运行）：阶段转换、提醒、催办、督办。",
    ),
    "simulate": Entry(
        "replay", "simulate",
        "按模拟时钟逐日回放；单位按种子模拟报送进展；通知只进入发件箱（在单独的模拟目录中）。",
    ),
    "demo": Entry(
        "replay", "demo",
        "主流程演示：全新目录，导入成都示范区计划，回放 2023-03-01 至 2025-04-30 的全部日程。",
    ),
    "outbox": Entry(
        "progress", "outbox",
        "已发送或排队的通知：时间、接收单位、渠道、类型、任务编号、投递状态。",
    ),
    "serve": Entry(
        "checks", "serve",
        "以 prefect.serve 提供每个计划的部署（每日 08:30 检查、每周一 09:00 通报），"
        "同时运行的检查不超过 --limit 个；需要 Prefect 服务器。",
    ),
    "remediation": Entry(
        "remediation", "remediation",
        "自查发现问题转成的整改事项；--close 办结（单位），--accept 认可（牵头办）。",
    ),
    "bulletin": Entry(
        "phase_work", "bulletin",
        "通报：各单位红黄绿灯数量、红灯清单、投递失败、延期批准、约谈建议。",
    ),
    "scores": Entry("phase_work", "scores", "考核评价：各单位按时/逾期、黄牌红牌、扣分，及约谈名单。"),
    "plan": Entry("plan", "plan_app", "计划文件夹：校验与导入"),
    "prefect": Entry("checks", "prefect_app", "Prefect 服务器上的设置"),
    "selfcheck": Entry("phase_work", "selfcheck_app", "自查自评：下发自查表、导入交回的自查表"),
    "extension": Entry("phase_work", "extension_app", "延期申请：提出、批准、驳回"),
    "phase": Entry("phase_work", "phase_app", "阶段：牵头办的决定"),
    "acceptance": Entry("phase_work", "acceptance_app", "验收准备：验收材料包"),
    "deliveries": Entry(
        "deliveries", "deliveries_app",
        "投递台账；重发失败或结果不明的投递；重置已修复的渠道",
    ),
    "portal": Entry("portal", "portal_app", "督办门户：各单位签收、报送、申请办结；牵头办审核"),
    "archive": Entry("program_end", "archive", text(None, "program_end.archive_help")),
    "report-import": Entry(
        "portal", "report_import",
        "导入交回的报送表：逐行校验（FILE:ROW:COLUMN: 问题），全部无误才记录，否则一行也不记录。",
        hidden=True,
    ),
}


def load_command(name: str) -> click.Command:
    """The command `name`, built from its module (loaded now, and only now)."""
    entry = COMMANDS[name]
    target = getattr(load(f"duban.cli.{entry.module}"), entry.attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(add_completion=False)
    single.command(name, hidden=entry.hidden)(target)
    return typer.main.get_command(single)


class DubanCommands(TyperGroup):
    """Commands load on use. `--help` lists them from COMMANDS, with no module loaded.

    `duban report import PROGRAM FILE…` shares its first word with `duban report PROGRAM CODE`: it is routed
    to the (hidden) command `report-import`."""

    def parse_args(self, ctx, args):
        if args[:2] == ["report", "import"]:
            args = ["report-import", *args[2:]]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        # What the listing needs: the name and its line. resolve_command loads the real one.
        return click.Command(name, short_help=entry.help, help=entry.help, hidden=entry.hidden)

    def resolve_command(self, ctx, args):
        name, _listed, rest = super().resolve_command(ctx, args)
        return name, load_command(name), rest

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, loaded (for tools that walk the tree, such as the docs test)."""
        return {name: load_command(name) for name in COMMANDS}

    @commands.setter
    def commands(self, _value) -> None:
        pass  # typer registers none here: COMMANDS is the registry


app = typer.Typer(
    cls=DubanCommands, no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
    help="督办 duban: 示范区建设计划的督办与提醒")


@app.callback()
def root() -> None:
    """The group itself takes no options: typer makes a group of an app with a callback."""


def main() -> None:
    try:
        app()
    finally:
        _end_of_process()


def _end_of_process() -> None:
    """The process ends with its command: its databases are closed now (SQLite folds its WAL back as the last
    connection closes), then the collector is told the heap is final. Otherwise the interpreter's teardown
    scans the whole heap again only to free what the exit frees anyway: about 0.5 s of CPU after a replay,
    0.2 s after any command that opened a database."""
    if "db" in sys.modules and "db.engine" in sys.modules:  # never loaded for this: `--help` loads no db
        sys.modules["db"].close_engines()
    gc.freeze()


if __name__ == "__main__":
    main()
