"""The rules a unit's report must satisfy, whichever way it arrives (portal, returned 报送表, command line).
Pure: callers pass what they know of the task and the unit."""

from __future__ import annotations

from pathlib import PurePath

from schedule.i18n import text
from schedule.sanitize import clean_text

REPORT_STATUSES = ("not_started", "in_progress", "done")

# Evidence uploads: these types only, each at most this big (the portal's and the importer's limit).
EVIDENCE_TYPES = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".zip"}
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


def claim_refusal(status: str, is_lead: bool, evidence_spec: str | None, evidence: list[str],
                  language: str | None = None) -> str | None:
    """Why a report cannot be recorded as it stands, or None. Only the lead unit claims a task done
    (申请办结);
    co-units report their part. A claim needs evidence when the task names a 成果形式."""
    if status != "done":
        return None
    if not is_lead:
        return text(language, "refusal.lead_only")
    if evidence_spec and evidence_spec.strip() and not evidence:
        return text(language, "refusal.evidence_needed", spec=evidence_spec.strip())
    return None


def upload_refusal(
    name: str, size: int, language: str | None = None, limit: int = MAX_EVIDENCE_BYTES
) -> str | None:
    """Why an uploaded file is refused (type or size), or None."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in EVIDENCE_TYPES:
        return text(language, "refusal.file_type", name=name,
                    suffix=suffix or text(language, "refusal.no_suffix"),
                    kinds="pdf, doc/docx, xls/xlsx, jpg/png, zip")
    if size > limit:
        return text(language, "refusal.file_size", name=name, size=f"{size / 1048576:.1f}",
                    limit=limit // 1048576)
    if size == 0:
        return text(language, "refusal.file_empty", name=name)
    return None


# The first bytes each accepted type starts with: a renamed executable is refused whatever its name says.
_MAGIC = {".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
          ".zip": (b"PK\x03\x04", b"PK\x05\x06"), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",),
          ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",)}


def content_refusal(name: str, head: bytes, language: str | None = None) -> str | None:
    """Why a file's first bytes do not match its type, or None."""
    suffix = PurePath(name).suffix.lower()
    if any(head.startswith(magic) for magic in _MAGIC.get(suffix, ())):
        return None
    return text(language, "refusal.file_content", name=name, suffix=suffix)


def clean_entry(value, limit: int = 2000) -> str:
    """A unit's text as it enters from the portal or a returned 报送表: cleaned like every text
    (schedule.sanitize.clean_text: control characters out, line breaks kept), a whole float as an integer, a
    leading formula sign defused (a spreadsheet would run it), cut to `limit` characters."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = clean_text(value)
    if text[:1] in ("=", "+", "-", "@") and not text.lstrip("+-").replace(".", "", 1).isdigit():
        text = "'" + text
    return text[:limit]
