"""Pure rules, no I/O: the plan model, time limits, the working-day calendar, the reminder ladder, lights,
unit names, the plan-folder reader and the catalogue of texts. Imports nothing of ours."""

from schedule.calendar import WorkCalendar
from schedule.i18n import LANGUAGES, catalogue, labels, language_of, text
from schedule.ladder import (
    Rung,
    before_due_horizon,
    before_due_offset,
    bulletin_slot,
    overdue_slot,
    report_slot,
    rung,
)
from schedule.lights import LIGHTS, expected_progress, light
from schedule.model import PHASE_KINDS, PhaseSpec, Policies, ProgramSpec, ReminderPolicy, TaskSpec, UnitSpec
from schedule.plan_folder import PlanReading, Problem, read_plan
from schedule.time_limits import TimeLimit, TimeLimitError, expand_recurrence, parse_time_limit
from schedule.unit_names import AmbiguousUnitError, UnitDirectory, UnknownUnitError, fold, split_unit_list

__all__ = [
    "catalogue",
    "AmbiguousUnitError", "before_due_horizon", "before_due_offset", "bulletin_slot", "expand_recurrence",
    "expected_progress", "fold", "labels", "language_of", "LANGUAGES", "light", "LIGHTS", "overdue_slot",
    "parse_time_limit", "PHASE_KINDS", "PhaseSpec", "PlanReading", "Policies", "Problem", "ProgramSpec",
    "read_plan", "ReminderPolicy", "report_slot", "Rung", "rung", "split_unit_list", "TaskSpec", "text",
    "TimeLimit", "TimeLimitError", "UnitDirectory", "UnitSpec", "UnknownUnitError", "WorkCalendar"]
