"""New SQLite databases for tests as copies of one migrated once per worker.

Running the migrations on a new database takes about half a second (alembic loads every revision file); the
suite creates hundreds. tests/db/test_migrations.py runs the migrations themselves and opts out with
`@pytest.mark.migrations`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from db import forget_engine, get_engine


def build_template(folder: Path) -> Path:
    """An empty database at the newest revision, checkpointed into its one file."""
    path = folder / "migrated.db"
    url = f"sqlite:///{path}"
    get_engine(url)
    forget_engine(url)  # closing the last connection folds the WAL into the file
    return path


def start_new_databases_from(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the test ends, a SQLite file that `get_engine` opens and that does not exist yet starts as a copy
    of `template`."""
    from db import engine  # the step replaced here is inside db, not part of its surface: test set-up only

    original = engine._migrated_engine

    def migrated_engine(url: str):
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).exists():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
        return original(url)

    monkeypatch.setattr(engine, "_migrated_engine", migrated_engine)
