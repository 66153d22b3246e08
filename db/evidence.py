"""The evidence store: files a unit reports, kept by content under the home.

A file is stored at `evidence/sha256/<first two hex>/<sha256>/<name>` under DUBAN_HOME and recorded by that
path relative to the home, so a moved or restored home still finds it. Two units' files with one name never
meet (their content differs, so their folders do), a file is never overwritten by another content, and storing
the same file twice stores it once. The file keeps its (sanitised) original name inside its folder, because
the acceptance package matches 成果形式 items by file name.

Two ways in: a report from the command line `stage`s its files (hashed, nothing written) and `commit_files`
copies them only once the report is accepted (the caller's transaction then commits; a failed copy rolls it
back); an upload from the portal arrives as bytes and is `store`d. Paths recorded before this store existed
are absolute and resolved as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePath

from schedule import text

STORE = Path("evidence") / "sha256"
# Characters Windows and zip readers refuse in a file name, and path separators of either kind.
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {
    "CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 120


def safe_name(name: str) -> str:
    """A file name valid on Windows, Linux and in a zip: no reserved device names, control or separator
    characters, at most 120 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE_NAME.sub("_", name).strip(" .") or "file"
    stem, dot, suffix = name.partition(".")
    if stem.upper() in _RESERVED:
        name = f"_{name}"
    if len(name) > MAX_NAME:
        keep = suffix[-20:] if dot else ""
        name = name[: MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return name


@dataclass(frozen=True)
class Staged:
    source: Path
    sha256: str
    relative: str  # the path recorded in the report, relative to the home


def _relative(digest: str, original_name: str) -> str:
    return (STORE / digest[:2] / digest / safe_name(original_name)).as_posix()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def stage(files: list[Path]) -> list[Staged]:
    """Hash the files (nothing is written): what a report will record."""
    return [
        Staged(Path(path), digest := _digest(Path(path)), _relative(digest, Path(path).name))
        for path in files
    ]


def _write_once(target: Path, sha256: str, write, language: str | None = None) -> None:
    """Write `target` through a temporary file in its folder, unless the same content is there already."""
    if target.is_file() and _digest(target) == sha256:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    os.close(handle)
    try:
        write(temporary)
        if _digest(Path(temporary)) != sha256:
            raise OSError(text(language, "evidence.changed_while_copied", name=target.name))
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def commit_files(home: Path, staged: list[Staged], language: str | None = None) -> None:
    """Copy the staged files into the store; an existing stored file (same content) is left as it is. A file
    changed since it was staged is an OSError, said in `language` (the program's)."""
    for item in staged:
        _write_once(
            home / item.relative,
            item.sha256,
            lambda temporary, item=item: shutil.copyfile(item.source, temporary),
            language,
        )


def store(home: Path, source: bytes | Path, original_name: str) -> str:
    """Store an upload's content under the home; returns its path relative to the home. A browser may send a
    whole client path as the name: only its last part is kept."""
    content = source if isinstance(source, bytes) else Path(source).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    relative = _relative(digest, PurePath(original_name.replace("\\", "/")).name)
    _write_once(Path(home) / relative, digest, lambda temporary: Path(temporary).write_bytes(content))
    return relative


def resolve(home: Path, recorded: str) -> Path:
    """Where a recorded evidence path is now: relative paths under the home, older absolute paths as they
    are."""
    path = Path(recorded)
    return path if path.is_absolute() else home / path


def display_name(recorded: str) -> str:
    return Path(recorded).name
