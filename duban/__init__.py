"""The top: the command line (duban.cli) and the simulation (duban.simulation)."""

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

__all__ = [
    "EXAMPLE_PLANS", "Replay", "ReplayError", "Simulation", "app", "fresh_home", "main", "readable_plan",
    "replay", "simulate", "simulate_units", "unit_table"]
