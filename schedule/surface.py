"""A package's surface, loaded on first use (PEP 562).

`import db` costs nothing until a name is used, and then only that name's module: each command of the command
line pays for what it uses, not for every library the package can reach (pandas, openpyxl, Prefect)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType


def load(module: str) -> ModuleType:
    """Imports `module` as an import statement does (importlib.import_module does not: `python -X importtime`
    would not see it)."""
    __import__(module)
    return sys.modules[module]


def lazy_surface(package: str, surface: dict[str, tuple[str, ...]]) -> tuple[Callable, Callable]:
    """The package's `__getattr__` and `__dir__` over `surface`: submodule (relative, dotted) → the names
    the package gives from it. Names that are themselves submodules (`notifications.delivery.ledger`) are
    listed under the module ""; `exported=attribute` gives an attribute under another name
    (`supervise_flow=supervise`)."""
    home = {name.split("=")[0]: module for module, names in surface.items() for name in names}

    def __getattr__(name: str):
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == "":
            return load(f"{package}.{name}")
        loaded = load(f"{package}.{module}")
        values = {}
        for entry in surface[module]:
            exported, _, attribute = entry.partition("=")
            values[exported] = getattr(loaded, attribute or exported)
        vars(sys.modules[package]).update(values)
        return values[name]

    class Surface(ModuleType):
        def __setattr__(self, name: str, value) -> None:
            # Importing a submodule sets the package's attribute of its name: it must not hide the exported
            # name it shares (db.phases the module, db.phases the function from db.programs).
            if not (isinstance(value, ModuleType) and home.get(name, "") != ""):
                super().__setattr__(name, value)

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *home})

    sys.modules[package].__class__ = Surface
    return __getattr__, __dir__
