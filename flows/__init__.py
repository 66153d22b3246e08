"""Prefect: the composition root (runtime), the daily check as plain steps (check), and the flows over them.

Importing `flows` imports nothing yet: the command line's reading commands stay fast. Each name loads its
module on first use (PEP 562), so `from flows import supervise_flow` works as usual and loads Prefect then.
"""

from schedule import lazy_surface

__all__ = [
    "AsOf",
    "CheckResult",
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
    "dispatch_step",
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

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
# The flows are exported as *_flow, since flows.supervise is also a module's name.
_SURFACE = {
    "check": ("AsOf", "CheckResult", "bulletin_step", "dispatch_step", "run_check"),
    "runtime": ("DAILY_CHECK_TIME", "Settings", "Wiring", "database", "load_settings", "now", "wiring"),
    "supervise": ("supervise_flow=supervise", "PHASE_FLOWS", "moment_of"),
    "decide": ("decide_flow=decide", "decision_question=question_for"),
    "bulletin": ("bulletin_flow=weekly_bulletin",),
    "definitions": ("FLOWS", "deployments", "deployment_names", "overrun_automation", "OVERRUN_AUTOMATION"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)
