"""`duban archive`: an ended program made read-only, its record kept whole."""

from __future__ import annotations

import typer

from db import archive_program, load_program
from duban.cli import support
from duban.cli.phase_work import ByOption, _actor
from schedule import text


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)


@support.handles_errors
def archive(program: str, by: ByOption = None, as_of: support.AsOfOption = None, db: support.DbOption = None,
            as_json: support.JsonOption = False) -> None:
    """归档已结束的计划：此后只读（不再检查、报送、导入），记录完整保留、不删除。"""
    wired = support.context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        result = archive_program(session, ctx, _actor(by), support.parse_as_of(as_of, ctx.program.timezone))
    if as_json:
        support.emit_json(result)
        return
    support.out.print(text(ctx.language, "program_end.archive_done", program=program,
                           on=result["archived_on"], by=result["archived_by"]), highlight=False)
