"""Each package's surface loads on first use (schedule.surface): its table names exactly its __all__, every
name resolves, and a submodule never hides an exported name of the same spelling."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

PACKAGES = ["schedule", "schedule.plan_folder", "db", "notifications", "notifications.delivery",
            "notifications.render", "notifications.workbooks", "flows", "duban", "duban.simulation"]


@pytest.mark.parametrize("name", PACKAGES)
def test_the_table_names_exactly_the_surface_and_every_name_resolves(name):
    package = importlib.import_module(name)
    listed = {entry.split("=")[0] for entries in package._SURFACE.values() for entry in entries}
    own = {"lazy_surface", "load"} if name == "schedule" else set()  # the helper itself, loaded eagerly
    assert listed | own == set(package.__all__)
    for exported in package.__all__:
        assert getattr(package, exported) is not None


def test_importing_a_package_loads_none_of_its_modules():
    code = ("import sys, db, notifications, flows, duban; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('db', 'notifications', 'flows')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['db', 'flows', 'notifications']"


def test_a_submodule_of_the_same_name_does_not_hide_the_exported_function():
    code = ("import db.phases, notifications.dispatch; "
            "from db import phases; from notifications import dispatch; "
            "print(type(phases).__name__, type(dispatch).__name__)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["function", "function"]
    assert isinstance(importlib.import_module("notifications.dispatch"), ModuleType)
