"""The rules a unit's report must satisfy, whichever way it arrives (portal, returned 报送表, command line).
Pure: callers pass what they know of the task and the unit."""

from __future__ import annotations

from pathlib import PurePath

from schedule.sanitize import clean_text

REPORT_STATUSES = ("not_started", "in_progress", "done")

# Evidence uploads: these types only, each at most this big (the portal's and the importer's limit).
EVIDENCE_TYPES = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".zip"}
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


def claim_refusal(status: str, is_lead: bool, evidence_spec: str | None, evidence: list[str],
                  english: bool = False) -> str | None:
    """Why a report cannot be recorded as it stands, or None. Only the lead unit claims a task done
    (申请办结);
    co-units report their part. A claim needs evidence when the task names a 成果形式."""
    if status != "done":
        return None
    if not is_lead:
        return (
            "only the lead unit may claim the task done; a co-unit reports its part as in progress"
            if english
            else "只有牵头单位可以申请办结；配合单位请报送本单位承担部分的进展（推进中）"
        )
    if evidence_spec and evidence_spec.strip() and not evidence:
        return (f"a done claim needs evidence: the task asks for {evidence_spec.strip()}" if english
                else f"申请办结须附佐证材料：本任务的成果形式为「{evidence_spec.strip()}」")
    return None


def upload_refusal(
    name: str, size: int, english: bool = False, limit: int = MAX_EVIDENCE_BYTES
) -> str | None:
    """Why an uploaded file is refused (type or size), or None."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in EVIDENCE_TYPES:
        kinds = "pdf, doc/docx, xls/xlsx, jpg/png, zip"
        return (f"{name}: file type {suffix or '(none)'} is not accepted ({kinds})" if english
                else f"{name}：不接受 {suffix or '无扩展名'} 类型的文件（可上传 {kinds}）")
    if size > limit:
        return (f"{name}: {size / 1048576:.1f} MB is over the {limit // 1048576} MB limit" if english
                else f"{name}：{size / 1048576:.1f} MB，超过单个文件 {limit // 1048576} MB 的上限")
    if size == 0:
        return f"{name}: the file is empty" if english else f"{name}：文件为空"
    return None


# The first bytes each accepted type starts with: a renamed executable is refused whatever its name says.
_MAGIC = {".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
          ".zip": (b"PK\x03\x04", b"PK\x05\x06"), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",),
          ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",)}


def content_refusal(name: str, head: bytes, english: bool = False) -> str | None:
    """Why a file's first bytes do not match its type, or None."""
    suffix = PurePath(name).suffix.lower()
    if any(head.startswith(magic) for magic in _MAGIC.get(suffix, ())):
        return None
    return (f"{name}: the content is not a {suffix} file" if english
            else f"{name}：文件内容与 {suffix} 类型不符")


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
