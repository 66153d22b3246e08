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
