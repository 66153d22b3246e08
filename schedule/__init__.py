"""Pure rules, no I/O: the plan model, time limits, the working-day calendar, the reminder ladder, lights,
unit names, the plan-folder reader and the catalogue of texts. Imports nothing of ours."""

from schedule.calendar import WorkCalendar
from schedule.claims import (
    MAX_EVIDENCE_BYTES,
    REPORT_STATUSES,
    claim_refusal,
    clean_entry,
    content_refusal,
    upload_refusal,
)
from schedule.collectives import required, share_code
from schedule.i18n import LANGUAGES, Told, catalogue, labels, language_of, text, told
from schedule.ladder import (
    Rung,
    ack_slot,
    before_due_horizon,
    before_due_offset,
    bulletin_slot,
    overdue_slot,
    report_slot,
    rung,
)
from schedule.lights import LIGHTS, expected_progress, light
from schedule.model import (
    PHASE_KINDS,
    PhaseSpec,
    Policies,
    ProgramSpec,
    ReminderPolicy,
    TaskSpec,
    UnitSpec,
    is_phase_kind,
)
from schedule.plan_folder import (
    MAX_ALIASES,
    MAX_CELLS,
    MAX_CSV_BYTES,
    MAX_ROWS,
    MAX_VALUES,
    MAX_XLSX_UNPACKED,
    MAX_YAML_BYTES,
    PlanReading,
    Problem,
    TableError,
    check_workbook_size,
    read_plan,
)
from schedule.sanitize import FORMULA_PREFIXES, cell_row, cell_value, clean_optional, clean_text, name_problem
from schedule.time_limits import TimeLimit, TimeLimitError, expand_recurrence, parse_time_limit
from schedule.unit_names import AmbiguousUnitError, UnitDirectory, UnknownUnitError, fold, split_unit_list

__all__ = [
    "MAX_EVIDENCE_BYTES", "REPORT_STATUSES", "ack_slot", "claim_refusal", "clean_entry", "content_refusal",
    "upload_refusal",
    "MAX_ALIASES", "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_VALUES", "MAX_XLSX_UNPACKED",
    "MAX_YAML_BYTES", "TableError", "check_workbook_size", "FORMULA_PREFIXES", "cell_row", "cell_value",
    "clean_optional", "clean_text", "name_problem", "catalogue", "AmbiguousUnitError", "before_due_horizon",
    "before_due_offset", "bulletin_slot", "expand_recurrence", "expected_progress", "fold", "labels",
    "language_of", "LANGUAGES", "light", "LIGHTS", "overdue_slot", "parse_time_limit", "PHASE_KINDS",
    "is_phase_kind",
    "PhaseSpec", "PlanReading", "Policies", "Problem", "ProgramSpec", "read_plan", "ReminderPolicy",
    "report_slot", "required", "Rung", "share_code",
    "rung", "split_unit_list", "TaskSpec", "text", "TimeLimit", "TimeLimitError",
    "UnitDirectory", "UnitSpec", "UnknownUnitError", "WorkCalendar", "Told", "told"]
