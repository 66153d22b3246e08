"""New SQLite databases for tests as copies of one migrated once per worker.

Running the migrations on a new database takes about half a second (alembic loads every revision file); the
suite creates hundreds. tests/db/test_migrations.py runs the migrations themselves and opts out with
`@pytest.mark.migrations`."""

from __future__ import annotations

import shutil
from pathlib import Path

from db import engine as engines


def build_template(folder: Path) -> Path:
    """An empty database at the newest revision, checkpointed into its one file."""
    path = folder / "migrated.db"
    url = f"sqlite:///{path}"
    engines.get_engine(url)
    engines.forget_engine(url)  # closing the last connection folds the WAL into the file
    return path


def copying_from(template: Path, original=engines._migrated_engine):
    """`_migrated_engine` that starts a SQLite file which does not exist yet as a copy of `template`."""

    def migrated_engine(url: str):
        path = url.removeprefix("sqlite:///")
        if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).exists():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
        return original(url)

    return migrated_engine
