"""Plain factory functions: small plan folders written to a temporary directory."""

from __future__ import annotations

from pathlib import Path

import yaml
from openpyxl import Workbook

UNITS = [
    {"id": "office", "name": "市知识产权工作领导小组办公室", "aliases": ["领导小组办公室"],
     "notify": ["json://127.0.0.1:9/office"]},
    {"id": "msa", "name": "市市场监督管理局（知识产权局）", "aliases": ["市场监管局", "市知识产权局"],
     "notify": ["json://127.0.0.1:9/msa"], "leader_notify": ["json://127.0.0.1:9/msa-leader"]},
    {"id": "court", "name": "市中级人民法院", "aliases": ["市法院"], "notify": ["json://127.0.0.1:9/court"]},
    {"id": "police", "name": "市公安局", "notify": ["json://127.0.0.1:9/police"]},
    {"id": "justice", "name": "市司法局", "notify": ["json://127.0.0.1:9/justice"]},
    # Answering jointly: C1 stays one task that any member's report moves (tests/schedule/test_collectives.py
    # has the members' own shares).
    {"id": "departments", "name": "市直有关单位", "members": ["court", "police", "justice"], "jointly": True},
]

HEADER = ["序号", "重点任务", "工作举措", "牵头单位", "配合单位", "完成时限", "成果形式", "阶段"]

TASKS = [
    ["D1", "任务部署", "印发实施方案", "领导小组办公室", "", "2023年4月底前", "印发文件", "任务部署"],
    [
        "A1", "协同保护", "建立成渝知识产权保护联动机制", "市场监管局", "市法院、市公安局", "2023年6月底前",
        "合作协议", "组织实施"],
    ["A2", "协同保护", "深化跨区域协作", "市知识产权局", "市司法局", "2023年底前", "会议纪要", ""],
    ["B1", "快速保护", "开展专项执法行动", "市公安局", "市场监管局", "长期坚持", "案件统计表", ""],
    ["B2", "快速保护", "报送季度执法数据", "市公安局", "", "每季度", "统计表", ""],
    ["C1", "人才支撑", "开展知识产权培训", "市直有关单位", "", "2024年3月15日前", "培训台账", ""],
]


def program_yaml(program_id: str = "demo-city", **overrides) -> dict:
    data = {
        "id": program_id,
        "name": "示范城市知识产权保护示范区建设",
        "timezone": "Asia/Shanghai",
        "coordinator": "office",
        "tasks": "tasks.xlsx",
        "units": "units.yaml",
        "phases": [
            {"kind": "deployment", "start": "2023-03-01", "end": "2023-04-30"},
            {"kind": "implementation", "start": "2023-05-01", "end": "2024-06-30"},
            {"kind": "self_check", "start": "2024-06-01", "end": "2024-07-31"},
            {"kind": "remediation", "start": "2024-08-01", "end": "2025-03-31"},
            {"kind": "acceptance", "start": "2025-04-01", "end": "2025-04-30"}],
    }
    data.update(overrides)
    return data


def write_workbook(path: Path, rows: list[list], header: list[str] | None = None,
                   merge: list[str] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    for cell_range in merge or []:
        sheet.merge_cells(cell_range)
    workbook.save(path)
    return path


def write_plan(root: Path, *, program: dict | None = None, units: list[dict] | None = None,
               tasks: list[list] | None = None, header: list[str] | None = None, name: str = "plan") -> Path:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    program = program or program_yaml()
    (directory / "program.yaml").write_text(
        yaml.safe_dump(program, allow_unicode=True, sort_keys=False), "utf-8"
    )
    (directory / "units.yaml").write_text(
        yaml.safe_dump(units if units is not None else UNITS, allow_unicode=True, sort_keys=False), "utf-8")
    tasks_file = directory / program.get("tasks", "tasks.xlsx")
    if tasks_file.suffix == ".xlsx":
        write_workbook(tasks_file, tasks if tasks is not None else TASKS, header)
    return directory
