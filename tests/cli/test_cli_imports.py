"""The command line answers at once: `duban --help` loads none of the command modules, a command loads its own
module only, and the reading commands load no Prefect, pandas or openpyxl. Read from `python -X importtime`
(stderr) of the real `duban` entry point; no timings are asserted here (the figures are bench/cli_bench.py's).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from typer.testing import CliRunner

from duban import COMMANDS, app, load_command

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("prefect", "pandas", "openpyxl", "numpy")
COMMAND_MODULES = {f"duban.cli.{entry.module}" for entry in COMMANDS.values()}
ENTRY_POINT = "import sys; from duban.cli import main; sys.argv[0] = 'duban'; main()"


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules `duban ARGS…` imports, by `python -X importtime`; the command must succeed."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", ENTRY_POINT, *args], capture_output=True,
                         text=True, env={**os.environ, **(env or {})}, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", run.stderr, re.MULTILINE))


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_loads_no_command_module_and_no_library_of_theirs():
    modules = imported("--help")
    assert "duban.cli.main" in modules  # the parse really happened
    assert not modules & COMMAND_MODULES
    assert not roots(modules) & {*HEAVY, "sqlalchemy", "alembic", "pydantic", "jinja2", "httpx"}


@pytest.fixture(scope="module")
def program_home(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("imports") / "home"
    env = {"DUBAN_HOME": str(home), "DUBAN_NOTIFIER": "outbox"}
    runner = CliRunner(env={**env, "DUBAN_DATABASE_URL": None})
    result = runner.invoke(app, ["plan", "import", str(ROOT / "plans" / "chengdu-2023")])
    assert result.exit_code == 0, result.stderr
    return env


READING = [
    ("status chengdu-2023 --as-of 2024-03-14", "progress"),
    ("tasks chengdu-2023 --as-of 2024-03-14", "progress"),
    ("outbox chengdu-2023", "progress"),
    ("deliveries chengdu-2023", "deliveries"),
    ("extension list chengdu-2023", "phase_work"),
    ("selfcheck status chengdu-2023", "phase_work"),
    ("scores chengdu-2023 --as-of 2024-03-14", "phase_work"),
    ("remediation chengdu-2023 --as-of 2024-03-14", "remediation"),
]


@pytest.mark.parametrize(("command", "module"), READING, ids=[c.split(" chengdu")[0] for c, _m in READING])
def test_a_reading_command_loads_its_own_module_and_no_prefect_pandas_or_openpyxl(program_home, command,
                                                                                      module):
    modules = imported(*command.split(), "--json", env=program_home)
    assert not roots(modules) & set(HEAVY), sorted(m for m in modules if m.split(".")[0] in HEAVY)[:5]
    own = f"duban.cli.{module}"
    assert own in modules
    # No command loads another command's module.
    assert not modules & COMMAND_MODULES - {own}


def test_a_workbook_command_loads_openpyxl_only_when_it_runs(program_home, tmp_path):
    modules = imported("selfcheck", "forms", "chengdu-2023", "--out", str(tmp_path), env=program_home)
    assert "openpyxl" in roots(modules) and "prefect" not in roots(modules)


def first_paragraph(command: click.Command) -> str:
    return "".join((command.help or "").split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_help_line_of_each_command_is_its_own_first_paragraph(name):
    """COMMANDS repeats each command's first line so that --help loads nothing: they cannot drift apart."""
    command = load_command(name)
    assert command.name == name
    assert "".join(COMMANDS[name].help.split()) == first_paragraph(command)
    assert command.hidden == COMMANDS[name].hidden


def test_a_replay_sends_to_the_outbox_without_loading_the_real_notifier_or_httpx(program_home, tmp_path):
    """A replay (and `duban demo`) sends to the outbox alone: neither the real notifier nor httpx loads."""
    modules = imported("simulate", str(ROOT / "plans" / "county-ip-2023"), "--from", "2023-05-01", "--to",
                       "2023-05-05", "--json", env=program_home)
    assert "notifications.delivery.outbox" in modules
    assert not modules & {"notifications.delivery.apprise_notifier", "httpx"}
