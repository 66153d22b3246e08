"""The acceptance package's index workbook: one row per active task, and the gaps."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from schedule import cell_row, labels, text


def index_workbook(data: dict) -> bytes:
    language = data["language"]
    say = labels(language, "index_text")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = say["sheet"]
    sheet.append(cell_row([say["title"].format(name=data["name"], today=data["today"])]))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(labels(language, "index_header").values()))
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="D9E1F2")
    yes, no = say["yes"], say["no"]
    wrapped = Alignment(wrap_text=True, vertical="top")  # one style object for every cell: built once
    sep, status_names = text(language, "acceptance.separator"), labels(language, "status")
    for t in data["tasks"]:
        sheet.append(cell_row([
            t["code"], t["area"], t["title"], sep.join(t["lead_names"]), sep.join(t["co_names"]),
            t["due"] or t["recurrence"] or "", t["original_due"] or "", t["done_on"] or "",
            status_names.get(t["status"], t["status"]), yes if t["on_time"] else no,
            t["evidence_spec"], "\n".join(t["files"]), sep.join(t["unmatched"]), "\n".join(t["selfcheck"]),
            "\n".join(t["remediation"]), t["score"]]))
        r = sheet.max_row
        if t["files"]:
            sheet.cell(r, 12).hyperlink = t["files"][0]  # opens from the unpacked package
        for cell in sheet[r]:
            cell.alignment = wrapped
    for column, width in zip(
        "ABCDEFGHIJKLMNOP", [8, 20, 50, 24, 24, 12, 12, 12, 10, 8, 24, 40, 24, 24, 40, 8], strict=True
    ):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "B3"
    gaps = workbook.create_sheet(say["gaps_sheet"])
    gaps.append([say["gap_task"], say["gap_kind"], say["gap_detail"]])
    for g in data["gaps"]:
        gaps.append(cell_row([g["task"], g["kind"], g["detail"]]))
    for column, width in zip("ABC", [12, 18, 80], strict=True):
        gaps.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
