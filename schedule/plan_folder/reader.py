"""Read a plan folder (program.yaml, units.yaml, the 分工表) into a ProgramSpec, collecting every problem.

Every problem is located as FILE:ROW:COLUMN (a spreadsheet's row and column letter, a YAML file's line and
column, or '-' where no cell applies). All problems of a plan are reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schedule.calendar import WorkCalendar
from schedule.i18n import language_of, text, told
from schedule.model import (
    PHASE_KINDS,
    PHASE_NAMES_EN,
    PHASE_NAMES_ZH,
    CalendarPolicy,
    PhaseSpec,
    Policies,
    PortalPolicy,
    ProgramSpec,
    ReminderPolicy,
    ScoringPolicy,
    TaskSpec,
    UnitSpec,
    parse_hours,
)
from schedule.plan_folder.tables import Cell, TableError, read_table
from schedule.plan_folder.yamlmarks import YamlLimitError, load_with_marks
from schedule.sanitize import clean_text, name_problem
from schedule.time_limits import TimeLimitError, parse_time_limit
from schedule.unit_names import UnitDirectory, UnknownUnitError, split_unit_list

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# program.yaml and units.yaml are a few kilobytes; a larger file is refused before it is parsed.
MAX_YAML_BYTES = 1_000_000
# A notify URL given whole by a secret: ${DINGTALK_URL} (expanded at send time, like ${VAR} inside a URL).
SECRET_URL = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")

# Header → field; matched after trimming, case-insensitive for the English forms.
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("序号", "编号", "code"), "area": ("重点任务", "任务类别", "体系", "area"),
    "title": ("工作举措", "主要举措", "任务内容", "具体任务", "title"), "lead": ("牵头单位", "lead"),
    "co": ("配合单位", "协办单位", "co"), "units": ("责任单位", "units"),
    "due": ("完成时限", "时间节点", "完成时间", "due"),
    "evidence": ("成果形式", "预期成果", "佐证材料", "evidence"), "phase": ("阶段", "phase")}


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | str | None
    column: int | str | None
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        row = self.row if self.row is not None else "-"
        column = self.column if self.column is not None else "-"
        return f"{self.file}:{row}:{column}: {self.message}"

    def to_json(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message,
                "severity": self.severity}


class Problems(list):
    """The problems of one reading, told in the plan's language once program.yaml has said which."""

    language = "zh-CN"

    def say(self, key: str, **values: Any) -> str:
        return text(self.language, f"plan.{key}", **values)


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
    def language(self) -> str:
        """The plan's language as far as it was read (Chinese until program.yaml says otherwise)."""
        return getattr(self.problems, "language", "zh-CN")

    @property
    def ok(self) -> bool:
        return self.program is not None and not self.errors


class _Yaml:
    """A loaded YAML file that can say where a value stands."""

    def __init__(self, shown: str, data: Any, marks: dict) -> None:
        self.shown, self.data, self.marks = shown, data, marks

    def problem(self, path: tuple, message: str, severity: str = "error") -> Problem:
        while path and path not in self.marks:
            path = path[:-1]
        line, column = self.marks.get(path, (None, None))
        return Problem(self.shown, line, column, message, severity)


def _load_yaml(path: Path, shown: str, problems: list[Problem]) -> _Yaml | None:
    if not path.is_file():
        problems.append(Problem(shown, None, None, problems.say("file_missing")))
        return None
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        too_large = problems.say("file_too_large", size=f"{size:,}", limit=f"{MAX_YAML_BYTES:,}")
        problems.append(Problem(shown, None, None, too_large))
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        guess = problems.say("looks_gbk") if _decodes_as_gb18030(raw) else ""
        problems.append(Problem(shown, line, column, problems.say("not_utf8", guess=guess)))
        return None
    if not text.strip():
        problems.append(Problem(shown, None, None, problems.say("file_empty")))
        return None
    try:
        data, marks = load_with_marks(text)
    except YamlLimitError as exc:
        problems.append(Problem(shown, exc.line, exc.column, told(exc, problems.language)))
        return None
    except Exception as exc:  # yaml.YAMLError and its marks
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problems.append(Problem(shown, line, column,
                                    problems.say("yaml_error", problem=getattr(exc, "problem", exc))))
        return None
    return _Yaml(shown, data, marks)


