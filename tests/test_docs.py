"""Every command is documented in the README, and the README's test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from duban.cli import app

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


def test_the_documented_input_limits_are_the_code_s():
    from notifications.selfcheck_forms import MAX_FORM_BYTES, MAX_FORM_UNPACKED
    from schedule.planfile import MAX_YAML_BYTES
    from schedule.tables import MAX_CELLS, MAX_CSV_BYTES, MAX_ROWS, MAX_XLSX_UNPACKED
    from schedule.yamlmarks import MAX_ALIASES, MAX_VALUES

    docs = (ROOT / "docs" / "plan-format.md").read_text("utf-8")
    for limit in (MAX_YAML_BYTES, MAX_ALIASES, MAX_VALUES, MAX_CSV_BYTES, MAX_XLSX_UNPACKED, MAX_ROWS, MAX_CELLS,
                  MAX_FORM_BYTES, MAX_FORM_UNPACKED):
        assert f"{limit:,}" in docs, limit
