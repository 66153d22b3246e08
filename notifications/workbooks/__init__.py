"""Workbooks: a unit's task list (报送表), self-check forms (自查表), the acceptance index."""

from notifications.workbooks.acceptance import index_workbook
from notifications.workbooks.selfcheck import (
    FIRST_ROW,
    META_SHEET,
    form_bytes,
    form_filename,
    import_forms,
    read_form,
    selfcheck_form_attachment,
    write_forms,
)
from notifications.workbooks.tasks import XLSX_MIME, unit_task_workbook

__all__ = [
    "FIRST_ROW", "form_bytes", "form_filename", "import_forms", "index_workbook", "META_SHEET", "read_form",
    "selfcheck_form_attachment", "unit_task_workbook", "write_forms", "XLSX_MIME",
]
