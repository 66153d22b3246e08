"""Before/after pictures for refusal tests: every row of every table, every file of a folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import create_engine, inspect, text


def db_snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every duban table, sorted: equal snapshots mean nothing was written."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            return {t: sorted(tuple(map(repr, row)) for row in connection.execute(text(f'SELECT * FROM "{t}'
                                                                                       '"')))
                    for t in tables}
    finally:
        engine.dispose()


def tree(root: Path) -> dict[str, str]:
    """Each file under root (relative path) with the sha256 of its content."""
    root = Path(root)
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
