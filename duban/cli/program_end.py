"""`duban archive`: an ended program made read-only, its record kept whole."""

from __future__ import annotations

import typer

from db import archive_program, load_program
from duban.cli.phase_work import ByOption, _actor
from duban.cli.support import (
    AsOfOption,
    DbOption,
    JsonOption,
    context,
    emit_json,
    handles_errors,
    out,
    parse_as_of,
)
from schedule import text


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)


@handles_errors
def archive(program: str, by: ByOption = None, as_of: AsOfOption = None, db: DbOption = None,
            as_json: JsonOption = False) -> None:
    """归档已结束的计划：此后只读（不再检查、报送、导入），记录完整保留、不删除。"""
    wired = context(db)
    with wired.transaction() as session:
        ctx = load_program(session, program)
        result = archive_program(session, ctx, _actor(by), parse_as_of(as_of, ctx.program.timezone))
    if as_json:
        emit_json(result)
        return
    out.print(text(ctx.language, "program_end.archive_done", program=program, on=result["archived_on"],
                   by=result["archived_by"]), highlight=False)
