"""The top: the command line (duban.cli), the units' portal (duban.portal) and the simulation
(duban.simulation).

Every name loads its module on first use (PEP 562, schedule.surface): the portal brings fastapi, a flow run
Prefect, and the command line's reading commands stay fast without either."""

from schedule import lazy_surface

_SURFACE = {
    "cli": ("app", "main"),
    "cli.main": ("COMMANDS", "load_command"),
    "cli.support": ("run_flow",),
    "portal.app": ("create_app",),
    "simulation": (
        "EXAMPLE_PLANS", "Replay", "ReplayError", "Simulation", "fresh_home", "readable_plan", "replay",
        "simulate", "SimulatedUnits", "UnitModel", "unit_table",
    ),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "COMMANDS",
    "load_command",
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
    "SimulatedUnits",
    "UnitModel",
    "unit_table",
]
