"""Every command is documented in the README, and the README's test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

import schedule
from db import NOTICE_STATES, Base
from duban import app
from notifications import MAX_FORM_BYTES, MAX_FORM_UNPACKED

ROOT = Path(__file__).resolve().parents[1]


def command_paths(group, prefix=()) -> list[str]:
    paths = []
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "hidden", False):
            continue
        if hasattr(command, "commands"):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append(" ".join((*prefix, name)))
    return paths


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    commands = command_paths(typer.main.get_command(app))
    assert len(commands) >= 12
    missing = [c for c in commands if not re.search(rf"duban {re.escape(c)}\b", readme)]
    assert not missing, f"commands not in README.md: {missing}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_design_names_every_table_with_columns_that_exist():
    design = (ROOT / "docs" / "design.md").read_text("utf-8")
    described = dict(re.findall(r"^- `(\w+)\(([^)]*)\)`", design, re.M))
    tables = {name: {c.name for c in table.columns} for name, table in Base.metadata.tables.items()}
    assert set(described) == set(tables)
    for name, columns in described.items():
        named = [c.strip() for c in columns.split(",")]
        assert set(named) == tables[name], name


def test_design_names_the_notice_states_the_code_sets():
    design = (ROOT / "docs" / "design.md").read_text("utf-8")
    notices = design[design.index("- `notices("):]
    states = re.search(r"state: `([^`]*)`", notices).group(1).split(" | ")
    assert tuple(states) == NOTICE_STATES
    source = "\n".join(p.read_text("utf-8") for top in ("db", "notifications")
                       for p in (ROOT / top).rglob("*.py") if p.name != "notices.py")
    for state in states:
        assert re.search(rf"""state(?: == |=|\": )"{state}"|"{state}" if""", source), state


def test_design_says_the_clock_is_read_in_one_place():
    design = (ROOT / "docs" / "design.md").read_text("utf-8")
    assert "`flows.runtime.now(zone)` is the only reader of the wall clock" in design
    readers = [str(p.relative_to(ROOT)) for top in ("schedule", "db", "notifications", "flows", "duban")
               for p in (ROOT / top).rglob("*.py")
               if re.search(r"datetime\.now\(|date\.today\(|time\.time\(", p.read_text("utf-8"))]
    assert readers == ["flows/runtime.py"]


def test_the_documented_input_limits_are_the_code_s():
    docs = (ROOT / "docs" / "plan-format.md").read_text("utf-8")
    plan_limits = ("YAML_BYTES", "ALIASES", "VALUES", "CSV_BYTES", "XLSX_UNPACKED", "ROWS", "CELLS")
    form_limits = [MAX_FORM_BYTES, MAX_FORM_UNPACKED]
    for limit in [getattr(schedule, f"MAX_{name}") for name in plan_limits] + form_limits:
        assert f"{limit:,}" in docs, limit
