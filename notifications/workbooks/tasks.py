"""The unit's 报送表: its tasks as an .xlsx attachment, with columns for the unit to fill in and send back."""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy
from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook
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
    (`duban report import`, or an upload on the unit's portal page)."""
    language = language_of(language)
    en = language == "en"
    statuses, lights = labels(language, "status"), labels(language, "light")
    book = Workbook()
    sheet = book.active
    sheet.title = "Tasks" if en else "报送表"
    width = len(COLUMNS)
    heading = title or (
        f"{unit_name}: tasks and progress report" if en else f"{unit_name}重点任务推进情况报送表"
    )
    sheet.cell(row=1, column=1, value=cell_value(heading))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(row=1, column=1).font = Font(name="宋体", size=14, bold=True)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 28

    for column, (_key, zh, english, col_width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=2, column=column, value=english if en else zh)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BORDER
        sheet.column_dimensions[get_column_letter(column)].width = col_width
    sheet.row_dimensions[2].height = 22

    looks: dict[tuple[str, str | None], object] = {}
    for index, row in enumerate(rows, start=1):
        light = row.get("light") or "none"
        values = {
            "seq": index, "code": row.get("code"), "area": row.get("area") or "",
            "title": row.get("title") or "", "lead": _units(row.get("lead"), names),
            "co": _units(row.get("co"), names), "due": _due(row, language),
            "status": statuses.get(row.get("status") or "", row.get("status") or ""),
            "progress": int(row.get("progress") or 0), "light": lights.get(light, light), "report": None,
            "evidence": None}
        excel_row = index + 2
        for column, (key, *_rest) in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=excel_row, column=column, value=cell_value(values[key]))
            # Styling a cell hashes every style object; a column's few looks are styled once and copied.
            look = (key, light if key == "light" else None)
            if look in looks:
                cell._style = copy(looks[look])
                continue
            cell.border = BORDER
            cell.alignment = Alignment(
                vertical="top", wrap_text=key in ("area", "title", "lead", "co", "report", "evidence")
            )
            if key in FILLED_BY_UNIT:
                cell.fill = INPUT_FILL
            if key == "light":
                colour = LIGHT_FILL.get(light)
                if colour:
                    cell.fill = PatternFill("solid", fgColor=colour)
                cell.alignment = Alignment(horizontal="center", vertical="top")
            if key in ("seq", "progress", "status"):
                cell.alignment = Alignment(horizontal="center", vertical="top")
            looks[look] = copy(cell._style)

    if rows:
        last = len(rows) + 2
        progress_column = get_column_letter([k for k, *_ in COLUMNS].index("progress") + 1)
        check = DataValidation(
            type="whole", operator="between", formula1="0", formula2="100", allow_blank=True
        )
        check.error = "0–100"
        sheet.add_data_validation(check)
        check.add(f"{progress_column}3:{progress_column}{last}")
        sheet.auto_filter.ref = f"A2:{get_column_letter(width)}{last}"
    sheet.freeze_panes = "C3"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    if meta:
        hidden = book.create_sheet(REPORT_META_SHEET)
        hidden.sheet_state = "hidden"
        hidden.append(["format", REPORT_FORMAT])
        for key, value in meta.items():
            hidden.append([key, value])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
