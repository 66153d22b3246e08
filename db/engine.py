"""Engine and sessions. Migrations run on first use, so a new home needs no set-up step; a database without
tables is built from the models at the heads instead.

Alembic is loaded only to migrate: whether a database is current is read from its alembic_version table and
the migration files' own revision lines, since loading Alembic costs more than SQLAlchemy itself and every
command opens the database."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from db import readonly  # noqa: F401 -- registers the hook that keeps an archived program read-only

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Revisions once named by their author, renamed by their domain: a database stamped with the old name is the
# same schema, so its stamp is renamed before it is compared or upgraded.
RENAMED_REVISIONS = {"0007_e": "0007", "0008_e": "0008", "0009_f_program_end": "0009"}


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic loads only where a database is migrated

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a check and a report write concurrently; the busy timeout makes them wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses no committed transaction to a process crash, only to a power cut; it saves an
    # fsync per commit, and a check commits a few times per digest message.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A check rewrites the same notice pages several times (claimed, sending, settled): checkpointing the WAL
    # every 400 MB instead of every 4 MB copies each page back once, not once per message (a 100,000-task
    # check: about 20% less CPU); the WAL is cut back to 64 MB after each checkpoint. A 64 MB page cache
    # keeps a large program's notices in memory across a check's statements.
    cursor.execute("PRAGMA wal_autocheckpoint=100000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@cache
def head_revisions() -> frozenset[str]:
    """The heads of the migration graph, as Alembic's ScriptDirectory finds them: every revision no other
    revision names as its down_revision."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text("utf-8")).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            name = getattr(target, "id", None)
            if name == "revision":
                revisions.add(ast.literal_eval(node.value))
            elif name == "down_revision" and node.value is not None:
                down = ast.literal_eval(node.value)
                parents.update(down if isinstance(down, tuple) else (down,) if down else ())
    return frozenset(revisions - parents)


def _needs_upgrade(engine: Engine) -> bool:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return True
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return frozenset(current) != head_revisions()


# Alembic's version table, as its stamp creates it.
_ALEMBIC_VERSION = Table(
    "alembic_version", MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

_engines: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process, migrated to the newest revision on first use."""
    if url not in _engines:
        _engines[url] = _migrated_engine(url)
    return _engines[url]


def forget_engine(url: str) -> None:
    """Closes the engine of a database about to be removed (a replay's fresh home)."""
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def close_engines() -> None:
    """Closes every engine's connections, as at the end of a process: SQLite folds the WAL back into the
    database as its last connection closes."""
    while _engines:
        _engines.popitem()[1].dispose()


def forget_engines() -> None:
    """After a fork: the child opens its own connections and leaves the parent's alone."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


def _migrated_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # INSERT … WITH … SELECT, not WITH … INSERT … SELECT (SQLite reads both): pysqlite counts the rows an
        # INSERT inserted only when the statement starts with INSERT, and a claim counts its kinds by them.
        engine.dialect.cte_follows_insert = True
    if _needs_upgrade(engine):
        with engine.begin() as connection:
            if inspect(connection).get_table_names():
                _upgrade(connection, url)
            else:
                _create_at_head(connection)
    return engine


def _upgrade(connection, url: str) -> None:
    from alembic import command  # Alembic loads only where a database is migrated

    _rename_stamps(connection)
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _create_at_head(connection) -> None:
    """A database without tables is built from the models and stamped at the heads, as Alembic's own recipe
    for a database built from scratch does (create_all, then stamp head): 0.07 s of CPU instead of 0.33 s for
    running every migration, paid by every new home (each replay, each `duban demo`). The stamp is written
    here, not by Alembic, which would cost more to load than the migrations it saves. tests/db/
    test_migrations.py holds the two ways to the same schema, column by column and index by index."""
    from db.models import Base

    Base.metadata.create_all(connection)
    _ALEMBIC_VERSION.create(connection)
    connection.execute(_ALEMBIC_VERSION.insert(), [{"version_num": head} for head in head_revisions()])


def _rename_stamps(connection) -> None:
    if not inspect(connection).has_table("alembic_version"):
        return
    connection.execute(text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                       [{"old": old, "new": new} for old, new in RENAMED_REVISIONS.items()])


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)
