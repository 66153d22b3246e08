"""Pure rules, no I/O: the plan model, time limits, the working-day calendar, the reminder ladder, lights,
unit names, the plan-folder reader and the catalogue of texts. Imports nothing of ours."""

from schedule.surface import lazy_surface, load

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "calendar": ("WorkCalendar", "shared_calendar"),
    "claims": (
        "MAX_EVIDENCE_BYTES", "REPORT_STATUSES", "claim_refusal", "clean_entry", "content_refusal",
        "upload_refusal",
    ),
    "collectives": ("required", "share_code"),
    "i18n": ("LANGUAGES", "Told", "catalogue", "labels", "language_of", "text", "told"),
    "ladder": (
        "Rung", "ack_slot", "before_due_horizon", "before_due_offset", "bulletin_slot", "overdue_slot",
        "report_slot", "rung",
    ),
    "lights": ("LIGHTS", "expected_progress", "light"),
    "model": (
        "GATE_CONDITIONS", "PHASE_KINDS", "PhaseSpec", "Policies", "ProgramSpec", "ReminderPolicy",
        "TaskSpec", "UnitSpec", "is_phase_kind",
    ),
    "plan_folder": (
        "MAX_ALIASES", "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_VALUES", "MAX_XLSX_UNPACKED",
        "MAX_YAML_BYTES", "PlanReading", "Problem", "TableError", "check_workbook_size", "read_plan",
    ),
    "sanitize": (
        "FORMULA_PREFIXES", "cell_row", "cell_value", "clean_optional", "clean_text", "name_problem",
    ),
    "time_limits": ("TimeLimit", "TimeLimitError", "expand_recurrence", "parse_time_limit"),
    "unit_names": ("AmbiguousUnitError", "UnitDirectory", "UnknownUnitError", "fold", "split_unit_list"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "lazy_surface", "load",
    "MAX_EVIDENCE_BYTES", "REPORT_STATUSES", "ack_slot", "claim_refusal", "clean_entry", "content_refusal",
    "upload_refusal",
    "MAX_ALIASES", "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_VALUES", "MAX_XLSX_UNPACKED",
    "MAX_YAML_BYTES", "TableError", "check_workbook_size", "FORMULA_PREFIXES", "cell_row", "cell_value",
    "clean_optional", "clean_text", "name_problem", "catalogue", "AmbiguousUnitError", "before_due_horizon",
    "before_due_offset", "bulletin_slot", "expand_recurrence", "expected_progress", "fold", "labels",
    "language_of", "LANGUAGES", "light", "LIGHTS", "overdue_slot", "parse_time_limit", "PHASE_KINDS",
    "is_phase_kind", "GATE_CONDITIONS",
    "PhaseSpec", "PlanReading", "Policies", "Problem", "ProgramSpec", "read_plan", "ReminderPolicy",
    "report_slot", "required", "Rung", "share_code",
    "rung", "split_unit_list", "TaskSpec", "text", "TimeLimit", "TimeLimitError",
    "UnitDirectory", "UnitSpec", "UnknownUnitError", "WorkCalendar", "shared_calendar", "Told", "told"]
