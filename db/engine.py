"""Engine and sessions. Migrations run on first use, so a new home needs no set-up step."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
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
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _needs_upgrade(engine: Engine, config: Config) -> bool:
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() != head


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
    config = alembic_config(url)
    if _needs_upgrade(engine, config):
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)
