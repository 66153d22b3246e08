"""Workbooks: a unit's task list (报送表), self-check forms (自查表), the acceptance index."""

from schedule import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "acceptance": ("index_workbook",),
    "selfcheck": (
        "FIRST_ROW", "META_SHEET", "form_bytes", "form_filename", "write_form", "import_forms",
        "read_form", "selfcheck_form_attachment", "write_forms",
    ),
    "tasks": ("XLSX_MIME", "unit_task_workbook"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "FIRST_ROW", "form_bytes", "form_filename", "write_form", "import_forms", "index_workbook",
    "META_SHEET", "read_form", "selfcheck_form_attachment", "unit_task_workbook", "write_forms", "XLSX_MIME",
]
