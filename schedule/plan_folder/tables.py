"""The 分工表 as a grid of located cells, from .xlsx (openpyxl) or .csv (pandas)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException


class TableError(ValueError):
    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
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


def read_table(path: Path, shown: str) -> Table:
    if not path.is_file():
        raise TableError("文件不存在")
    if path.stat().st_size == 0:
        raise TableError("文件为空")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        grid = _csv_grid(path)
    elif suffix in (".xlsx", ".xlsm"):
        grid = _xlsx_grid(path)
    else:
        raise TableError(f"分工表应为 .xlsx 或 .csv 文件，而不是「{path.suffix or path.name}」")
    if not grid or not any(_present(v) for v in grid[0]):
        raise TableError("分工表没有表头行（第 1 行应为列名）", 1)
    width = max(len(r) for r in grid)
    cells = [
        [Cell(r + 1, get_column_letter(c + 1), c, row[c] if c < len(row) else None) for c in range(width)]
        for r, row in enumerate(grid)
    ]
    body = [row for row in cells[1:] if any(_present(cell.value) for cell in row)]
    return Table(cells[0], body)


def _present(value: Any) -> bool:
    return (
        value is not None and str(value).strip() != "" and not (isinstance(value, float) and value != value)
    )


def _csv_grid(path: Path) -> list[list[Any]]:
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise TableError("文件为空") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TableError(f"无法读取 CSV（应为 UTF-8 编码的逗号分隔文件）: {exc}") from None
    return frame.values.tolist()


def _xlsx_grid(path: Path) -> list[list[Any]]:
    if not zipfile.is_zipfile(path):
        raise TableError("不是有效的 Excel 工作簿（.xlsx）：文件内容无法按工作簿打开")
    try:
        # data_only: a formula cell is read as its cached value, never evaluated.
        workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise TableError(f"不是有效的 Excel 工作簿（.xlsx）: {exc}") from None
    sheet = workbook.worksheets[0]
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    # Merged cells (typical for the area column) apply to every row they cover.
    for merged in sheet.merged_cells.ranges:
        value = grid[merged.min_row - 1][merged.min_col - 1] if merged.min_row - 1 < len(grid) else None
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, merged.max_col):
                if c < len(grid[r]):
                    grid[r][c] = value
    workbook.close()
    return grid
