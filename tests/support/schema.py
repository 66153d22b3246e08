"""A database's schema as its dialect reports it, to hold two ways of building one to the same result."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect


def schema(url: str) -> dict:
    """Every table's columns (type, NULL, server default), primary key, foreign keys, unique constraints and
    indexes, read back through SQLAlchemy's inspector. Column order is left out: a migration adds a column at
    the end, a model lists it where it belongs."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {table: _table(inspector, table) for table in inspector.get_table_names()}
    finally:
        engine.dispose()


def _table(inspector, table: str) -> dict:
    def named(items: list[dict], *keys: str) -> set:
        return {tuple(repr(item.get(key)) for key in keys) for item in items}

    return {
        "columns": {column["name"]: (str(column["type"]), column["nullable"], column.get("default"))
                    for column in inspector.get_columns(table)},
        "primary_key": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
        "foreign_keys": named(inspector.get_foreign_keys(table), "constrained_columns", "referred_table",
                              "referred_columns", "options"),
        "unique": named(inspector.get_unique_constraints(table), "name", "column_names"),
        "indexes": named(inspector.get_indexes(table), "name", "column_names", "unique", "dialect_options"),
    }
