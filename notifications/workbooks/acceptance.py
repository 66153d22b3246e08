"""The acceptance package's index workbook: one row per active task, and the gaps."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from schedule import cell_row

INDEX_HEADERS = {
    "zh-CN": [
        "编号", "重点任务", "工作举措", "牵头单位", "配合单位", "完成时限", "原定时限", "完成日期", "状态",
        "按时完成", "成果形式", "佐证材料", "未见对应材料的成果", "自查情况", "整改记录", "准备度"],
    "en": [
        "Code", "Area", "Measure", "Lead units", "Co-units", "Due", "Original due", "Done on", "Status",
        "On time", "Expected evidence", "Evidence files", "Items without a file", "Self-check",
        "Remediation history", "Readiness"],
}

STATUS_NAMES = {"zh-CN": {"done": "已办结", "in_progress": "进行中", "not_started": "未开始"},
                "en": {"done": "done", "in_progress": "in progress", "not_started": "not started"}}


def index_workbook(data: dict) -> bytes:
    language = data["language"]
    english = language == "en"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Index" if english else "验收材料索引"
    sheet.append(cell_row([f"{data['name']} · {'acceptance evidence index' if english else '验收材料索引'} "
                           f"· {data['today']}"]))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(INDEX_HEADERS[language])
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="D9E1F2")
    yes, no = ("yes", "no") if english else ("是", "否")
    sep = ", " if english else "、"
    for t in data["tasks"]:
        sheet.append(cell_row([
            t["code"], t["area"], t["title"], sep.join(t["lead_names"]), sep.join(t["co_names"]),
            t["due"] or t["recurrence"] or "", t["original_due"] or "", t["done_on"] or "",
            STATUS_NAMES[language].get(t["status"], t["status"]), yes if t["on_time"] else no,
            t["evidence_spec"], "\n".join(t["files"]), sep.join(t["unmatched"]), "\n".join(t["selfcheck"]),
            "\n".join(t["remediation"]), t["score"]]))
        r = sheet.max_row
        if t["files"]:
            sheet.cell(r, 12).hyperlink = t["files"][0]  # opens from the unpacked package
        for cell in sheet[r]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip(
        "ABCDEFGHIJKLMNOP", [8, 20, 50, 24, 24, 12, 12, 12, 10, 8, 24, 40, 24, 24, 40, 8], strict=True
    ):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "B3"
    gaps = workbook.create_sheet("Gaps" if english else "问题清单")
    gaps.append(["Task / item", "Kind", "Detail"] if english else ["任务/事项", "类型", "说明"])
    for g in data["gaps"]:
        gaps.append(cell_row([g["task"], g["kind"], g["detail"]]))
    for column, width in zip("ABC", [12, 18, 80], strict=True):
        gaps.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
