"""The evidence store: files reported with `--evidence`, kept by content under the home.

A file is stored at `evidence/sha256/<first two hex>/<sha256>/<name>` under DUBAN_HOME and recorded by that
path
relative to the home, so a moved or restored home still finds it. Two units' files with one name never meet
(their
content differs, so their folders do), a file is never overwritten by another content, and storing the same
file
twice stores it once. `stage` reads and hashes the files before anything is recorded; `commit_files` copies
them
only once the report is accepted (the caller's transaction then commits; a failed copy rolls it back). Paths
recorded before this store existed are absolute and resolved as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

STORE = Path("evidence") / "sha256"
# Characters Windows and zip readers refuse in a file name, and path separators of either kind.
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {
    "CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 120


def safe_name(name: str) -> str:
    """A file name that is valid on Windows, Linux and in a zip: no separators, no reserved device names."""
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


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def stage(files: list[Path]) -> list[Staged]:
    """Hash the files (nothing is written): what a report will record."""
    staged = []
    for path in files:
        digest = _digest(path)
        name = safe_name(Path(path).name)
        staged.append(Staged(Path(path), digest, (STORE / digest[:2] / digest / name).as_posix()))
    return staged


def commit_files(home: Path, staged: list[Staged]) -> None:
    """Copy the staged files into the store; an existing stored file (same content) is left as it is."""
    for item in staged:
        target = home / item.relative
        if target.is_file() and _digest(target) == item.sha256:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(handle)
        try:
            shutil.copyfile(item.source, temporary)
            if _digest(Path(temporary)) != item.sha256:
                raise OSError(f"{item.source}: 文件在复制过程中被修改")
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def resolve(home: Path, recorded: str) -> Path:
    """Where a recorded evidence path is now: relative paths under the home, older absolute paths as they
    are."""
    path = Path(recorded)
    return path if path.is_absolute() else home / path


def display_name(recorded: str) -> str:
    return Path(recorded).name