def _decodes_as_gb18030(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _as_date(doc: _Yaml, path: tuple, value: Any, problems: list[Problem], what: str) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(doc.problem(path, problems.say("bad_date", what=problems.say(what), value=value)))
        return None


def read_plan(directory: str | Path) -> PlanReading:
    directory = Path(directory)
    problems = Problems()

    def shown(name: str | Path) -> str:
        return str(directory / name)

    if not directory.is_dir():
        return PlanReading(None, [Problem(str(directory), None, None, problems.say("folder_missing"))])
    program_doc = _load_yaml(directory / "program.yaml", shown("program.yaml"), problems)
    if program_doc is None:
        return PlanReading(None, problems)
    if not isinstance(program_doc.data, dict):
        problems.append(program_doc.problem((), problems.say("program_mapping")))
        return PlanReading(None, problems)
    data = program_doc.data
    problems.language = language_of(str(data.get("language") or ""))  # from here on, told in the plan's

    program_id = _required_text(program_doc, data, "id", problems)
    if program_id and not SLUG.match(program_id):
        problems.append(
            program_doc.problem(("id",), problems.say("program_id", id=program_id))
        )
    name = _required_text(program_doc, data, "name", problems)
    if name and (why := name_problem(name, problems.language)):
        problems.append(program_doc.problem(("name",), problems.say("program_name", why=why)))
    coordinator = _required_text(program_doc, data, "coordinator", problems)
    timezone = str(data.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(program_doc.problem(("timezone",), problems.say("timezone", timezone=timezone)))
    language = str(data.get("language") or "zh-CN")
    if language not in ("zh-CN", "en"):
        problems.append(program_doc.problem(("language",), problems.say("language", language=language)))

    phases = _read_phases(program_doc, data.get("phases"), language, problems)
    policies = _read_policies(program_doc, data, problems)

    units: tuple[UnitSpec, ...] = ()
    units_name = data.get("units")
    if not units_name:
        problems.append(program_doc.problem(("units",), problems.say("units_missing")))
    else:
        units = _read_units(directory / str(units_name), shown(str(units_name)), problems)
    if coordinator and units and coordinator not in {u.code for u in units}:
        problems.append(
            program_doc.problem(("coordinator",),
                                problems.say("coordinator", coordinator=coordinator, units=units_name))
        )

    tasks: tuple[TaskSpec, ...] = ()
    tasks_name = data.get("tasks")
    if not tasks_name:
        problems.append(program_doc.problem(("tasks",), problems.say("tasks_missing")))
    elif units:
        tasks = _read_tasks(
            directory / str(tasks_name), shown(str(tasks_name)), units, phases, language, problems
        )

    if phases:
        calendar_years = {p.start.year for p in phases} | {p.end.year for p in phases}
        calendar_years |= {t.limit.due.year for t in tasks if t.limit and t.limit.due}
        years = range(min(calendar_years), max(calendar_years) + 1)
        uncovered = WorkCalendar.uncovered_years(years)
        if uncovered:
            names = problems.say("list_separator").join(str(y) for y in uncovered)
            problems.append(Problem(shown("program.yaml"), None, None,
                                    problems.say("holidays_unknown", years=names), "warning"))
        for task in tasks:
            phase = next((p for p in phases if p.kind == task.phase), None)
            if phase is None:
                problems.append(Problem(shown(str(tasks_name)), task.row, None,
                                        problems.say("phase_undefined", code=task.code, phase=task.phase)))
        _deadlines_outside(shown(str(tasks_name)), tasks, phases, problems)

    if problems and any(p.severity == "error" for p in problems):
        return PlanReading(None, problems)
    program = ProgramSpec(
        id=program_id, name=name, coordinator=coordinator, phases=tuple(phases), units=units, tasks=tasks,
        timezone=timezone, language=language, policies=policies, source_dir=str(directory.resolve()),
    )
    return PlanReading(program, problems)


def _deadlines_outside(shown: str, tasks: tuple[TaskSpec, ...], phases: list, problems: Problems) -> None:
    """A due date before the program starts is an error (it could never be met); after it ends, a warning."""
    start, end = min(p.start for p in phases), max(p.end for p in phases)
    for task in tasks:
        due = task.limit.due if task.limit else None
        if due is None:
            continue
        if due < start:
            problems.append(Problem(shown, task.row, None,
                                    problems.say("due_before_start", code=task.code, due=due, start=start)))
        elif due > end:
            late = problems.say("due_after_end", code=task.code, due=due, end=end)
            problems.append(Problem(shown, task.row, None, late, "warning"))


def _required_text(doc: _Yaml, data: dict, key: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if value is None or not str(value).strip():
        problems.append(doc.problem((key,), problems.say("required", key=key)))
        return None
    return str(value).strip()


def _read_phases(doc: _Yaml, raw: Any, language: str, problems: list[Problem]) -> list:
    if not isinstance(raw, list) or not raw:
        problems.append(doc.problem(("phases",), problems.say("phases_list")))
        return []
    if len(raw) > 5:
        problems.append(doc.problem(("phases",), problems.say("phases_many", count=len(raw))))
    names = PHASE_NAMES_EN if language == "en" else PHASE_NAMES_ZH
    phases, last_order = [], -1
    for index, item in enumerate(raw):
        path = ("phases", index)
        if not isinstance(item, dict):
            problems.append(doc.problem(path, problems.say("phase_mapping")))
            continue
        kind = str(item.get("kind", "")).strip()
        if kind not in PHASE_KINDS:
            problems.append(doc.problem((*path, "kind"),
                                        problems.say("phase_kind", kind=kind, kinds=" | ".join(PHASE_KINDS))))
            continue
        order = PHASE_KINDS.index(kind)
        if order <= last_order:
            problems.append(
                doc.problem(
                    (*path, "kind"),
                    problems.say("phase_order", kind=kind, kinds=" → ".join(PHASE_KINDS)),
                )
            )
            continue
        last_order = order
        start = _as_date(doc, (*path, "start"), item.get("start"), problems, "start")
        end = _as_date(doc, (*path, "end"), item.get("end"), problems, "end")
        if start is None or end is None:
            continue
        if end < start:
            problems.append(
                doc.problem((*path, "end"), problems.say("phase_ends_early", kind=kind, end=end, start=start))
            )
            continue
        phases.append(PhaseSpec(kind, clean_text(item.get("name") or names[kind], one_line=True), start, end))
    return phases


def _read_policies(doc: _Yaml, data: dict, problems: list[Problem]) -> Policies:
    reminders = _section(doc, data, "reminders", problems)
    defaults = ReminderPolicy()
    offsets = reminders.get("before_due_workdays", list(defaults.before_due_workdays))
    if not isinstance(offsets, list) or not all(isinstance(n, int) and n > 0 for n in offsets):
        problems.append(
            doc.problem(
                ("reminders", "before_due_workdays"), problems.say("offsets")
            )
        )
        offsets = list(defaults.before_due_workdays)
    numbers = {}
    for key in ("overdue_every_workdays", "escalate_after", "report_every_workdays", "ack_within_workdays"):
        value = reminders.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(doc.problem(("reminders", key), problems.say("positive", key=key, value=value)))
            value = getattr(defaults, key)
        numbers[key] = value
    bulletin = str(reminders.get("bulletin", defaults.bulletin))
    if bulletin not in ("weekly", "monthly", "off"):
        problems.append(
            doc.problem(("reminders", "bulletin"), problems.say("bulletin", value=bulletin))
        )
        bulletin = defaults.bulletin
    reminder_policy = ReminderPolicy(tuple(sorted(set(offsets), reverse=True)), bulletin=bulletin, **numbers)

    calendar = _section(doc, data, "calendar", problems)
    policy = str(calendar.get("due_on_non_workday", "keep"))
    if policy not in ("keep", "previous", "next"):
        problems.append(
            doc.problem(
                ("calendar", "due_on_non_workday"),
                problems.say("non_workday", value=policy),
            )
        )
        policy = "keep"
    extra: dict[str, tuple[date, ...]] = {}
    for key in ("extra_holidays", "extra_workdays"):
        values = calendar.get(key) or []
        if not isinstance(values, list):
            problems.append(doc.problem(("calendar", key), problems.say("date_list", key=key)))
            values = []
        dates = (_as_date(doc, ("calendar", key, i), v, problems, "date") for i, v in enumerate(values))
        extra[key] = tuple(d for d in dates if d)
    calendar_policy = CalendarPolicy(policy, **extra)

    delivery = _section(doc, data, "delivery", problems)
    try:
        delivery_policy = parse_hours(delivery.get("hours", "08:30-18:00"))
    except ValueError as exc:
        problems.append(doc.problem(("delivery", "hours"), told(exc, problems.language)))
        delivery_policy = parse_hours("08:30-18:00")

    scoring = _section(doc, data, "scoring", problems)
    scoring_values = {}
    for key, default in vars(ScoringPolicy()).items():
        value = scoring.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(doc.problem(("scoring", key), problems.say("integer", key=key)))
            value = default
        scoring_values[key] = value
    return Policies(reminder_policy, calendar_policy, delivery_policy, ScoringPolicy(**scoring_values),
                    _read_portal(doc, data, problems))


def _read_portal(doc: _Yaml, data: dict, problems: list[Problem]) -> PortalPolicy:
    portal = _section(doc, data, "portal", problems)
    defaults = PortalPolicy()
    url = portal.get("url")
    if url is not None and not re.match(r"^https?://[^\s/]+", str(url)):
        problems.append(doc.problem(("portal", "url"), problems.say("portal_url", url=url)))
        url = None
    days = portal.get("link_days", defaults.link_days)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        problems.append(doc.problem(("portal", "link_days"),
                                    problems.say("positive", key="link_days", value=days)))
        days = defaults.link_days
    review = str(data.get("review", defaults.review))
    if review not in ("required", "none"):
        problems.append(doc.problem(("review",), problems.say("review", value=review)))
        review = defaults.review
    return PortalPolicy(str(url).rstrip("/") if url else None, review, days)


def _section(doc: _Yaml, data: dict, key: str, problems: list[Problem]) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        problems.append(doc.problem((key,), problems.say("mapping", key=key)))
        return {}
    return value


def _string_list(doc: _Yaml, path: tuple, value: Any, problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(doc.problem(path, problems.say("string_list", key=path[-1])))
        return ()
    return tuple(clean_text(v, one_line=True) for v in value if clean_text(v, one_line=True))


def _read_units(path: Path, shown: str, problems: list[Problem]) -> tuple[UnitSpec, ...]:
    doc = _load_yaml(path, shown, problems)
    if doc is None:
        return ()
    if not isinstance(doc.data, list):
        problems.append(doc.problem((), problems.say("units_list")))
        return ()
    units, seen = [], {}
    for index, item in enumerate(doc.data):
        if not isinstance(item, dict):
            problems.append(doc.problem((index,), problems.say("unit_mapping")))
            continue
        code = str(item.get("id", "")).strip()
        name = str(item.get("name", "") or "").strip()
        if not SLUG.match(code):
            problems.append(
                doc.problem((index, "id"), problems.say("unit_id", id=code))
            )
            continue
        if code in seen:
            problems.append(doc.problem((index, "id"),
                                        problems.say("unit_repeated", id=code, line=seen[code])))
            continue
        seen[code] = doc.marks.get((index,), (None,))[0]
        if not name:
            problems.append(doc.problem((index, "name"), problems.say("unit_unnamed", id=code)))
            continue
        if why := name_problem(name, problems.language):
            problems.append(doc.problem((index, "name"), problems.say("unit_name", id=code, why=why)))
            continue
        notify = _string_list(doc, (index, "notify"), item.get("notify"), problems)
        urls = notify + _string_list(doc, (index, "leader_notify"), item.get("leader_notify"), problems)
        for i, url in enumerate(urls):
            if "://" not in url and not SECRET_URL.match(url):
                problems.append(doc.problem((index, "notify", i),
                                            problems.say("notify_url", id=code, url=url[:20])))
        units.append(UnitSpec(
            code=code, name=name,
            aliases=_string_list(doc, (index, "aliases"), item.get("aliases"), problems), notify=notify,
            leader_notify=_string_list(doc, (index, "leader_notify"), item.get("leader_notify"), problems),
            members=_string_list(doc, (index, "members"), item.get("members"), problems)))
    codes = {u.code for u in units}
    for index, unit in enumerate(units):
        for member in unit.members:
            if member not in codes:
                problems.append(
                    doc.problem(
                        (index, "members"), problems.say("member_unknown", id=unit.code, member=member)
                    )
                )
        if not unit.notify and not unit.members:
            problems.append(
                doc.problem(
                    (index, "id"), problems.say("no_notify", name=unit.name), "warning"
                )
            )
    return tuple(units)


def _read_tasks(path: Path, shown: str, units: tuple[UnitSpec, ...], phases: list, language: str,
                problems: list[Problem]) -> tuple[TaskSpec, ...]:
    try:
        table = read_table(path, shown)
    except TableError as exc:
        problems.append(Problem(shown, exc.row, exc.column, told(exc, problems.language)))
        return ()
    if table.skipped:
        problems.append(Problem(shown, None, None, problems.say(
            "hidden_sheets", skipped=problems.say("list_separator").join(table.skipped), sheet=table.sheet),
            "warning"))
    if table.encoding and table.encoding != "UTF-8":
        problems.append(Problem(shown, None, None, problems.say("read_as", encoding=table.encoding),
                                "warning"))
    columns: dict[str, Cell] = {}
    for header in table.header:
        text = str(header.value or "").strip()
        for field_name, names in HEADERS.items():
            if text in names or text.lower() in names:
                if field_name not in columns:
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
    if missing:
        return ()

    directory = UnitDirectory((u.code, u.name, u.aliases) for u in units)
    phase_lookup = {k: k for k in PHASE_KINDS}
    for kind in PHASE_KINDS:
        phase_lookup[PHASE_NAMES_ZH[kind]] = kind
        phase_lookup[PHASE_NAMES_EN[kind].lower()] = kind
    for phase in phases:
        phase_lookup[phase.name] = phase.kind

    tasks, seen_codes = [], {}
    for row in table.rows:
        def cell(field_name: str, row: list[Cell] = row) -> Cell | None:
            header = columns.get(field_name)
            return row[header.column_index] if header else None

        code_cell = cell("code")
        code = _cell_text(code_cell)
        if not code:
            problems.append(_at(shown, code_cell, problems.say("code_empty")))
            continue
        if code in seen_codes:
            problems.append(
                _at(shown, code_cell, problems.say("code_repeated", code=code, row=seen_codes[code]))
            )
            continue
        seen_codes[code] = code_cell.row
        title_cell = cell("title")
        title = _cell_text(title_cell, one_line=False)
        if not title:
            problems.append(_at(shown, title_cell, problems.say("title_empty", code=code)))

        lead_cell = cell("lead") if "lead" in columns else cell("units")
        lead_names = split_unit_list(lead_cell.value)
        co_cell = cell("co") if "lead" in columns else cell("units")
        co_names = (
            split_unit_list(co_cell.value) if "lead" in columns and co_cell is not None else lead_names[1:]
        )
        if "lead" not in columns:
            lead_names = lead_names[:1]
        lead = _match_units(directory, lead_names, shown, lead_cell, problems)
        co = _match_units(directory, co_names, shown, co_cell, problems)
        if not lead_names:
            problems.append(_at(shown, lead_cell, problems.say("no_lead", code=code)))
        co = tuple(u for u in dict.fromkeys(co) if u not in lead)

        due_cell = cell("due")
        limit, limit_text = None, None
        if due_cell is not None and _present(due_cell.value):
            limit_text = (
                _cell_text(due_cell)
                if not isinstance(due_cell.value, (date, datetime))
                else due_cell.value.strftime("%Y-%m-%d")
            )
            try:
                limit = parse_time_limit(due_cell.value)
            except TimeLimitError as exc:
                problems.append(_at(shown, due_cell, told(exc, problems.language)))

        phase_cell = cell("phase")
        phase_kind = "implementation"
        if phase_cell is not None and _present(phase_cell.value):
            phase_text = _cell_text(phase_cell)
            phase_kind = phase_lookup.get(phase_text) or phase_lookup.get(phase_text.lower())
            if phase_kind is None:
                problems.append(
                    _at(
                        shown,
                        phase_cell,
                        problems.say("phase_name", phase=phase_text, names="、".join(PHASE_NAMES_ZH.values()),
                                     kinds=" | ".join(PHASE_KINDS)),
                    )
                )
                phase_kind = "implementation"
        tasks.append(
            TaskSpec(
                code=code,
                title=title or "",
                lead=lead,
                co=co,
                area=_cell_text(cell("area"), one_line=False) or None,
                time_limit_text=limit_text,
                limit=limit,
                # Line breaks separate the evidence items (db/acceptance.checklist): kept.
                evidence=_cell_text(cell("evidence"), one_line=False) or None,
                phase=phase_kind,
                row=code_cell.row,
            )
        )
    if not tasks and not any(p.severity == "error" for p in problems):
        # Whatever the warnings: an empty table would retire every task of a program on re-import.
        problems.append(Problem(shown, 2, None, problems.say("no_tasks")))
    return tuple(tasks)


def _match_units(directory: UnitDirectory, names: list[str], shown: str, cell: Cell | None,
                 problems: list[Problem]) -> tuple[str, ...]:
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

