"""Statements at scale: whole-program reads (the task list, every assignment, every instance a score
counts), small reads built once and run through Core (`core`), and upserts that compile once (`upsert`).

At 100,000 tasks such a read builds hundreds of thousands of plain containers (rows, dicts, lists), and
CPython's cyclic collector scans the whole heap again each time the long-lived containers grow by a quarter:
measured, that was 40–60% of the read. Rows hold no reference cycles (reference counting frees them), so
the collector waits while they are built; cycles made elsewhere meanwhile are collected after. Such a read
streams its rows (STREAMED_ROWS at a time) rather than holding the whole result beside what it builds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import ColumnElement, Table, TextClause, bindparam, literal_column, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from db.models.marks import BRINGS_NOTHING

# Rows fetched at a time by a whole-program read that turns each row into something else: the raw result
# is never held whole beside what is built from it.
STREAMED_ROWS = 5000


@contextmanager
def bulk_read() -> Iterator[None]:
    """The cyclic collector paused for the block (left as it was if something else paused it)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def flush_pending(session: Session) -> None:
    """What the ORM would flush before its own read: a read built once on the tables (Core, far cheaper per
    call) is not autoflushed, so it must not miss the session's pending writes."""
    if session.autoflush:
        session.flush()


def core(session: Session, statement, params=None) -> CursorResult:
    """`statement` run on the session's connection, after the flush session.execute would do: rows as Core
    rows, without the ORM's own work per statement (about 0.1 ms, most of a small read's cost), for the many
    small reads and claims built once. Not for ORM entities, nor writes to the tables db.marks counts (they
    count only through the session)."""
    flush_pending(session)
    return session.connection().execute(statement, params)


@cache
def _update_by_id(table: Table, names: tuple[str, ...]):
    return table.update().where(table.c.id == bindparam("b_row_id")).values(
        {name: bindparam(name) for name in names})


def update_row(session: Session, model: type, row_id: int, program_id: str, brings_nothing: bool = False,
               **values) -> None:
    """One row's new values as one Core update on the session (built once per table and set of columns), at
    a fraction of the ORM's flush: a writer that changes one row it needs no object of. Named for its program
    (db.models.marks counts a write it watches for that program alone). The session's object of the row, if
    it holds one, takes the values as if read back: a later ORM read of it, which returns that object, sees
    them, and the flush has nothing to write again. `brings_nothing`: not counted (db.models.marks)."""
    session.execute(_update_by_id(model.__table__, tuple(values)), {"b_row_id": row_id, **values},
                    execution_options={"program": program_id, BRINGS_NOTHING: brings_nothing})
    held = session.identity_map.get(identity_key(model, row_id))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def one_of(column: ColumnElement, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the code's own constants (states, kinds) written into the SQL, compiled
    once with the statement: an IN of bound values is expanded anew on every execution."""
    names = list(values)
    if any(not name.replace("_", "").isalnum() for name in names):
        raise ValueError(f"one_of takes plain names only: {names}")
    return column.in_([literal_column(f"'{name}'") for name in names])


def upsert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...],
           replace: tuple[str, ...] = ()) -> TextClause:
    """INSERT … ON CONFLICT DO NOTHING (or DO UPDATE SET `replace`), spelled alike for SQLite and PostgreSQL.

    Built once by its caller: SQLAlchemy's dialect upserts carry no cache key, so each execution compiled
    them anew (thousands per Chengdu replay); a text statement with typed parameters is compiled once."""
    def quoted(names: tuple[str, ...]) -> str:
        return ", ".join(f'"{name}"' for name in names)

    values = ", ".join(f":{name}" for name in columns)
    on_conflict = (
        "DO UPDATE SET " + ", ".join(f'"{name}" = excluded."{name}"' for name in replace)
        if replace else "DO NOTHING"
    )
    return text(
        f"INSERT INTO {table.name} ({quoted(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({quoted(conflict)}) {on_conflict}"
    ).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))
