"""Read a plan folder (program.yaml, units.yaml, the 分工表) into a ProgramSpec, collecting every problem.

Every problem is located as FILE:ROW:COLUMN (a spreadsheet's row and column letter, a YAML file's line and
column, or '-' where no cell applies). All problems of a plan are reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schedule import collectives
from schedule.calendar import WorkCalendar
from schedule.i18n import text
from schedule.model import PhaseSpec, ProgramSpec, TaskSpec, UnitSpec
from schedule.plan_folder.documents import MAX_YAML_BYTES, Problem, YamlDoc, load_yaml, string_list
from schedule.plan_folder.phases import check_phase_tasks, default_phase, read_phases, task_phase_lookup
from schedule.plan_folder.policies import read_policies
from schedule.plan_folder.tables import Cell, Table, TableError, read_table
from schedule.sanitize import clean_text, name_problem
from schedule.time_limits import TimeLimitError, parse_time_limit
from schedule.unit_names import UnitDirectory, UnknownUnitError, split_unit_list

__all__ = ["MAX_YAML_BYTES", "PlanReading", "Problem", "read_plan"]

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# A notify URL given whole by a secret: ${DINGTALK_URL} (expanded at send time, like ${VAR} inside a URL).
SECRET_URL = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")

# Header → field; matched after trimming, case-insensitive for the English forms.
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("序号", "编号", "code"),
    "area": ("重点任务", "任务类别", "体系", "area"),
    "title": ("工作举措", "主要举措", "任务内容", "具体任务", "title"),
    "lead": ("牵头单位", "lead"),
    "co": ("配合单位", "协办单位", "co"),
    "units": ("责任单位", "units"),
    "due": ("完成时限", "时间节点", "完成时间", "due"),
    "evidence": ("成果形式", "预期成果", "佐证材料", "evidence"),
    "phase": ("阶段", "phase"),
}


@dataclass
class PlanReading:
    program: ProgramSpec | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.program is not None and not self.errors


@dataclass
class _Folder:
    """The plan folder being read, and everything found wrong in it so far."""

    directory: Path
    problems: list[Problem] = field(default_factory=list)

    def shown(self, name: str | Path) -> str:
        return str(self.directory / name)

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True)
class _Tasks:
    """The 分工表 as read: its tasks, the file as shown in problems, and the column of its time limits."""

    tasks: tuple[TaskSpec, ...] = ()
    shown: str = ""
    due_column: str | None = None


def read_plan(directory: str | Path) -> PlanReading:
    folder = _Folder(Path(directory))
    if not folder.directory.is_dir():
        return PlanReading(None, [Problem(str(folder.directory), None, None, "计划目录不存在")])
    doc = load_yaml(folder.directory / "program.yaml", folder.shown("program.yaml"), folder.problems)
    if doc is None:
        return PlanReading(None, folder.problems)
    if not isinstance(doc.data, dict):
        folder.problems.append(doc.problem((), "program.yaml 应为键值映射"))
        return PlanReading(None, folder.problems)
    head = _read_head(doc, folder.problems)
    phases = read_phases(doc, doc.data, folder.problems)
    policies = read_policies(doc, doc.data, folder.problems)
    units = _units_of(folder, doc, head["coordinator"])
    table = _tasks_of(folder, doc, units, phases)
    if phases:
        tasks = _against_phases(folder, doc, phases, table)
        _check_calendar(folder, phases, tasks)
    else:
        tasks = table.tasks
    if folder.failed:
        return PlanReading(None, folder.problems)
    program = ProgramSpec(
        phases=tuple(phases),
        units=units,
        tasks=tasks,
        policies=policies,
        source_dir=str(folder.directory.resolve()),
        **head,
    )
    return PlanReading(program, folder.problems)


def _read_head(doc: YamlDoc, problems: list[Problem]) -> dict[str, Any]:
    """The program's id, name, coordinator, time zone and language; sets the document's language, in which
    the problems found after it are said."""
    data = doc.data
    program_id = _required_text(doc, data, "id", problems)
    if program_id and not SLUG.match(program_id):
        problems.append(
            doc.problem(("id",), f"计划编号「{program_id}」只能包含小写字母、数字和连字符 [a-z0-9-]")
        )
    name = _required_text(doc, data, "name", problems)
    if name and (why := name_problem(name)):
        problems.append(doc.problem(("name",), f"计划名称{why}"))
    coordinator = _required_text(doc, data, "coordinator", problems)
    timezone = str(data.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(doc.problem(("timezone",), f"未知时区「{timezone}」"))
    language = str(data.get("language") or "zh-CN")
    if language not in ("zh-CN", "en"):
        problems.append(doc.problem(("language",), f"语言「{language}」应为 zh-CN 或 en"))
    else:
        doc.language = language
    return {
        "id": program_id,
        "name": name,
        "coordinator": coordinator,
        "timezone": timezone,
        "language": language,
    }


def _units_of(folder: _Folder, doc: YamlDoc, coordinator: str | None) -> tuple[UnitSpec, ...]:
    units_name = doc.data.get("units")
    if not units_name:
        folder.problems.append(doc.problem(("units",), "缺少必填项 units (责任单位文件)"))
        return ()
    units = _read_units(
        folder.directory / str(units_name), folder.shown(str(units_name)), doc.language, folder.problems
    )
    if coordinator and units and coordinator not in {u.code for u in units}:
        folder.problems.append(
            doc.problem(("coordinator",), f"牵头协调单位「{coordinator}」不在 {units_name} 中")
        )
    return units


def _tasks_of(folder: _Folder, doc: YamlDoc, units: tuple[UnitSpec, ...], phases: list[PhaseSpec]) -> _Tasks:
    tasks_name = doc.data.get("tasks")
    if not tasks_name:
        folder.problems.append(doc.problem(("tasks",), "缺少必填项 tasks (分工表文件)"))
        return _Tasks()
    shown = folder.shown(str(tasks_name))
    if not units:
        return _Tasks(shown=shown)
    return _read_tasks(
        folder.directory / str(tasks_name), shown, units, phases, doc.language, folder.problems
    )


def _against_phases(
    folder: _Folder, doc: YamlDoc, phases: list[PhaseSpec], table: _Tasks
) -> tuple[TaskSpec, ...]:
    """Year-less time limits read against the program's window, the default phase of each task, and what
    does not fit the phases: a deadline outside the window (a warning at its cell), an undeclared phase,
    an exit or 交办 task not in the table."""
    start, end = min(p.start for p in phases), max(p.end for p in phases)
    tasks = []
    for task in table.tasks:
        limit = task.limit.in_window(start) if task.limit else None
        phase = task.phase or default_phase(phases, replace(task, limit=limit))
        tasks.append(replace(task, limit=limit, phase=phase))
    kinds = {p.kind for p in phases}
    for task in tasks:
        if task.phase not in kinds:
            folder.problems.append(
                Problem(
                    table.shown,
                    task.row,
                    None,
                    text(doc.language, "plan.task_phase_missing", code=task.code, phase=task.phase),
                )
            )
        due = task.limit.due if task.limit else None
        if due is not None and task.parent is None and not start <= due <= end:
            key, bound = ("plan.due_before_window", start) if due < start else ("plan.due_after_window", end)
            folder.problems.append(
                Problem(
                    table.shown,
                    task.row,
                    table.due_column,
                    text(
                        doc.language,
                        key,
                        code=task.code,
                        text=task.time_limit_text,
                        due=due,
                        start=start,
                        end=end,
                    ),
                    "warning",
                )
            )
    check_phase_tasks(doc, phases, tuple(tasks), folder.problems)
    return tuple(tasks)


def _check_calendar(folder: _Folder, phases: list[PhaseSpec], tasks: tuple[TaskSpec, ...]) -> None:
    calendar_years = {p.start.year for p in phases} | {p.end.year for p in phases}
    calendar_years |= {t.limit.due.year for t in tasks if t.limit and t.limit.due}
    uncovered = WorkCalendar.uncovered_years(range(min(calendar_years), max(calendar_years) + 1))
    if uncovered:
        names = "、".join(str(y) for y in uncovered)
        folder.problems.append(
            Problem(
                folder.shown("program.yaml"),
                None,
                None,
                f"法定节假日数据不含 {names} 年：这些年份按周一至周五计算工作日，"
                "请在 calendar.extra_holidays / extra_workdays 中补充当年的节假日安排",
                "warning",
            )
        )


def _required_text(doc: YamlDoc, data: dict, key: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if value is None or not str(value).strip():
        problems.append(doc.problem((key,), f"缺少必填项 {key}"))
        return None
    return str(value).strip()


def _read_units(path: Path, shown: str, language: str, problems: list[Problem]) -> tuple[UnitSpec, ...]:
    doc = load_yaml(path, shown, problems)
    if doc is None:
        return ()
    doc.language = language
    if not isinstance(doc.data, list):
        problems.append(doc.problem((), "units.yaml 应为单位列表"))
        return ()
    units, seen = [], {}
    for index, item in enumerate(doc.data):
        unit = _read_unit(doc, index, item, seen, problems)
        if unit is not None:
            units.append(unit)
    codes = {u.code for u in units}
    for index, unit in enumerate(units):
        for member in unit.members:
            if member not in codes:
                problems.append(
                    doc.problem(
                        (index, "members"), f"集合单位「{unit.code}」的成员「{member}」不在单位列表中"
                    )
                )
        if unit.members and collectives.rule_problem(unit):
            problems.append(
                doc.problem(
                    (index, "done_when"),
                    text(language, "plan.done_when", unit=unit.code, value=unit.done_when),
                )
            )
        if not unit.notify and not unit.members:
            problems.append(
                doc.problem(
                    (index, "id"), f"单位「{unit.name}」没有通知地址 notify：其通知只进入发件箱", "warning"
                )
            )
    return tuple(units)


def _read_unit(doc: YamlDoc, index: int, item: Any, seen: dict, problems: list[Problem]) -> UnitSpec | None:
    if not isinstance(item, dict):
        problems.append(doc.problem((index,), "每个单位应为包含 id 与 name 的映射"))
        return None
    code = str(item.get("id", "")).strip()
    name = str(item.get("name", "") or "").strip()
    if not SLUG.match(code):
        problems.append(
            doc.problem((index, "id"), f"单位编号「{code}」只能包含小写字母、数字和连字符 [a-z0-9-]")
        )
        return None
    if code in seen:
        problems.append(doc.problem((index, "id"), f"单位编号「{code}」重复（第 {seen[code]} 行已定义）"))
        return None
    seen[code] = doc.marks.get((index,), (None,))[0]
    if not name:
        problems.append(doc.problem((index, "name"), f"单位「{code}」缺少名称 name"))
        return None
    if why := name_problem(name):
        problems.append(doc.problem((index, "name"), f"单位「{code}」的名称{why}"))
        return None
    notify = string_list(doc, (index, "notify"), item.get("notify"), problems)
    leader_notify = string_list(doc, (index, "leader_notify"), item.get("leader_notify"), problems)
    for i, url in enumerate(notify + leader_notify):
        if "://" not in url and not SECRET_URL.match(url):
            problems.append(
                doc.problem(
                    (index, "notify", i),
                    f"单位「{code}」的通知地址「{url[:20]}…」不是 apprise URL (scheme://…)",
                )
            )
    return UnitSpec(
        code=code,
        name=name,
        aliases=string_list(doc, (index, "aliases"), item.get("aliases"), problems),
        notify=notify,
        leader_notify=leader_notify,
        members=string_list(doc, (index, "members"), item.get("members"), problems),
        done_when=str(item.get("done_when", "all")).strip().lower(),
        jointly=item.get("jointly") is True,
    )


def _read_tasks(
    path: Path,
    shown: str,
    units: tuple[UnitSpec, ...],
    phases: list[PhaseSpec],
    language: str,
    problems: list[Problem],
) -> _Tasks:
    try:
        table = read_table(path, shown)
    except TableError as exc:
        problems.append(Problem(shown, exc.row, exc.column, str(exc)))
        return _Tasks(shown=shown)
    problems += _how_read(table, shown)
    columns = _columns(table, shown, problems)
    if columns is None:
        return _Tasks(shown=shown)
    rows = _Rows(
        shown,
        columns,
        UnitDirectory((u.code, u.name, u.aliases) for u in units),
        task_phase_lookup(phases),
        language,
        problems,
    )
    tasks, seen_codes = [], {}
    for row in table.rows:
        task = rows.read(row, seen_codes)
        if task is not None:
            tasks.append(task)
    if not tasks and not any(p.severity == "error" for p in problems):
        # Whatever the warnings: an empty table would retire every task of a program on re-import.
        problems.append(Problem(shown, 2, None, "分工表没有任务行"))
    expanded, taken = collectives.expand(units, tuple(tasks))
    for clash in taken:
        problems.append(
            Problem(
                shown,
                clash.task.row,
                columns["code"].column,
                text(
                    language,
                    "plan.share_taken",
                    code=clash.task.code,
                    unit=clash.collective,
                    share=clash.share,
                ),
            )
        )
    due = columns.get("due")
    return _Tasks(expanded, shown, due.column if due else None)


def _how_read(table: Table, shown: str) -> list[Problem]:
    """Warnings on how the table was read: the hidden sheets skipped, a CSV read as GBK."""
    notes = []
    if table.skipped:
        skipped = "」「".join(table.skipped)
        notes.append(
            Problem(
                shown, None, None, f"跳过隐藏的工作表「{skipped}」，读取工作表「{table.sheet}」", "warning"
            )
        )
    if table.encoding and table.encoding != "UTF-8":
        notes.append(Problem(shown, None, None, f"按 {table.encoding}（GBK）编码读取", "warning"))
    return notes


def _columns(table: Table, shown: str, problems: list[Problem]) -> dict[str, Cell] | None:
    """Header → field; None (with the problems said) when a required column is missing."""
    columns: dict[str, Cell] = {}
    for header in table.header:
        header_text = str(header.value or "").strip()
        for field_name, names in HEADERS.items():
            if (header_text in names or header_text.lower() in names) and field_name not in columns:
                columns[field_name] = header
    missing = []
    if "code" not in columns:
        missing.append("序号 (编号, code)")
    if "title" not in columns:
        missing.append("工作举措 (主要举措, 任务内容, 具体任务, title)")
    if "lead" not in columns and "units" not in columns:
        missing.append("牵头单位 或 责任单位 (lead / units)")
    for name in missing:
        problems.append(Problem(shown, 1, None, f"缺少必需的列「{name}」"))
    return None if missing else columns


@dataclass
class _Rows:
    """Reads the 分工表's rows into tasks, one at a time."""

    shown: str
    columns: dict[str, Cell]
    directory: UnitDirectory
    phase_lookup: dict[str, str]
    language: str
    problems: list[Problem]

    def cell(self, row: list[Cell], field_name: str) -> Cell | None:
        header = self.columns.get(field_name)
        return row[header.column_index] if header else None

    def read(self, row: list[Cell], seen_codes: dict) -> TaskSpec | None:
        code_cell = self.cell(row, "code")
        code = _cell_text(code_cell)
        if not code:
            self.problems.append(_at(self.shown, code_cell, "任务编号为空"))
            return None
        if code in seen_codes:
            self.problems.append(
                _at(self.shown, code_cell, f"任务编号「{code}」重复（第 {seen_codes[code]} 行已使用）")
            )
            return None
        seen_codes[code] = code_cell.row
        title_cell = self.cell(row, "title")
        title = _cell_text(title_cell, one_line=False)
        if not title:
            self.problems.append(_at(self.shown, title_cell, f"任务 {code} 的工作举措为空"))
        lead, co = self.units(row, code)
        limit_text, limit = self.time_limit(self.cell(row, "due"))
        return TaskSpec(
            code=code,
            title=title or "",
            lead=lead,
            co=co,
            area=_cell_text(self.cell(row, "area"), one_line=False) or None,
            time_limit_text=limit_text,
            limit=limit,
            # Line breaks separate the evidence items (db/acceptance.checklist): kept.
            evidence=_cell_text(self.cell(row, "evidence"), one_line=False) or None,
            phase=self.phase(self.cell(row, "phase")),
            row=code_cell.row,
        )

    def units(self, row: list[Cell], code: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(lead, co): from 牵头单位 and 配合单位, or from 责任单位 (the first listed leads)."""
        has_lead = "lead" in self.columns
        lead_cell = self.cell(row, "lead" if has_lead else "units")
        lead_names = split_unit_list(lead_cell.value)
        co_cell = self.cell(row, "co" if has_lead else "units")
        co_names = split_unit_list(co_cell.value) if has_lead and co_cell is not None else lead_names[1:]
        if not has_lead:
            lead_names = lead_names[:1]
        lead = _match_units(self.directory, lead_names, self.shown, lead_cell, self.problems)
        co = _match_units(self.directory, co_names, self.shown, co_cell, self.problems)
        if not lead_names:
            self.problems.append(_at(self.shown, lead_cell, f"任务 {code} 没有牵头单位"))
        return lead, tuple(u for u in dict.fromkeys(co) if u not in lead)

    def time_limit(self, due_cell: Cell | None):
        if due_cell is None or not _present(due_cell.value):
            return None, None
        value = due_cell.value
        limit_text = (
            value.strftime("%Y-%m-%d") if isinstance(value, (date, datetime)) else _cell_text(due_cell)
        )
        try:
            return limit_text, parse_time_limit(value)
        except TimeLimitError as exc:
            self.problems.append(_at(self.shown, due_cell, str(exc)))
            return limit_text, None

    def phase(self, phase_cell: Cell | None) -> str:
        """The phase the row names, or '' for the plan's default (schedule.plan_folder.phases)."""
        if phase_cell is None or not _present(phase_cell.value):
            return ""
        phase_text = _cell_text(phase_cell)
        kind = self.phase_lookup.get(phase_text.strip().lower())
        if kind is None:
            choices = "、".join(dict.fromkeys(self.phase_lookup.values()))
            self.problems.append(
                _at(
                    self.shown,
                    phase_cell,
                    text(self.language, "plan.task_phase", text=phase_text, choices=choices),
                )
            )
            return ""
        return kind


def _match_units(
    directory: UnitDirectory, names: list[str], shown: str, cell: Cell | None, problems: list[Problem]
) -> tuple[str, ...]:
    codes = []
    for name in names:
        try:
            codes.append(directory.match(name))
        except UnknownUnitError as exc:
            problems.append(_at(shown, cell, str(exc)))
    return tuple(dict.fromkeys(codes))


def _present(value: Any) -> bool:
    return (
        value is not None and not (isinstance(value, float) and value != value) and str(value).strip() != ""
    )


def _cell_text(cell: Cell | None, one_line: bool = True) -> str:
    if cell is None or not _present(cell.value):
        return ""
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # Control characters never enter; a code, a time limit or a phase is one line, a measure may keep its
    # breaks.
    return clean_text(value, one_line=one_line)


def _at(shown: str, cell: Cell | None, message: str) -> Problem:
    return Problem(shown, cell.row if cell else None, cell.column if cell else None, message)
