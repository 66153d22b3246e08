"""program.yaml's phases: the plan's own, the demonstration-zone preset, or none (one phase over the window).

A phase is a kind (its key: one of the preset kinds, which bring their content, or any identifier the plan
chooses, such as `annual`), a display name and a window. `exit_tasks` name the tasks the phase cannot close
without; `assign_after` names the tasks whose completion the 交办 of the phase's tasks waits for.
"""

from __future__ import annotations

from typing import Any

from schedule.i18n import text
from schedule.model import GATE_CONDITIONS, PHASE_KINDS, WHOLE_PHASE, PhaseSpec, TaskSpec, is_phase_kind
from schedule.plan_folder.documents import Problems, YamlDoc, as_date
from schedule.sanitize import clean_text

MAX_PHASES = 12
TASK_LISTS = ("exit_tasks", "assign_after")


def read_phases(doc: YamlDoc, data: dict, problems: Problems) -> list[PhaseSpec]:
    raw = data.get("phases")
    if raw is None or raw == []:
        return _whole_window(doc, data, problems)
    if not isinstance(raw, list):
        problems.append(doc.problem(("phases",), problems.say("phases_list")))
        return []
    if len(raw) > MAX_PHASES:
        problems.append(
            doc.problem(("phases",), problems.say("phases_many", limit=MAX_PHASES, count=len(raw)))
        )
    phases: list[PhaseSpec] = []
    for index, item in enumerate(raw):
        phase = _read_phase(doc, ("phases", index), item, phases, problems)
        if phase is not None:
            phases.append(phase)
    return phases


def _whole_window(doc: YamlDoc, data: dict, problems: Problems) -> list[PhaseSpec]:
    if data.get("start") is None or data.get("end") is None:
        problems.append(doc.problem(("phases",), problems.say("window_missing")))
        return []
    start = as_date(doc, ("start",), data["start"], problems, "start")
    end = as_date(doc, ("end",), data["end"], problems, "end")
    if start is None or end is None:
        return []
    if end < start:
        problems.append(doc.problem(("end",), problems.say("window_reversed", start=start, end=end)))
        return []
    return [PhaseSpec(WHOLE_PHASE, text(problems.language, f"phase.{WHOLE_PHASE}"), start, end)]


def _read_phase(
    doc: YamlDoc, path: tuple, item: Any, before: list[PhaseSpec], problems: Problems
) -> PhaseSpec | None:
    language = problems.language
    if not isinstance(item, dict):
        problems.append(doc.problem(path, problems.say("phase_mapping")))
        return None
    kind = str(item.get("kind", "")).strip()
    if not is_phase_kind(kind):
        problems.append(
            doc.problem((*path, "kind"), problems.say("phase_kind", kind=kind, kinds=" | ".join(PHASE_KINDS)))
        )
        return None
    if any(p.kind == kind for p in before):
        problems.append(doc.problem((*path, "kind"), problems.say("phase_repeat", kind=kind)))
        return None
    presets = [p.kind for p in before if p.preset]
    if kind in PHASE_KINDS and presets and PHASE_KINDS.index(presets[-1]) > PHASE_KINDS.index(kind):
        problems.append(
            doc.problem(
                (*path, "kind"), problems.say("phase_order", kind=kind, kinds=" → ".join(PHASE_KINDS))
            )
        )
        return None
    start = as_date(doc, (*path, "start"), item.get("start"), problems, "start")
    end = as_date(doc, (*path, "end"), item.get("end"), problems, "end")
    if start is None or end is None:
        return None
    if end < start:
        problems.append(
            doc.problem((*path, "end"), problems.say("phase_ends_early", kind=kind, start=start, end=end))
        )
        return None
    name = item.get("name") or _default_name(language, kind)
    lists = {key: _codes(doc, (*path, key), item.get(key), problems) for key in TASK_LISTS}
    gate = _gate(doc, (*path, "gate"), item.get("gate"), problems)
    return PhaseSpec(kind, clean_text(name, one_line=True), start, end, **lists, gate=gate)


def _default_name(language: str, kind: str) -> str:
    try:
        return text(language, f"phase.{kind}")
    except KeyError:
        return kind  # a phase of the plan's own, unnamed: its key is its name


def _codes(doc: YamlDoc, path: tuple, value: Any, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, (str, int)) else value
    if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
        problems.append(doc.problem(path, problems.say("task_list", field=path[-1])))
        return ()
    return tuple(dict.fromkeys(clean_text(str(v), one_line=True) for v in values))


def _gate(doc: YamlDoc, path: tuple, value: Any, problems: Problems) -> dict:
    """The phase's own gate conditions: `min_done` (a share, 90% or 90), `no_red` and `forms_returned`
    (true or false). An unknown key or a value out of range is an error at its place."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(doc.problem(path, problems.say("gate_mapping", keys=", ".join(GATE_CONDITIONS))))
        return {}
    gate: dict = {}
    for key, raw in value.items():
        if key not in GATE_CONDITIONS:
            problems.append(doc.problem(
                (*path, key), problems.say("gate_key", condition=key, keys=", ".join(GATE_CONDITIONS))))
        elif key == "min_done":
            if (share := _share(raw)) is None:
                problems.append(doc.problem((*path, key), problems.say("gate_share", value=raw)))
            else:
                gate[key] = share
        elif not isinstance(raw, bool):
            problems.append(doc.problem((*path, key), problems.say("gate_flag", condition=key, value=raw)))
        elif raw:
            gate[key] = True
    return gate


def _share(raw: Any) -> int | None:
    """`90%` or `90` → 90; anything not a whole percentage in 1–100 → None."""
    if isinstance(raw, bool):
        return None
    written = str(raw).strip().removesuffix("%").strip()
    if not written.isdigit():
        return None
    share = int(written)
    return share if 1 <= share <= 100 else None


def check_phase_tasks(
    doc: YamlDoc, phases: list[PhaseSpec], tasks: tuple[TaskSpec, ...], problems: Problems
) -> None:
    """Every task an exit_tasks or assign_after list names is in the table (a member's share stands for
    its collective's task only through that task's own code)."""
    codes = {t.code for t in tasks}
    for index, phase in enumerate(phases):
        for key in TASK_LISTS:
            for code in getattr(phase, key):
                if code not in codes:
                    problems.append(
                        doc.problem(
                            ("phases", index, key),
                            problems.say("task_unknown", kind=phase.kind, field=key, code=code),
                        )
                    )


def task_phase_lookup(phases: list[PhaseSpec]) -> dict[str, str]:
    """What a 阶段 cell may say (a kind, a preset's display name in either language, a phase's own name),
    folded to lower case, → the phase's kind."""
    lookup: dict[str, str] = {}
    # A preset named but not declared is found, and then refused as undeclared (task_phase_missing).
    presets = [PhaseSpec(kind, "", phases[0].start, phases[0].end) for kind in PHASE_KINDS] if phases else []
    for phase in [*phases, *presets]:
        names = [phase.kind, phase.name]
        for language in ("zh-CN", "en"):
            names.append(_default_name(language, phase.kind))
        for name in names:
            lookup.setdefault(name.strip().lower(), phase.kind)
    return lookup


def default_phase(phases: list[PhaseSpec], task: TaskSpec) -> str:
    """A task whose row names no phase: the implementation phase if the plan has one, else the phase whose
    window holds its due date, else the plan's first phase."""
    kinds = [p.kind for p in phases]
    if "implementation" in kinds or not phases:
        return "implementation"
    due = task.limit.due if task.limit else None
    holding = [p.kind for p in phases if due and p.start <= due <= p.end]
    return holding[0] if holding else kinds[0]
