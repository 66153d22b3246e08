"""A plan folder (program.yaml, tasks.xlsx or .csv, units.yaml) read into a ProgramSpec with located problems,
within documented size limits."""

from schedule.surface import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "reader": ("MAX_YAML_BYTES", "PlanReading", "Problem", "read_plan"),
    "tables": (
        "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_XLSX_UNPACKED", "TableError", "check_workbook_size",
    ),
    "yamlmarks": ("MAX_ALIASES", "MAX_VALUES"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "MAX_ALIASES", "MAX_CELLS", "MAX_CSV_BYTES", "MAX_ROWS", "MAX_VALUES", "MAX_XLSX_UNPACKED",
    "MAX_YAML_BYTES", "PlanReading", "Problem", "TableError", "check_workbook_size", "read_plan"]
