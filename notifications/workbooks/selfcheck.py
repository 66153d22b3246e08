"""The self-check workbook (自查自评表): written per unit, read back when the unit returns it.

Layout of the visible sheet (自查表 / Self-check):
  row 1   title
  row 2   计划编号 | <program id> | | 计划名称 | <program name>
  row 3   单位编号 | <unit code>  | | 填报单位 | <unit name>
  row 4   填表说明 | how to fill it in, and the self-check window
  row 5   the header: 序号 重点任务 工作举措 本单位角色 完成时限 成果形式 系统记录进展
          | 完成情况 自评分 佐证材料 存在问题
  row 6…  one row per task of the unit (lead or co-unit, a collective's tasks included)
Columns A–G are locked (grey); H–K are for the unit. The sheet is protected (no password: protection guards
against slips, the reader guards against edits). A very-hidden sheet `_duban` keeps what was issued: the
format, program id, unit code, language, and each task code with its row, so a form with edited codes, or a
form of another program or unit, is recognised and refused with the cell it concerns.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from copy import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from db import (
    COMPLETION_LABELS,
    FORM_FORMAT,
    SCORE_MAX,
    SCORE_MIN,
    FormSpec,
    ProgramContext,
    ReturnedForm,
    ReturnedRow,
    form_spec,
    form_specs,
    issued_codes,
    parse_completion,
    record_returns,
    split_evidence,
    validate_returns,
)
from notifications.message import Attachment
from notifications.workbooks.returned import read_returned
from notifications.workbooks.tasks import XLSX_MIME
from schedule import (
    FORMULA_PREFIXES,
    Problem,
    TableError,
    cell_row,
    cell_value,
    check_workbook_size,
    clean_text,
    language_of,
    text,
)

META_SHEET = "_duban"
# A returned form is refused before it is unpacked past these (a form of 1,000 tasks is about 100 kB).
MAX_FORM_BYTES = 5_000_000
MAX_FORM_UNPACKED = 10_000_000
HEADER_ROW, FIRST_ROW = 5, 6
COLUMNS = "ABCDEFGHIJK"
INPUT_COLUMNS = "HIJK"
HEADER_KEYS = ("code", "area", "measure", "role", "due", "evidence_spec", "recorded", "completion", "score",
               "evidence", "problems")
WIDTHS = [8, 18, 48, 10, 14, 22, 16, 12, 12, 32, 32]
LOCKED_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
TOP_WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_FONT = Font(bold=True)
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
UNLOCKED = Protection(locked=False)


def headers(language: str) -> list[str]:
    return [text(language, f"selfcheck_header.{key}", lo=SCORE_MIN, hi=SCORE_MAX) for key in HEADER_KEYS]


def _say(language: str | None, key: str, **values: Any) -> str:
    return text(language, f"selfcheck_form.{key}", **values)


def form_filename(program_id: str, unit_code: str) -> str:
    return f"{program_id}-selfcheck-{unit_code}.xlsx"


Answer = tuple[Any, Any, Any, Any]  # what a unit writes in H–K: 完成情况, 自评分, 佐证材料, 存在问题


def write_form(spec: FormSpec, answers: dict[str, Answer] | None = None) -> bytes:
    """The form as issued; with `answers` (task code → its H–K), as a unit returns it filled in (the simulated
    units: what a unit does in Excel or WPS, done before the workbook is first saved)."""
    buffer = io.BytesIO()
    _form_workbook(spec, answers or {}).save(buffer)
    return buffer.getvalue()


def _form_workbook(spec: FormSpec, answers: dict[str, Answer]) -> Workbook:
    said = {key: _say(spec.language, key)
            for key in ("program", "program_name", "unit", "unit_name", "lead", "co")}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _say(spec.language, "sheet")
    sheet["A1"] = cell_value(_say(spec.language, "title", name=spec.program_name))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells("A1:K1")
    sheet["A2"], sheet["B2"], sheet["D2"], sheet["E2"] = cell_row(
        (said["program"], spec.program_id, said["program_name"], spec.program_name))
    sheet["A3"], sheet["B3"], sheet["D3"], sheet["E3"] = cell_row(
        (said["unit"], spec.unit_code, said["unit_name"], spec.unit_name))
    sheet.merge_cells("E2:K2")
    sheet.merge_cells("E3:K3")
    sheet["A4"] = _say(spec.language, "howto")
    sheet["B4"] = _say(spec.language, "instructions", lo=SCORE_MIN, hi=SCORE_MAX, start=spec.start or "—",
                       end=spec.end or "—")
    sheet["B4"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells("B4:K4")
    sheet.row_dimensions[4].height = 48
    _write_rows(sheet, spec, said, answers)
    sheet.freeze_panes = f"A{FIRST_ROW}"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    _write_meta(workbook, spec)
    return workbook


def _write_rows(sheet, spec: FormSpec, said: dict, answers: dict[str, Answer]) -> None:
    """The header, a row per task (A–G locked, H–K open, with the unit's answers if any) and the checks on
    完成情况 and 自评分."""
    # The header cells share one style, and a task cell has one of two (locked or open): each is looked up
    # once, then copied, not looked up again for every cell.
    header_style: StyleArray | None = None
    for column, (header, width) in zip(
        COLUMNS, zip(headers(spec.language), WIDTHS, strict=True), strict=True
    ):
        cell = sheet.cell(HEADER_ROW, COLUMNS.index(column) + 1, header)
        if header_style is None:
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
            header_style = cell._style
        else:
            cell._style = copy(header_style)
        sheet.column_dimensions[column].width = width
    styles: dict[bool, StyleArray] = {}
    blank = (None,) * len(INPUT_COLUMNS)
    for r, row in enumerate(spec.rows, FIRST_ROW):
        values = cell_row([row.code, row.area, row.title, said[row.role], row.due, row.evidence_spec,
                           row.recorded, *answers.get(row.code, blank)])
        for column, value in enumerate(values, 1):
            locked = column <= len(values) - len(INPUT_COLUMNS)
            cell = sheet.cell(r, column, value)
            if locked in styles:
                cell._style = copy(styles[locked])
                continue
            if locked:
                cell.fill, cell.alignment = LOCKED_FILL, TOP_WRAP
            else:
                cell.protection, cell.alignment = UNLOCKED, TOP_WRAP
            styles[locked] = cell._style
    last = FIRST_ROW + max(len(spec.rows), 1) - 1
    labels = COMPLETION_LABELS[spec.language]
    choices = DataValidation(type="list", formula1='"' + ",".join(labels.values()) + '"', allow_blank=True)
    choices.add(f"H{FIRST_ROW}:H{last}")
    score = DataValidation(type="whole", operator="between", formula1=str(SCORE_MIN), formula2=str(SCORE_MAX),
                           allow_blank=True, showErrorMessage=True)
    score.add(f"I{FIRST_ROW}:I{last}")
    sheet.add_data_validation(choices)
    sheet.add_data_validation(score)


def _write_meta(workbook: Workbook, spec: FormSpec) -> None:
    """The very hidden sheet: what was issued, for the reader to check the returned form against."""
    meta = workbook.create_sheet(META_SHEET)
    meta.append(["format", FORM_FORMAT])
    meta.append(["program", spec.program_id])
    meta.append(["unit", spec.unit_code])
    meta.append(["language", spec.language])
    meta.append(["header_row", HEADER_ROW])
    meta.append(["signature", spec.signature])
    for index, row in enumerate(spec.rows):
        meta.append(cell_row(["task", row.code, FIRST_ROW + index]))
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True


def write_forms(
    session: Session, ctx: ProgramContext, out_dir: Path, unit_codes: list[str] | None = None
) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in form_specs(session, ctx, unit_codes):
        path = out_dir / form_filename(ctx.id, spec.unit_code)
        path.write_bytes(write_form(spec))
        written.append(
            {"unit": spec.unit_code, "name": spec.unit_name, "tasks": len(spec.rows), "file": str(path)}
        )
    return written


def form_bytes(session: Session, ctx: ProgramContext, unit_code: str) -> bytes:
    return write_form(form_spec(session, ctx, unit_code))


# ---------------------------------------------------------------- reading


def _text(value: Any) -> str:
    """A cell's text as it enters: without control characters, a neutralising apostrophe taken off again."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    entered = clean_text(value)
    if entered.startswith("'") and entered[1:].startswith(FORMULA_PREFIXES):
        entered = entered[1:]
    return entered


def read_form(path: Path, shown: str | None = None, language: str | None = None) -> ReturnedForm:
    """Reads one returned workbook; every problem of the file itself is located (row and column letter) and
    said in `language` (the program's), else in the form's own."""
    shown = shown or str(path)
    try:
        if path.stat().st_size > MAX_FORM_BYTES:
            form = ReturnedForm(shown, "")
            form.problems.append(Problem(shown, None, None, _say(language, "too_big", limit=MAX_FORM_BYTES)))
            return form
        content = path.read_bytes()
    except OSError as exc:
        form = ReturnedForm(shown, "")
        unreadable = _say(language, "unreadable", reason=exc.strerror or exc)
        form.problems.append(Problem(shown, None, None, unreadable))
        return form
    form = ReturnedForm(shown, hashlib.sha256(content).hexdigest())
    sheets = _open(content, form, language)
    if sheets is None:
        return form
    issued, meta = _issued(sheets[META_SHEET])
    if meta.get("format") != FORM_FORMAT or not meta.get("program") or not meta.get("unit"):
        form.problems.append(Problem(shown, None, None, _say(language, "broken_meta")))
        return form
    form.program_id, form.unit_code = _text(meta["program"]), _text(meta["unit"])
    form.signature = _text(meta.get("signature")) or None
    written_in = language_of(meta.get("language"))
    language = language or written_in
    sheet = next((rows for name, rows in sheets.items() if name != META_SHEET), None)
    if sheet is None:
        form.problems.append(Problem(shown, None, None, _say(language, "no_sheet")))
        return form
    header_row = int(meta.get("header_row") or HEADER_ROW)
    _check_headers(sheet, form, (written_in, language), header_row)
    if form.problems:
        return form
    _read_rows(sheet, form, issued, (written_in, language), header_row)
    return form


def _open(content: bytes, form: ReturnedForm, language: str | None) -> dict[str, list[tuple]] | None:
    """The workbook's sheets (name → rows of values) if it is one duban issued, within the size limits; else
    None, with the problem."""
    problem = None
    if not zipfile.is_zipfile(io.BytesIO(content)):
        problem = Problem(form.file, None, None, text(language, "workbook.not_xlsx"))
    else:
        try:
            check_workbook_size(io.BytesIO(content), MAX_FORM_UNPACKED)
        except TableError as exc:
            problem = Problem(form.file, None, None, str(exc))
    if problem is None:
        not_issued = _say(language, "not_issued")
        sheets, problem = read_returned(content, form.file, META_SHEET, not_issued, language)
    if problem is not None:
        form.problems.append(problem)
        return None
    return sheets


def _issued(meta_rows: list[tuple]) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """What the hidden sheet says was issued: each task code with its row, and the other entries."""
    meta: dict[str, Any] = {}
    issued: list[tuple[str, int]] = []
    for row in meta_rows:
        if not row or row[0] is None:
            continue
        row = (*row, None, None)  # a row read ends at its last value
        if row[0] == "task":
            issued.append((_text(row[1]), int(row[2])))
        else:
            meta[str(row[0])] = row[1]
    return issued, meta


def _at(sheet: list[tuple], r: int, column: str) -> Any:
    """The value in row `r`, `column` (a letter of COLUMNS); None where the sheet holds nothing."""
    i = COLUMNS.index(column)
    return sheet[r - 1][i] if 1 <= r <= len(sheet) and i < len(sheet[r - 1]) else None


def _check_headers(sheet: list[tuple], form: ReturnedForm, languages: tuple[str, str],
                   header_row: int) -> None:
    """The visible header block must still name what was issued, and the column headers be as written
    (`languages`: the form's own, the one its problems are said in)."""
    shown, (written_in, language) = form.file, languages
    for r, c, expected, what in ((2, "B", form.program_id, "program"), (3, "B", form.unit_code, "unit")):
        shown_value = _text(_at(sheet, r, c))
        if shown_value != expected:
            form.problems.append(Problem(shown, r, c, _say(
                language, "changed", what=_say(language, what), value=shown_value, issued=expected)))
    for column, expected in zip(COLUMNS, headers(written_in), strict=True):
        value = _text(_at(sheet, header_row, column))
        if value != expected:
            form.problems.append(Problem(shown, header_row, column,
                                         _say(language, "header_changed", value=value, expected=expected)))


def _read_rows(
    sheet: list[tuple], form: ReturnedForm, issued: list[tuple[str, int]], languages: tuple[str, str],
    header_row: int) -> None:
    """Each filled-in row whose task code is one issued, once; an issued task without its row is a problem."""
    shown, language = form.file, languages[1]
    issued_at_row = {row: code for code, row in issued}
    issued_codes = {code: row for code, row in issued}
    seen: dict[str, int] = {}
    blank, width = (None,) * len(COLUMNS), len(COLUMNS)
    first = max(header_row, 0) + 1
    for r, cells in enumerate(sheet[first - 1:], first):
        values = dict(zip(COLUMNS, (*cells, *blank)[:width], strict=True))  # a row ends at its last value
        if not any(_text(v) for v in values.values()):
            continue
        code = _text(values["A"])
        if not code:
            form.problems.append(Problem(shown, r, "A", _say(language, "no_code")))
            continue
        if code not in issued_codes:
            was = issued_at_row.get(r)
            hint = _say(language, "code_was", was=was) if was else _say(language, "code_not_issued")
            form.problems.append(Problem(shown, r, "A", _say(language, "code_changed", code=code, hint=hint)))
            continue
        if code in seen:
            form.problems.append(Problem(shown, r, "A", text(language, "workbook.duplicate", code=code,
                                                                row=seen[code])))
            continue
        seen[code] = r
        row = _returned_row(r, code, values, form, languages)
        if row is not None:
            form.rows.append(row)
    for code, r in issued:
        if code not in seen and not any(p.row == r and p.column == "A" for p in form.problems):
            form.problems.append(Problem(shown, r, "A", _say(language, "row_missing", code=code, row=r)))


def _returned_row(
    r: int, code: str, values: dict, form: ReturnedForm, languages: tuple[str, str]
) -> ReturnedRow | None:
    """The unit's answer on row `r`; None when its 完成情况 or 自评分 is missing or wrong (the problems say
    which)."""
    row_ok = True
    completion_text = _text(values["H"])
    completion = parse_completion(completion_text) if completion_text else None
    written_in, language = languages
    choices = " / ".join(COMPLETION_LABELS[written_in].values())
    if not completion_text:
        missing = _say(language, "completion_missing", choices=choices)
        form.problems.append(Problem(form.file, r, "H", missing))
        row_ok = False
    elif completion is None:
        form.problems.append(Problem(form.file, r, "H", _say(
            language, "completion_wrong", value=completion_text, choices=choices)))
        row_ok = False
    score = _score(values["I"], language)
    if isinstance(score, str):
        form.problems.append(Problem(form.file, r, "I", score))
        row_ok = False
    if not row_ok:
        return None
    return ReturnedRow(
        r, code, completion, score, tuple(split_evidence(_text(values["J"]))), _text(values["K"]) or None
    )


def _score(value: Any, language: str) -> int | None | str:
    """The self-score, None when blank, or the error message."""
    written = _text(value)
    if not written:
        return None
    try:
        number = float(written)
    except ValueError:
        return _say(language, "score_not_number", value=written, lo=SCORE_MIN, hi=SCORE_MAX)
    if not number.is_integer():
        return _say(language, "score_not_integer", value=written, lo=SCORE_MIN, hi=SCORE_MAX)
    if not SCORE_MIN <= number <= SCORE_MAX:
        return _say(language, "score_out_of_range", value=int(number), lo=SCORE_MIN, hi=SCORE_MAX)
    return int(number)


def import_forms(session: Session, ctx: ProgramContext, files: Iterable[Path], at: datetime,
                 unit_code: str | None = None, actor: str = "cli",
                 issued: dict[str, set[str]] | None = None) -> tuple[list[dict], list[Problem]]:
    """Reads and checks every file, then records all of them or none: (results, problems). `issued`: unit
    code → the task codes its form carries now (db.selfcheck.issued_codes), for the units whose specs the
    caller holds already; the other forms' units are worked out here.

    Nothing is written when any file has an error; warnings (rows of tasks no longer current) do not stop it.
    """
    forms = [read_form(Path(f), str(f), ctx.language) for f in files]
    problems = [p for form in forms for p in form.problems]
    readable = sorted({form.unit_code for form in forms if form.unit_code and not form.problems})
    held = issued or {}
    missing = [code for code in readable if code not in held]
    issued = {**(issued_codes(session, ctx, missing) if missing else {}), **held}
    problems += validate_returns(session, ctx, forms, unit_code, issued)
    if any(p.severity == "error" for p in problems):
        return [], problems
    return record_returns(session, ctx, forms, at, actor, issued), problems


def selfcheck_form_attachment(
    session: Session, ctx: ProgramContext, unit_code: str, rows: list | None = None
) -> Attachment:
    """The unit's self-check workbook, for the selfcheck_form notice. (`rows` is ignored: it matches the
    dispatcher's AttachmentBuilder signature.)"""
    return Attachment(form_filename(ctx.id, unit_code), form_bytes(session, ctx, unit_code), XLSX_MIME)
