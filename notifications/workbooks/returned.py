"""What every workbook a unit sends back must pass before its rows are read: it opens as .xlsx and still has
the hidden sheet duban wrote into it when it was issued."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from schedule import Problem, text


def open_returned(content: bytes, shown: str, meta_sheet: str, not_issued: str, language: str | None
                  ) -> tuple[Workbook | None, Problem | None]:
    """The workbook, or the problem that stops its reading: not a workbook, or no `meta_sheet` in it
    (`not_issued` says so to the unit); said in `language`."""
    try:
        workbook = load_workbook(io.BytesIO(content), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None, Problem(shown, None, None, text(language, "workbook.not_xlsx"))
    if meta_sheet not in workbook.sheetnames:
        return None, Problem(shown, None, None, not_issued)
    return workbook, None


# What a sheet read lazily may raise on a damaged file, besides what opening it raises (XML errors are
# SyntaxErrors).
_DAMAGED = (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError)


def read_returned(content: bytes, shown: str, meta_sheet: str, not_issued: str, language: str | None
                  ) -> tuple[dict[str, list[tuple]] | None, Problem | None]:
    """Every sheet's values, row 1 first (sheet name → rows, in the workbook's order), or the problem that
    stops its reading, as open_returned says it. Read in openpyxl's read-only mode, about twice as fast: a
    returned form is read once, start to end. The dimensions a file claims are ignored (another program may
    claim fewer rows than it wrote), and every sheet is read here: a damaged one is said, not raised."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        if meta_sheet not in workbook.sheetnames:
            return None, Problem(shown, None, None, not_issued)
        sheets = {}
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()
            sheets[sheet.title] = list(sheet.iter_rows(values_only=True))
        workbook.close()
    except _DAMAGED:
        return None, Problem(shown, None, None, text(language, "workbook.not_xlsx"))
    return sheets, None
