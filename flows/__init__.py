"""Prefect: the composition root (runtime), the daily check as plain steps (check), and the flows over them.

Importing `flows` does not import Prefect: the command line's reading commands stay fast. The flows load on
first use of their names (PEP 562 `__getattr__`), so `from flows import supervise` works as usual.
"""

from importlib import import_module

from flows.check import DAILY_CHECK_TIME, AsOf, CheckResult, Kept, bulletin_step, run_check
from flows.runtime import Settings, Wiring, database, load_settings, now, wiring

# name → (module, attribute); the flows are exported as *_flow, since flows.supervise is also a module's name.
_PREFECT = {
    "supervise_flow": ("flows.supervise", "supervise"),
    "decide_flow": ("flows.decide", "decide"),
    "decision_question": ("flows.decide", "question_for"),
    "bulletin_flow": ("flows.bulletin", "bulletin"),
    "FLOWS": ("flows.definitions", "FLOWS"),
    "deployments": ("flows.definitions", "deployments"),
    "PHASE_FLOWS": ("flows.supervise", "PHASE_FLOWS"),
    "moment_of": ("flows.supervise", "moment_of"),
    "deployment_names": ("flows.definitions", "deployment_names"),
    "overrun_automation": ("flows.definitions", "overrun_automation"),
    "OVERRUN_AUTOMATION": ("flows.definitions", "OVERRUN_AUTOMATION"),
}

__all__ = [
    "AsOf",
    "CheckResult",
    "Kept",
    "DAILY_CHECK_TIME",
    "database",
    "FLOWS",
    "PHASE_FLOWS",
    "Settings",
    "Wiring",
    "bulletin_flow",
    "bulletin_step",
    "decide_flow",
    "decision_question",
    "deployment_names",
    "deployments",
    "overrun_automation",
    "OVERRUN_AUTOMATION",
    "load_settings",
    "moment_of",
    "now",
    "run_check",
    "supervise_flow",
    "wiring",
]


def __getattr__(name: str):
    if name in _PREFECT:
        module, attribute = _PREFECT[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'flows' has no attribute {name!r}")
