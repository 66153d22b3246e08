"""The 分工表 as a grid of located cells, from .xlsx (openpyxl) or .csv (pandas).

Limits (a hostile or mistaken file is refused with a message before it is loaded; a real 分工表 is far
smaller):
a CSV of at most MAX_CSV_BYTES; a workbook whose parts unpack to at most MAX_XLSX_UNPACKED bytes (a zip bomb
is
refused by its declared and its actual size); at most MAX_ROWS rows and MAX_CELLS cells. A CSV is read as
UTF-8,
else as GB18030 (what Chinese Excel saves, a superset of GBK). A workbook is read from its first visible
sheet.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedule.i18n import Told

MAX_CSV_BYTES = 5_000_000
MAX_XLSX_UNPACKED = 20_000_000
MAX_ROWS = 20_000
MAX_CELLS = 400_000


class TableError(Told):
    def __init__(self, key: str, row: int | None = None, column: str | None = None, **values: object) -> None:
        super().__init__(f"table.{key}", **values)
        self.row, self.column = row, column


@dataclass(frozen=True)
class Cell:
    row: int          # as a spreadsheet shows it, header row 1
    column: str       # column letter
    column_index: int  # 0-based
    value: Any


@dataclass(frozen=True)
class Table:
    header: list[Cell]
    rows: list[list[Cell]]
    sheet: str | None = None          # the sheet read, for a workbook
    skipped: tuple[str, ...] = ()     # hidden sheets before it
    encoding: str | None = None       # the encoding read, for a CSV


def read_table(path: Path, shown: str) -> Table:
    if not path.is_file():
        raise TableError("file_missing")
    if path.stat().st_size == 0:
        raise TableError("file_empty")
    suffix = path.suffix.lower()
    sheet, skipped, encoding = None, (), None
    if suffix == ".csv":
        grid, encoding = _csv_grid(path)
    elif suffix in (".xlsx", ".xlsm"):
        grid, sheet, skipped = _xlsx_grid(path)
    else:
        raise TableError("file_type", suffix=path.suffix or path.name)
    if not grid or not any(_present(v) for v in grid[0]):
        raise TableError("no_header", 1)
    from openpyxl.utils import get_column_letter  # pandas and openpyxl load only when a table is read

    width = max(len(r) for r in grid)
    cells = [
        [Cell(r + 1, get_column_letter(c + 1), c, row[c] if c < len(row) else None) for c in range(width)]
        for r, row in enumerate(grid)
    ]
    body = [row for row in cells[1:] if any(_present(cell.value) for cell in row)]
    return Table(cells[0], body, sheet, skipped, encoding)


def _present(value: Any) -> bool:
    return (
        value is not None and str(value).strip() != "" and not (isinstance(value, float) and value != value)
    )


def _csv_grid(path: Path) -> tuple[list[list[Any]], str]:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise TableError("csv_too_large", size=f"{size:,}", limit=f"{MAX_CSV_BYTES:,}")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            failure = exc
    else:
        row = raw[: failure.start].count(b"\n") + 1
        raise TableError("csv_encoding", row)
    import pandas as pd  # loaded only when a CSV table is read

    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise TableError("file_empty") from None
    except pd.errors.ParserError as exc:
        raise TableError("csv_unreadable", error=exc) from None
    if frame.shape[0] > MAX_ROWS or frame.size > MAX_CELLS:
        raise TableError("csv_too_many", rows=f"{frame.shape[0]:,}", max_rows=f"{MAX_ROWS:,}",
                         max_cells=f"{MAX_CELLS:,}")
    return frame.values.tolist(), ("UTF-8" if encoding == "utf-8-sig" else "GB18030")


def check_workbook_size(path: Path | io.BytesIO, limit: int) -> None:
    """Refuses a workbook whose parts would unpack to more than `limit` bytes, by the sizes its zip declares
    and by the bytes actually inflated (a declared size can lie)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            declared = sum(info.file_size for info in infos)
            if declared > limit:
                raise TableError("unpacked_too_large", size=f"{declared:,}", limit=f"{limit:,}")
            inflated = 0
            for info in infos:
                with archive.open(info) as member:
                    while block := member.read(1 << 16):
                        inflated += len(block)
                        if inflated > limit:
                            raise TableError("inflated_too_large", limit=f"{limit:,}")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise TableError("not_xlsx", error=exc) from None


def _xlsx_grid(path: Path) -> tuple[list[list[Any]], str, tuple[str, ...]]:
    if not zipfile.is_zipfile(path):
        raise TableError("not_zip")
    check_workbook_size(path, MAX_XLSX_UNPACKED)
    from openpyxl import load_workbook  # loaded only when a workbook is read
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: a formula cell is read as its cached value, never evaluated.
        workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError("not_xlsx", error=exc) from None
    visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
    if not visible:
        raise TableError("no_sheet")
    sheet = visible[0]
    skipped = tuple(ws.title for ws in workbook.worksheets[: workbook.worksheets.index(sheet)])
    if sheet.max_row > MAX_ROWS or sheet.max_row * sheet.max_column > MAX_CELLS:
        raise TableError("sheet_too_large", sheet=sheet.title, rows=f"{sheet.max_row:,}",
                         columns=f"{sheet.max_column:,}", max_rows=f"{MAX_ROWS:,}",
                         max_cells=f"{MAX_CELLS:,}")
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    # Merged cells (typical for the area column) apply to every row they cover.
    for merged in sheet.merged_cells.ranges:
        value = grid[merged.min_row - 1][merged.min_col - 1] if merged.min_row - 1 < len(grid) else None
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, merged.max_col):
                if c < len(grid[r]):
                    grid[r][c] = value
    workbook.close()
    return grid, sheet.title, skipped
