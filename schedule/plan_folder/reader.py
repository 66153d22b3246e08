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
from schedule.i18n import language_of, told
from schedule.model import PhaseSpec, ProgramSpec, TaskSpec, UnitSpec
from schedule.plan_folder.documents import MAX_YAML_BYTES, Problem, Problems, YamlDoc, load_yaml, string_list
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
    problems: Problems = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def language(self) -> str:
        """The plan's language as far as it was read (Chinese until program.yaml says otherwise)."""
        return getattr(self.problems, "language", "zh-CN")

    @property
    def ok(self) -> bool:
        return self.program is not None and not self.errors


@dataclass
class _Folder:
    """The plan folder being read, and everything found wrong in it so far."""

    directory: Path
    problems: Problems = field(default_factory=Problems)

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
        missing = Problem(str(folder.directory), None, None, folder.problems.say("folder_missing"))
        return PlanReading(None, [missing])
    doc = load_yaml(folder.directory / "program.yaml", folder.shown("program.yaml"), folder.problems)
    if doc is None:
        return PlanReading(None, folder.problems)
    if not isinstance(doc.data, dict):
        folder.problems.append(doc.problem((), folder.problems.say("program_mapping")))
        return PlanReading(None, folder.problems)
    # From here on, told in the plan's language.
    folder.problems.language = language_of(str(doc.data.get("language") or ""))
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


def _read_head(doc: YamlDoc, problems: Problems) -> dict[str, Any]:
    """The program's id, name, coordinator, time zone and language."""
    data = doc.data
    program_id = _required_text(doc, data, "id", problems)
    if program_id and not SLUG.match(program_id):
        problems.append(doc.problem(("id",), problems.say("program_id", id=program_id)))
    name = _required_text(doc, data, "name", problems)
    if name and (why := name_problem(name, problems.language)):
        problems.append(doc.problem(("name",), problems.say("program_name", why=why)))
    coordinator = _required_text(doc, data, "coordinator", problems)
    timezone = str(data.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(doc.problem(("timezone",), problems.say("timezone", timezone=timezone)))
    language = str(data.get("language") or "zh-CN")
    if language not in ("zh-CN", "en"):
        problems.append(doc.problem(("language",), problems.say("language", language=language)))
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
        folder.problems.append(doc.problem(("units",), folder.problems.say("units_missing")))
        return ()
    units = _read_units(folder.directory / str(units_name), folder.shown(str(units_name)), folder.problems)
    if coordinator and units and coordinator not in {u.code for u in units}:
        folder.problems.append(
            doc.problem(
                ("coordinator",),
                folder.problems.say("coordinator", coordinator=coordinator, units=units_name),
            )
        )
    return units


def _tasks_of(folder: _Folder, doc: YamlDoc, units: tuple[UnitSpec, ...], phases: list[PhaseSpec]) -> _Tasks:
    tasks_name = doc.data.get("tasks")
    if not tasks_name:
        folder.problems.append(doc.problem(("tasks",), folder.problems.say("tasks_missing")))
        return _Tasks()
    shown = folder.shown(str(tasks_name))
    if not units:
        return _Tasks(shown=shown)
    return _read_tasks(folder.directory / str(tasks_name), shown, units, phases, folder.problems)


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
    say = folder.problems.say
    for task in tasks:
        if task.phase not in kinds:
            undefined = say("phase_undefined", code=task.code, phase=task.phase)
            folder.problems.append(Problem(table.shown, task.row, None, undefined))
        due = task.limit.due if task.limit else None
        if due is not None and task.parent is None and not start <= due <= end:
            key = "due_before_start" if due < start else "due_after_end"
            outside = say(key, code=task.code, text=task.time_limit_text, due=due, start=start, end=end)
            folder.problems.append(Problem(table.shown, task.row, table.due_column, outside, "warning"))
    check_phase_tasks(doc, phases, tuple(tasks), folder.problems)
    return tuple(tasks)


def _check_calendar(folder: _Folder, phases: list[PhaseSpec], tasks: tuple[TaskSpec, ...]) -> None:
    calendar_years = {p.start.year for p in phases} | {p.end.year for p in phases}
    calendar_years |= {t.limit.due.year for t in tasks if t.limit and t.limit.due}
    uncovered = WorkCalendar.uncovered_years(range(min(calendar_years), max(calendar_years) + 1))
    if uncovered:
        names = folder.problems.say("list_separator").join(str(y) for y in uncovered)
        holidays = folder.problems.say("holidays_unknown", years=names)
        folder.problems.append(Problem(folder.shown("program.yaml"), None, None, holidays, "warning"))


def _required_text(doc: YamlDoc, data: dict, key: str, problems: Problems) -> str | None:
    value = data.get(key)
    if value is None or not str(value).strip():
        problems.append(doc.problem((key,), problems.say("required", key=key)))
        return None
    return str(value).strip()


def _read_units(path: Path, shown: str, problems: Problems) -> tuple[UnitSpec, ...]:
    doc = load_yaml(path, shown, problems)
    if doc is None:
        return ()
    if not isinstance(doc.data, list):
        problems.append(doc.problem((), problems.say("units_list")))
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
                        (index, "members"), problems.say("member_unknown", id=unit.code, member=member)
                    )
                )
        if unit.members and collectives.rule_problem(unit):
            problems.append(
                doc.problem(
                    (index, "done_when"),
                    problems.say("done_when", unit=unit.code, value=unit.done_when),
                )
            )
        if not unit.notify and not unit.members:
            problems.append(doc.problem((index, "id"), problems.say("no_notify", name=unit.name), "warning"))
    return tuple(units)


