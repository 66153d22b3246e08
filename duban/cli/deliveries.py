"""The delivery commands: the ledger, the coordinator's re-send of failed and unknown deliveries, and the
reset of a
channel the unit has repaired: `duban deliveries …`.

`duban deliveries PROGRAM [--failed]` lists (the default sub-command, so the listing keeps its short form);
`duban deliveries retry PROGRAM [--unit ID] [--message ID] [--yes] [--by WHO]` and
`duban deliveries reset PROGRAM CHANNEL [--by WHO]` change state and are recorded in the event log with who.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from typer.core import TyperGroup

from db import Unit, record_event
from duban.cli.support import (
    ByOption,
    DbOption,
    Failure,
    JsonOption,
    Opened,
    actor,
    emit_json,
    handles_errors,
    opened,
    out,
    say,
    short,
)
from notifications import inflight, ledger


class _ListByDefault(TyperGroup):
    """`duban deliveries PROGRAM …` is `duban deliveries list PROGRAM …`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


deliveries_app = typer.Typer(cls=_ListByDefault, no_args_is_help=True,
                             help="投递台账；重发失败或结果不明的投递；重置已修复的渠道")


@deliveries_app.command("list")
@handles_errors
def deliveries(
    program: str,
    failed: Annotated[bool, typer.Option("--failed", help="只看失败或结果不明的投递")] = False,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """投递台账：每条消息在每个渠道（已脱敏）的状态、尝试次数，失败的代码与原因；unknown
    为结果不明（可能已送达）。"""
    with opened(program, db) as the:
        rows = ledger.list_deliveries(the.session, program, failed_only=failed)
    if as_json:
        emit_json(rows)
        return
    columns = ("at", "unit", "channel", "state", "attempts", "code", "reason", "message")
    table = Table(*(say(f"deliveries_{c}") for c in columns))
    for row in rows:
        table.add_row(
            str(row["at"])[:16].replace("T", " "),
            row["unit"],
            row["channel"],
            row["state"],
            str(row["attempts"]),
            str(row["code"] or ""),
            short(row["reason"] or "", 40),
            row["message_id"],
        )
    out.print(table)
    out.print(say("deliveries_total", count=len(rows)), highlight=False)


@deliveries_app.command("retry")
@handles_errors
def retry(program: str, unit: Annotated[str | None, typer.Option("--unit", help="只重发该单位的")] = None,
          message: Annotated[str | None, typer.Option("--message", help="只重发该消息的")] = None,
          yes: Annotated[bool, typer.Option("--yes", help="不再询问（确认人仍记入事件日志）")] = False,
          by: ByOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """重发失败或结果不明的投递：下一次检查时只经尚欠的渠道发送。结果不明的可能已送达，重发前须确认。"""
    with opened(program, db) as the:
        unit_id = unit_id_of(the, unit)
        counts = inflight.doubtful_counts(the.session, program, unit_id=unit_id, message_id=message)
    if not counts:
        if as_json:
            emit_json({"retried": 0, "messages": []})
        else:
            out.print(say("deliveries_none_doubtful"), highlight=False)
        return
    failed, unknown = counts.get("failed", 0), counts.get("unknown", 0)
    summary = say("deliveries_doubtful", failed=failed, unknown=unknown)
    if not yes:
        typer.confirm(say("deliveries_confirm", summary=summary), abort=True)
    who = actor(by)
    with opened(program, db) as the:
        at = the.moment(None)
        retried, messages = inflight.owed_again(the.session, program, unit_id=unit_id, message_id=message,
                                                at=at)
        record_event(the.session, program, at, "delivery.retry",
                     f"unit:{unit or '*'} message:{message or '*'}", who,
                     {"confirmed": True, "failed": failed, "unknown": unknown, "retried": retried,
                      "messages": messages})
    if as_json:
        emit_json({"retried": retried, "messages": messages, "by": who})
    else:
        out.print(say("deliveries_retried", retried=retried, summary=summary, by=who), highlight=False)


def unit_id_of(the: Opened, unit: str | None) -> int | None:
    if unit is None:
        return None
    unit_id = the.session.scalar(select(Unit.id).where(Unit.program_id == the.ctx.id, Unit.code == unit))
    if unit_id is None:
        raise Failure(say("deliveries_no_unit", unit=unit, program=the.ctx.id))
    return unit_id


@deliveries_app.command("reset")
@handles_errors
def reset(
    program: str,
    channel: Annotated[str, typer.Argument(help="渠道：脱敏形式或 channel_key（见 --json）")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """渠道已修复（如 310000 签名或关键词不符已改正）：重新启用该渠道，记入事件日志。"""
    who = actor(by)
    with opened(program, db) as the:
        moved = ledger.reset_channel(the.session, channel, program_id=program)
        if not moved:
            raise Failure(say("deliveries_no_channel", channel=channel, program=program))
        record_event(the.session, program, the.moment(None), "delivery.channel_reset", f"channel:{channel}",
                     who, {"channels": moved})
    out.print(say("deliveries_reset", count=moved, by=who), highlight=False)
