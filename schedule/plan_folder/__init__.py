"""A plan folder (program.yaml, tasks.xlsx or .csv, units.yaml) read into a ProgramSpec with located problems,
within documented size limits."""

from schedule.plan_folder.reader import MAX_YAML_BYTES, PlanReading, Problem, read_plan
from schedule.plan_folder.tables import (
    MAX_CELLS,
    MAX_CSV_BYTES,
    MAX_ROWS,
    MAX_XLSX_UNPACKED,
    TableError,
    check_workbook_size,
)
from schedule.plan_folder.yamlmarks import MAX_ALIASES, MAX_VALUES

__all__ = [
    "MAX_ALIASES", "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_VALUES", "MAX_XLSX_UNPACKED",
    "MAX_YAML_BYTES", "PlanReading", "Problem", "TableError", "check_workbook_size", "read_plan"]
