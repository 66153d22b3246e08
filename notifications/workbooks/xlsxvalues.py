"""The values of every sheet of an .xlsx, read straight from its XML: what openpyxl's read-only mode gives
(`data_only`, `values_only`, the sheets' claimed dimensions ignored), for the small workbooks a unit sends
back. openpyxl builds and validates an object for every cell and every part of the package before it hands
a value out; this parses each part once with the same XML parser (defusedxml's where openpyxl would use it)
and keeps only the values, about five times faster. Dates follow the cells' number formats and the
workbook's epoch as openpyxl's do (its own rules are used for them).

A damaged part raises what its reading raises (KeyError, ValueError, SyntaxError for XML, IndexError,
zipfile's errors): notifications/workbooks/returned.py says so as a file that is not a workbook.
"""

from __future__ import annotations

import posixpath
import zipfile
from typing import Any

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.xml.functions import fromstring

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_ROW, _CELL, _VALUE, _INLINE = f"{_MAIN}row", f"{_MAIN}c", f"{_MAIN}v", f"{_MAIN}is"
_TEXT, _RUN = f"{_MAIN}t", f"{_MAIN}r"


def sheet_values(archive: zipfile.ZipFile) -> dict[str, list[tuple]]:
    """Worksheet name → its rows of values, row 1 first, in the workbook's order (hidden sheets too). A row
    ends at its last cell; a missing row is an empty tuple."""
    workbook_path = _targets(archive, "_rels/.rels", "")["officeDocument"][0]
    folder = posixpath.dirname(workbook_path)
    parts = _targets(archive, posixpath.join(folder, "_rels", posixpath.basename(workbook_path) + ".rels"),
                     folder)
    workbook = fromstring(archive.read(workbook_path))
    properties = workbook.find(f"{_MAIN}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "").lower() in ("1", "true")
    strings = _shared_strings(archive, parts.get("sharedStrings", [None])[0])
    dates, durations = _date_styles(archive, parts.get("styles", [None])[0])
    worksheets = dict(parts.get("worksheet", [None])[1:])  # id → path; not chartsheets, as openpyxl's list
    reader = _Cells(strings, dates, durations, CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH)
    return {sheet.get("name"): reader.rows(fromstring(archive.read(worksheets[sheet.get(_REL_ID)])))
            for sheet in workbook.iter(f"{_MAIN}sheet") if sheet.get(_REL_ID) in worksheets}


def _targets(archive: zipfile.ZipFile, rels: str, folder: str) -> dict[str, list]:
    """Relationship type (its last word) → [the first target's path, (id, path) of each target]."""
    found: dict[str, list] = {}
    for rel in fromstring(archive.read(rels)).iter(_RELATIONSHIP):
        target = rel.get("Target")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(folder, target))
        entry = found.setdefault(rel.get("Type").rsplit("/", 1)[-1], [path])
        entry.append((rel.get("Id"), path))
    return found


def _text(element) -> str:
    """An inline or shared string's text as openpyxl reads it: the plain text and the runs' text, without
    the phonetic guides."""
    plain = element.find(_TEXT)
    snippets = [plain.text or ""] if plain is not None else []
    snippets += [run.findtext(_TEXT) or "" for run in element.iter(_RUN)]
    return "".join(snippets)


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    if path is None:
        return []
    items = fromstring(archive.read(path)).findall(f"{_MAIN}si")
    return [_text(item).replace("x005F_", "") for item in items]


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> tuple[set[int], set[int]]:
    """The cell styles (their index) whose number format is a date, and those that are a duration."""
    if path is None:
        return set(), set()
    styles = fromstring(archive.read(path))
    custom = {int(n.get("numFmtId")): n.get("formatCode") for n in styles.iter(f"{_MAIN}numFmt")}
    dates, durations = set(), set()
    cell_styles = styles.find(f"{_MAIN}cellXfs")
    for index, style in enumerate(cell_styles if cell_styles is not None else ()):
        number = int(style.get("numFmtId", 0))
        code = custom[number] if number in custom else builtin_format_code(number)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations


class _Cells:
    """A sheet's cells as values, after openpyxl's WorkSheetParser.parse_cell (data_only)."""

    def __init__(self, strings: list[str], dates: set[int], durations: set[int], epoch) -> None:
        self.strings, self.dates, self.durations, self.epoch = strings, dates, durations, epoch

    def rows(self, sheet) -> list[tuple]:
        rows: list[tuple] = []
        number = 0
        for row in sheet.iter(_ROW):
            given = row.get("r")
            number = _row_number(given) if given is not None else number + 1
            if number <= len(rows):
                continue  # a row out of order: openpyxl yields it no more
            rows += [()] * (number - 1 - len(rows))
            rows.append(self._row(row))
        return rows

    def _row(self, row) -> tuple:
        cells: dict[int, Any] = {}
        column = 0
        for cell in row.iter(_CELL):
            reference = cell.get("r")
            column = column_index_from_string(reference.rstrip("0123456789")) if reference else column + 1
            cells[column] = self._value(cell)
        if not cells:
            return ()
        return tuple(cells.get(c) for c in range(1, column + 1))

    def _value(self, cell) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(_INLINE)
            return None if inline is None else _text(inline)
        value = cell.findtext(_VALUE) or None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if "." in value or "E" in value or "e" in value else int(value)
            style = int(cell.get("s") or 0)
            if style in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # openpyxl's value for a date out of range
            return number
        if kind == "s":
            return self.strings[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return from_ISO8601(value)
        return value  # str (a formula's text), e (an error such as #N/A)


def _row_number(given: str) -> int:
    try:
        return int(given)
    except ValueError:
        number = float(given)
        if not number.is_integer():
            raise ValueError(f"{given} is not a valid row number") from None
        return int(number)