def _read_unit(doc: YamlDoc, index: int, item: Any, seen: dict, problems: Problems) -> UnitSpec | None:
    if not isinstance(item, dict):
        problems.append(doc.problem((index,), problems.say("unit_mapping")))
        return None
    code = str(item.get("id", "")).strip()
    name = str(item.get("name", "") or "").strip()
    if not SLUG.match(code):
        problems.append(doc.problem((index, "id"), problems.say("unit_id", id=code)))
        return None
    if code in seen:
        problems.append(doc.problem((index, "id"), problems.say("unit_repeated", id=code, line=seen[code])))
        return None
    seen[code] = doc.marks.get((index,), (None,))[0]
    if not name:
        problems.append(doc.problem((index, "name"), problems.say("unit_unnamed", id=code)))
        return None
    if why := name_problem(name, problems.language):
        problems.append(doc.problem((index, "name"), problems.say("unit_name", id=code, why=why)))
        return None
    notify = string_list(doc, (index, "notify"), item.get("notify"), problems)
    leader_notify = string_list(doc, (index, "leader_notify"), item.get("leader_notify"), problems)
    for i, url in enumerate(notify + leader_notify):
        if "://" not in url and not SECRET_URL.match(url):
            problems.append(
                doc.problem(
                    (index, "notify", i),
                    problems.say("notify_url", id=code, url=url[:20]),
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
    problems: Problems,
) -> _Tasks:
    try:
        table = read_table(path, shown)
    except TableError as exc:
        problems.append(Problem(shown, exc.row, exc.column, told(exc, problems.language)))
        return _Tasks(shown=shown)
    problems += _how_read(table, shown, problems)
    columns = _columns(table, shown, problems)
    if columns is None:
        return _Tasks(shown=shown)
    rows = _Rows(
        shown,
        columns,
        UnitDirectory((u.code, u.name, u.aliases) for u in units),
        task_phase_lookup(phases),
        problems,
    )
    tasks, seen_codes = [], {}
    for row in table.rows:
        task = rows.read(row, seen_codes)
        if task is not None:
            tasks.append(task)
    if not tasks and not any(p.severity == "error" for p in problems):
        # Whatever the warnings: an empty table would retire every task of a program on re-import.
        problems.append(Problem(shown, 2, None, problems.say("no_tasks")))
    expanded, taken = collectives.expand(units, tuple(tasks))
    for clash in taken:
        problems.append(
            Problem(
                shown,
                clash.task.row,
                columns["code"].column,
                problems.say("share_taken", code=clash.task.code, unit=clash.collective, share=clash.share),
            )
        )
    due = columns.get("due")
    return _Tasks(expanded, shown, due.column if due else None)


def _how_read(table: Table, shown: str, problems: Problems) -> list[Problem]:
    """Warnings on how the table was read: the hidden sheets skipped, a CSV read as GBK."""
    notes = []
    if table.skipped:
        skipped = problems.say("list_separator").join(table.skipped)
        hidden = problems.say("hidden_sheets", skipped=skipped, sheet=table.sheet)
        notes.append(Problem(shown, None, None, hidden, "warning"))
    if table.encoding and table.encoding != "UTF-8":
        notes.append(Problem(shown, None, None, problems.say("read_as", encoding=table.encoding), "warning"))
    return notes


def _columns(table: Table, shown: str, problems: Problems) -> dict[str, Cell] | None:
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
        missing.append("牵头单位 / 责任单位 (lead / units)")
    for name in missing:
        problems.append(Problem(shown, 1, None, problems.say("column_missing", name=name)))
    return None if missing else columns


@dataclass
class _Rows:
    """Reads the 分工表's rows into tasks, one at a time."""

    shown: str
    columns: dict[str, Cell]
    directory: UnitDirectory
    phase_lookup: dict[str, str]
    problems: Problems

    def cell(self, row: list[Cell], field_name: str) -> Cell | None:
        header = self.columns.get(field_name)
        return row[header.column_index] if header else None

    def read(self, row: list[Cell], seen_codes: dict) -> TaskSpec | None:
        code_cell = self.cell(row, "code")
        code = _cell_text(code_cell)
        if not code:
            self.problems.append(_at(self.shown, code_cell, self.problems.say("code_empty")))
            return None
        if code in seen_codes:
            self.problems.append(
                _at(
                    self.shown, code_cell, self.problems.say("code_repeated", code=code, row=seen_codes[code])
                )
            )
            return None
        seen_codes[code] = code_cell.row
        title_cell = self.cell(row, "title")
        title = _cell_text(title_cell, one_line=False)
        if not title:
            self.problems.append(_at(self.shown, title_cell, self.problems.say("title_empty", code=code)))
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
            self.problems.append(_at(self.shown, lead_cell, self.problems.say("no_lead", code=code)))
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
            self.problems.append(_at(self.shown, due_cell, told(exc, self.problems.language)))
            return limit_text, None

    def phase(self, phase_cell: Cell | None) -> str:
        """The phase the row names, or '' for the plan's default (schedule.plan_folder.phases)."""
        if phase_cell is None or not _present(phase_cell.value) or not self.phase_lookup:
            return ""  # no phases were read: program.yaml's problem, said there
        phase_text = _cell_text(phase_cell)
        kind = self.phase_lookup.get(phase_text.strip().lower())
        if kind is None:
            choices = self.problems.say("list_separator").join(dict.fromkeys(self.phase_lookup.values()))
            self.problems.append(
                _at(
                    self.shown,
                    phase_cell,
                    self.problems.say("phase_name", phase=phase_text, names=choices),
                )
            )
            return ""
        return kind


def _match_units(
    directory: UnitDirectory, names: list[str], shown: str, cell: Cell | None, problems: Problems
) -> tuple[str, ...]:
    codes = []
    for name in names:
        try:
            codes.append(directory.match(name))
        except UnknownUnitError as exc:
            problems.append(_at(shown, cell, told(exc, problems.language)))
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
