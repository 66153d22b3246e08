"""The simulation: seeded units on a simulated clock, replayed into a home of their own (never a real
database)."""

from duban.simulation.days import Simulation, simulate, unit_table
from duban.simulation.home import EXAMPLE_PLANS, Replay, ReplayError, fresh_home, readable_plan, replay
from duban.simulation.units import simulate_units

__all__ = [
    "EXAMPLE_PLANS", "Replay", "ReplayError", "Simulation", "fresh_home", "readable_plan", "replay",
    "simulate", "simulate_units", "unit_table"]
