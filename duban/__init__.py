"""The top: the command line (duban.cli), the units' portal (duban.portal) and the simulation
(duban.simulation).

`create_app` and `run_flow` load on first use (PEP 562 `__getattr__`): the portal brings fastapi, a flow run
Prefect, and the reading commands stay fast without either."""

from importlib import import_module

from duban.cli import app, main
from duban.simulation import (
    EXAMPLE_PLANS,
    Replay,
    ReplayError,
    Simulation,
    fresh_home,
    readable_plan,
    replay,
    simulate,
    simulate_units,
    unit_table,
)

_LAZY = {"create_app": ("duban.portal.app", "create_app"), "run_flow": ("duban.cli.support", "run_flow")}

__all__ = [
    "create_app",
    "run_flow",
    "EXAMPLE_PLANS",
    "Replay",
    "ReplayError",
    "Simulation",
    "app",
    "fresh_home",
    "main",
    "readable_plan",
    "replay",
    "simulate",
    "simulate_units",
    "unit_table",
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'duban' has no attribute {name!r}")
