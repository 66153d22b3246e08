"""The simulation: seeded units on a simulated clock, replayed into a home of their own (never a real
database)."""

from schedule import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "days": ("Simulation", "UnitModel", "simulate", "unit_table"),
    "home": ("EXAMPLE_PLANS", "Replay", "ReplayError", "fresh_home", "readable_plan", "replay"),
    "units": ("SimulatedUnits",),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "EXAMPLE_PLANS", "Replay", "ReplayError", "Simulation", "fresh_home", "readable_plan", "replay",
    "simulate", "SimulatedUnits", "UnitModel", "unit_table"]
