"""The migrations build exactly the schema the models describe, and go down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import db.content_models  # noqa: F401  (every model module registers its tables)
import db.delivery_models  # noqa: F401
import db.portal_models  # noqa: F401
from db.engine import alembic_config, get_engine
from db.models import Base


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = get_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_to_nothing_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert set(create_engine(url).connect().exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type='table'").scalars()) <= {"alembic_version"}
    command.upgrade(config, "head")
