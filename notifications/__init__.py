"""Rendering and delivery: messages, the dispatcher, templates, workbooks, notifiers; imports db and
schedule."""

from schedule import lazy_surface

# A name loads its module on first use (PEP 562, schedule.surface): a command pays only for what it uses.
_SURFACE = {
    "acceptance": ("build_package", "index_workbook", "render_report"),
    "delivery": (
        "DEFAULT_LIMITS", "REDACTOR", "DingTalkChannel", "EmailChannel", "InvalidChannel", "Limit",
        "RateLimiter", "SecretResolver", "SecretUnavailable", "block_name", "channel_kind", "crashpoints",
        "dingtalk_sign", "feishu_sign", "fit_bytes", "inflight", "ledger", "list_deliveries",
        "load_prefect_secret", "mask_url", "parse_channel", "pointer_for",
    ),
    # Each notifier from its own module: the outbox (all a replay sends to) loads neither httpx nor the
    # channels, which the names above would.
    "delivery.outbox": ("OutboxNotifier",),
    "delivery.apprise_notifier": ("AppriseNotifier",),
    "dispatch": ("DispatchResult", "dispatch"),
    "message": ("Attachment", "DeliveryResult", "Message", "Notifier", "Recipient"),
    "render": ("FORMATS", "DigestItem", "bulletin_data", "environment", "render_bulletin", "render_digest"),
    "render.bulletin": ("LISTED_IN_MESSAGES", "bulletin_workbook"),
    "render.digest": ("MAX_ITEMS_PER_SECTION", "SECTION_KINDS", "Letterhead"),
    "render.lines": ("period_label",),
    "render.environment": ("TEMPLATES", "markdown_escape"),
    "workbooks": (
        "FIRST_ROW", "META_SHEET", "XLSX_MIME", "form_bytes", "form_filename", "write_form",
        "import_forms", "read_form", "selfcheck_form_attachment", "unit_task_workbook", "write_forms",
    ),
    "workbooks.report_forms": ("read_report_form",),
    "workbooks.selfcheck": ("MAX_FORM_BYTES", "MAX_FORM_UNPACKED"),
}
__getattr__, __dir__ = lazy_surface(__name__, _SURFACE)

__all__ = [
    "Letterhead", "period_label",
    "crashpoints", "inflight", "MAX_ITEMS_PER_SECTION", "SECTION_KINDS", "read_report_form",
    "index_workbook",
    "bulletin_workbook", "LISTED_IN_MESSAGES",
    "TEMPLATES", "markdown_escape",
    "MAX_FORM_BYTES", "MAX_FORM_UNPACKED",
    "ledger",
    "AppriseNotifier", "Attachment", "block_name", "build_package", "bulletin_data", "channel_kind",
    "DEFAULT_LIMITS", "DeliveryResult", "DigestItem", "dingtalk_sign", "DingTalkChannel", "dispatch",
    "DispatchResult", "EmailChannel", "environment", "feishu_sign", "FIRST_ROW", "fit_bytes", "form_bytes",
    "form_filename", "write_form", "FORMATS", "import_forms", "InvalidChannel", "Limit", "list_deliveries",
    "load_prefect_secret", "mask_url", "Message", "META_SHEET", "Notifier", "OutboxNotifier", "parse_channel",
    "pointer_for", "RateLimiter", "read_form", "Recipient", "REDACTOR", "render_bulletin", "render_digest",
    "render_report", "SecretResolver", "SecretUnavailable", "selfcheck_form_attachment", "unit_task_workbook",
    "write_forms", "XLSX_MIME"]
