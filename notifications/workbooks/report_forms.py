"""The returned 报送表: the .xlsx attached to a unit's digest, filled in (进度(%), 本期进展, 佐证材料) and
sent back.

`read_report_form` reads one workbook into rows, every problem of the file itself located as
`FILE:ROW:COLUMN: message`; db.reviews.import_reports then applies the same rules as every other report and
writes all or nothing. A row is a report when its progress changed or 本期进展 / 佐证材料 is filled in;
progress 100 is a done claim (申请办结), anything else in progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from notifications.workbooks.returned import open_returned
from notifications.workbooks.tasks import COLUMNS, REPORT_FORMAT, REPORT_META_SHEET
from schedule import Problem, clean_entry, labels, language_of, text

HEADER_ROW = 2
_SPLIT = re.compile(r"[、，,；;\r\n]+")


@dataclass(frozen=True)
class ReportRow:
    row: int
    code: str
    progress: int  # -1: left blank
    note: str | None
    evidence: tuple[str, ...]
    columns: dict  # key → column letter, for located errors


@dataclass
class ReportForm:
    file: str
    program_id: str | None = None
    unit_code: str | None = None
    rows: list[ReportRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    language: str = "zh-CN"  # what its problems are said in


def _say(form: ReportForm, key: str, **values) -> str:
    return text(form.language, f"report_form.{key}", **values)


def read_report_form(content: bytes, shown: str, language: str | None = None) -> ReportForm:
    """The rows of one returned 报送表, its problems said in `language` (the program's)."""
    form = ReportForm(shown, language=language_of(language))
    workbook, problem = open_returned(content, shown, REPORT_META_SHEET, _say(form, "not_issued"), language)
    if problem is not None:
        form.problems.append(problem)
        return form
    meta = {
        clean_entry(r[0]): clean_entry(r[1])
        for r in workbook[REPORT_META_SHEET].iter_rows(values_only=True)
        if r and r[0] is not None and len(r) > 1
    }
    if meta.get("format") != REPORT_FORMAT or not meta.get("program") or not meta.get("unit"):
        form.problems.append(Problem(shown, None, None, _say(form, "broken_meta")))
        return form
    form.program_id, form.unit_code = meta["program"], meta["unit"]
    sheet = workbook.worksheets[0]
    columns = _columns(sheet, form)
    if form.problems:
        return form
    seen: dict[str, int] = {}
    for r in range(HEADER_ROW + 1, sheet.max_row + 1):
        row = _report_row(sheet, r, columns, seen, form)
        if row is not None:
            form.rows.append(row)
    return form


def _columns(sheet, form: ReportForm) -> dict[str, str | None]:
    """Each column's letter by its header (Chinese or English); a missing required one is a problem."""
    headers = {
        clean_entry(c.value): get_column_letter(c.column) for c in sheet[HEADER_ROW] if c.value is not None
    }
    columns = {}
    zh, en = labels("zh-CN", "report_header"), labels("en", "report_header")
    for key, _width in COLUMNS:
        letter = headers.get(zh[key]) or headers.get(en[key])
        if letter is None and key in ("code", "progress", "report", "evidence"):
            missing = _say(form, "column_missing", column=(en if form.language == "en" else zh)[key])
            form.problems.append(Problem(form.file, HEADER_ROW, None, missing))
        columns[key] = letter
    return columns


def _report_row(sheet, r: int, columns: dict, seen: dict[str, int], form: ReportForm) -> ReportRow | None:
    """Row `r` as read, or None for a blank row or one with a problem (added to the form's problems)."""
    shown = form.file
    code = clean_entry(sheet[f"{columns['code']}{r}"].value)
    note = clean_entry(sheet[f"{columns['report']}{r}"].value)
    evidence_text = clean_entry(sheet[f"{columns['evidence']}{r}"].value)
    raw_progress = sheet[f"{columns['progress']}{r}"].value
    if not code:
        if note or evidence_text:
            form.problems.append(Problem(shown, r, columns["code"], _say(form, "no_code")))
        return None
    if code in seen:
        duplicate = text(form.language, "workbook.duplicate", code=code, row=seen[code])
        form.problems.append(Problem(shown, r, columns["code"], duplicate))
        return None
    seen[code] = r
    try:
        progress = (
            int(float(str(raw_progress).strip().rstrip("%"))) if raw_progress not in (None, "") else None
        )
    except ValueError:
        form.problems.append(Problem(shown, r, columns["progress"], _say(
            form, "progress_not_number", value=clean_entry(raw_progress))))
        return None
    if progress is not None and not 0 <= progress <= 100:
        form.problems.append(Problem(shown, r, columns["progress"], _say(
            form, "progress_out_of_range", value=progress)))
        return None
    return ReportRow(
        r,
        code,
        progress if progress is not None else -1,
        note or None,
        tuple(e.strip() for e in _SPLIT.split(evidence_text) if e.strip()),
        columns,
    )
