"""The layout holds: imports run one way (schedule ← db ← notifications ← flows ← duban), no module cycles,
function-level imports only with a comment saying why, other packages use a package's __all__ only, bench
never imports tests, and no test imports helpers from another test module."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["schedule", "db", "notifications", "flows", "duban"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}
TOP = [*LAYERS, "bench", "tests"]


def modules() -> dict[str, Path]:
    found = {}
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports(path: Path) -> list[tuple[str, list[str], int, bool]]:
    """(module, names, line, at module level) for every import of ours in the file."""
    tree = ast.parse(path.read_text("utf-8"))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [(node.module, [a.name for a in node.names])]
        elif isinstance(node, ast.Import):
            targets = [(a.name, []) for a in node.names]
        else:
            continue
        for module, names in targets:
            if module.split(".")[0] in TOP:
                found.append((module, names, node.lineno, id(node) in top_level))
    return found


def package_of(module: str) -> str:
    return module.split(".")[0]


def test_imports_run_one_way_only():
    upward = []
    for name, path in MODULES.items():
        own = package_of(name)
        for module, _names, line, _top in imports(path):
            target = package_of(module)
            if own in RANK and target in RANK and RANK[target] > RANK[own]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {module}")
            if own in LAYERS and target in ("tests", "bench"):
                upward.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {module}")
            if own == "bench" and target == "tests":
                upward.append(f"{path.relative_to(ROOT)}:{line}: bench imports {module}")
    assert upward == []


def test_function_level_imports_say_why():
    silent = []
    for path in MODULES.values():
        lines = path.read_text("utf-8").splitlines()
        for module, _names, line, top in imports(path):
            if not top and "#" not in lines[line - 1] and not lines[line - 2].strip().startswith("#"):
                silent.append(
                    f"{path.relative_to(ROOT)}:{line}: import {module} inside a function, no reason given"
                )
    assert silent == []


def resolve(module: str, names: list[str]) -> list[str]:
    """The modules an import statement loads: `from pkg import sub` loads pkg.sub when sub is a module."""
    found = [module] if module in MODULES else []
    found += [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    return found


def test_no_import_cycles():
    graph = defaultdict(set)
    for name, path in MODULES.items():
        for module, names, _line, top in imports(path):
            if top:
                graph[name].update(m for m in resolve(module, names) if m != name)
    # A package's __init__ re-exports its modules: edges into an __init__ are edges into what it names.
    state, cycles = {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):
                continue  # a package's __init__ importing its own modules
            if state.get(nxt) == "open":
                cycles.append(
                    " → ".join([*trail[trail.index(nxt) :], nxt]) if nxt in trail else f"{node} → {nxt}"
                )
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def surface(package: str) -> set[str]:
    tree = ast.parse((ROOT / package / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


@pytest.mark.parametrize("package", LAYERS)
def test_each_package_names_its_surface_and_others_use_only_that(package):
    names = surface(package)
    assert names, f"{package}/__init__.py has no __all__"
    outside = []
    for name, path in MODULES.items():
        if package_of(name) == package:
            continue
        for module, imported, line, top in imports(path):
            if package_of(module) != package or not top:
                continue  # a function-level import is a documented exception (its comment says why)
            if module != package or not set(imported) <= names:
                outside.append(f"{path.relative_to(ROOT)}:{line}: from {module} import {', '.join(imported)}")
    assert outside == []


def test_tests_import_helpers_from_support_only():
    borrowed = [f"{path.relative_to(ROOT)}:{line}: {module}"
                for name, path in MODULES.items() if name.startswith("tests.")
                for module, _names, line, _top in imports(path)
                if module.startswith("tests.") and not module.startswith("tests.support")]
    assert borrowed == []


MAX_FUNCTION_LINES = 60
# Longer functions allowed, each with its reason. Only a table of data may stay longer for good.
LONG_FUNCTIONS = {
    # TEMPORARY, while their owners rewrite these files this session: the lead removes each line when the
    # function is split (the test below fails on a line no longer needed).
    "db/acceptance.py:package_data": "temporary: engineer F rewrites db/acceptance.py",
    "db/scores.py:unit_scores": "temporary: engineer F rewrites db/scores.py",
}


def function_lengths(path: Path) -> dict[str, int]:
    """`qualified name → lines` (from `def` to its last line) of every function and method in the file."""
    lengths = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lengths[name] = child.end_lineno - child.lineno + 1
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text("utf-8")), "")
    return lengths


def test_no_function_is_over_60_lines():
    paths = [*MODULES.values(), *sorted((ROOT / "scripts").rglob("*.py"))]
    long = {
        f"{path.relative_to(ROOT)}:{name}": lines
        for path in paths
        for name, lines in function_lengths(path).items()
        if lines > MAX_FUNCTION_LINES
    }
    assert {place: lines for place, lines in long.items() if place not in LONG_FUNCTIONS} == {}
    assert sorted(set(LONG_FUNCTIONS) - set(long)) == [], "no longer long: remove from LONG_FUNCTIONS"
