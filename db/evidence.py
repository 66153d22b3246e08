"""Evidence files stored under the home by content hash: `evidence/sha256/ab/abcdef…/<safe name>`.

The directory is the file's SHA-256, so the same bytes are stored once however often they are sent, and a
stored file is never overwritten by different content; the file keeps its (sanitised) original name inside
it, because the acceptance package matches 成果形式 items by file name. `store` returns the path relative to
the home.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path, PurePath

_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


def safe_name(original: str) -> str:
    """A file name safe on any file system and in any page: no directories, control or reserved characters,
    no leading dots or dashes, at most 120 characters (the extension kept)."""
    name = PurePath(str(original).replace("\\", "/")).name
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip(" .-_") or "file"
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[:110].strip(' .') or 'file'}.{suffix.lower()}"
    return name[:120]


def store(home: Path, source: bytes | Path, original_name: str) -> str:
    """Stores the content under the home and returns its path relative to the home."""
    content = source if isinstance(source, bytes) else Path(source).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    relative = Path("evidence") / "sha256" / digest[:2] / digest / safe_name(original_name)
    target = Path(home) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(content)
        partial.replace(target)
    return relative.as_posix()
