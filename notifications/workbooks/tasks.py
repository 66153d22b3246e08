"""The unit's 报送表: its tasks as an .xlsx attachment, with columns for the unit to fill in and send back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from schedule import cell_value, labels, language_of

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (key, Chinese header, English header, width)
COLUMNS = (
    ("seq", "序号", "No.", 6), ("code", "编号", "Code", 10), ("area", "重点任务", "Area", 22),
    ("title", "工作举措", "Measure", 50), ("lead", "牵头单位", "Lead unit", 22),
    ("co", "配合单位", "Co-units", 26), ("due", "完成时限", "Time limit", 14),
    ("status", "当前状态", "Status", 10), ("progress", "进度(%)", "Progress (%)", 9),
    ("light", "预警", "Light", 8), ("report", "本期进展", "Progress this period", 40),
    ("evidence", "佐证材料", "Evidence", 30))
FILLED_BY_UNIT = ("report", "evidence")
REPORT_META_SHEET = "_duban"
REPORT_FORMAT = "duban-report/1"

LIGHT_FILL = {"red": "F8CBAD", "yellow": "FFE699", "green": "C6EFCE", "done": "D9E1F2"}

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="9E9E9E")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _units(value, names: Mapping[str, str] | None) -> str:
    if value is None:
        return ""
    items = value if isinstance(value, (list, tuple)) else [value]
    return "、".join(str(names.get(str(v), v) if names else v) for v in items if v not in (None, ""))


def _due(row: dict, language: str) -> str:
    en = language == "en"
    due = row.get("due")
    recurrence = row.get("recurrence")
    if isinstance(due, (date, datetime)):
        due = due.isoformat()[:10]
    recurrences = labels(language, "recurrence")
    if recurrence and recurrence in recurrences:
        label = recurrences[recurrence]
        return (
            f"{label}（本期 {due}）" if due and not en else (f"{label} (this period {due})" if due else label)
        )
    return due or ("—" if not en else "none")


def unit_task_workbook(
    unit_name: str,
    rows: list[dict],
    language: str = "zh-CN",
    *,
    title: str | None = None,
    names: Mapping[str, str] | None = None,
    meta: Mapping[str, str] | None = None,
) -> bytes:
    """An .xlsx 报送表 for one unit: a title row, a styled header row, one row per task, and two columns the
    unit fills in (本期进展, 佐证材料). `rows` have the keys of `duban tasks --json` (code, area, title, lead,
    co, due, recurrence, phase, status, progress, light); `names` maps unit ids to names for lead/co.
    `meta` (program, unit) goes into a hidden sheet `_duban`, so the returned table can be read back
    (`duban report import`, or an upload on the unit's portal page). Written row by row (openpyxl's
    write-only mode): memory stays flat whatever the number of tasks."""
    language = language_of(language)
    en = language == "en"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Tasks" if en else "报送表")
    for column, (_key, _zh, _english, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    last = get_column_letter(len(COLUMNS))
    heading = title or (
        f"{unit_name}: tasks and progress report" if en else f"{unit_name}重点任务推进情况报送表"
    )
    sheet.row_dimensions[1].height, sheet.row_dimensions[2].height = 28, 22
    sheet.freeze_panes = "C3"  # the sheet's view goes out with the first row: set before it
    sheet.append([_styled(sheet, cell_value(heading), TITLE_STYLE)])
    sheet.merged_cells.add(f"A1:{last}1")
    sheet.append([_styled(sheet, english if en else zh, HEADER_STYLE)
                  for _key, zh, english, _width in COLUMNS])
    for index, row in enumerate(rows, start=1):
        values = _row_values(index, row, language, names)
        sheet.append([_styled(sheet, cell_value(values[key]), _body_style(key, row.get("light") or "none"))
                      for key, *_rest in COLUMNS])
    if rows:
        progress = get_column_letter([k for k, *_ in COLUMNS].index("progress") + 1)
        check = DataValidation(type="whole", operator="between", formula1="0", formula2="100",
                               allow_blank=True, sqref=f"{progress}3:{progress}{len(rows) + 2}")
        check.error = "0–100"
        sheet.data_validations.append(check)
        sheet.auto_filter.ref = f"A2:{last}{len(rows) + 2}"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    if meta:
        hidden = book.create_sheet(REPORT_META_SHEET)
        hidden.sheet_state = "hidden"
        for pair in (["format", REPORT_FORMAT], *([key, value] for key, value in meta.items())):
            hidden.append(pair)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _row_values(index: int, row: dict, language: str, names: Mapping[str, str] | None) -> dict:
    statuses, lights = labels(language, "status"), labels(language, "light")
    light = row.get("light") or "none"
    return {"seq": index, "code": row.get("code"), "area": row.get("area") or "",
            "title": row.get("title") or "", "lead": _units(row.get("lead"), names),
            "co": _units(row.get("co"), names), "due": _due(row, language),
            "status": statuses.get(row.get("status") or "", row.get("status") or ""),
            "progress": int(row.get("progress") or 0), "light": lights.get(light, light), "report": None,
            "evidence": None}


@dataclass(frozen=True)
class _Style:
    font: Font | None = None
    fill: PatternFill | None = None
    alignment: Alignment | None = None
    border: Border | None = BORDER


TITLE_STYLE = _Style(Font(name="宋体", size=14, bold=True), None,
                     Alignment(horizontal="center", vertical="center"), None)
HEADER_STYLE = _Style(Font(bold=True, color="FFFFFF"), HEADER_FILL,
                      Alignment(horizontal="center", vertical="center", wrap_text=True))
WRAPPED = ("area", "title", "lead", "co", "report", "evidence")
CENTRED = ("seq", "progress", "status", "light")


@cache
def _body_style(key: str, light: str) -> _Style:
    """A body cell's look: a column's few looks, built once."""
    fill = INPUT_FILL if key in FILLED_BY_UNIT else None
    if key == "light" and light in LIGHT_FILL:
        fill = PatternFill("solid", fgColor=LIGHT_FILL[light])
    alignment = (Alignment(horizontal="center", vertical="top") if key in CENTRED
                 else Alignment(vertical="top", wrap_text=key in WRAPPED))
    return _Style(None, fill, alignment)


def _styled(sheet, value, style: _Style) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    for name in ("font", "fill", "alignment", "border"):
        if getattr(style, name) is not None:
            setattr(cell, name, getattr(style, name))
    return cell
