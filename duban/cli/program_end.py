"""`duban archive`: an ended program made read-only, its record kept whole."""

from __future__ import annotations

from db import archive_program
from duban.cli import support
from schedule import text


@support.handles_errors
def archive(program: str, by: support.ByOption = None, as_of: support.AsOfOption = None,
            db: support.DbOption = None, as_json: support.JsonOption = False) -> None:
    """归档已结束的计划：此后只读（不再检查、报送、导入），记录完整保留、不删除。"""
    with support.opened(program, db) as the:
        result = archive_program(the.session, the.ctx, support.actor(by), the.moment(as_of))
        language = the.ctx.language
    if as_json:
        support.emit_json(result)
        return
    support.out.print(text(language, "program_end.archive_done", program=program, on=result["archived_on"],
                           by=result["archived_by"]), highlight=False)
