"""The migrations build exactly the schema the models describe, and go down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from db import Base, alembic_config, get_engine, head_revisions, import_program, load_program, record_report
from flows import Settings, Wiring
from schedule import read_plan
from tests.support.factories import write_plan
from tests.support.schema import schema
from tests.support.snapshots import db_snapshot


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "head")
    with create_engine(url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_new_database_is_built_from_the_models_as_the_migrations_build_it(tmp_path):
    """A database without tables is created from the models and stamped at the heads (db.engine), faster than
    running every migration: the same tables, columns, defaults, keys and indexes, and Alembic finds it at
    the head with nothing left to run."""
    migrated, created = f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'created.db'}"
    command.upgrade(alembic_config(migrated), "head")
    get_engine(created)
    assert schema(created) == schema(migrated)
    with create_engine(created).connect() as connection:
        assert set(MigrationContext.configure(connection).get_current_heads()) == set(head_revisions())
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_downgrade_to_nothing_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert set(create_engine(url).connect().exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type='table'").scalars()) <= {"alembic_version"}
    command.upgrade(config, "head")


def test_upgrading_to_0004_keeps_every_report_notice_and_event(tmp_path):
    """0004 adds columns in place: nothing recorded under 0003 is lost (a table copy would cascade
    deletes)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    wired = Wiring(Settings(home=tmp_path, database_url=url))
    with wired.transaction() as session:  # built at head, with data ...
        import_program(
            session, read_plan(write_plan(tmp_path)).program, datetime(2023, 2, 1, tzinfo=ZoneInfo("UTC"))
        )
    with wired.transaction() as session:
        record_report(session, load_program(session, "demo-city"), "A1", "msa", "in_progress", 40, "进展",
                      ["evidence/x.pdf"], datetime(2023, 5, 5, tzinfo=ZoneInfo("UTC")))
    command.downgrade(config, "0003")  # ... taken back to 0003, then up again
    before = db_snapshot(url)
    command.upgrade(config, "head")
    after = db_snapshot(url)
    assert {t: len(rows) for t, rows in after.items() if t in before} == {
        t: len(rows) for t, rows in before.items()
    }
    assert before["progress_reports"] and before["events"]
    with create_engine(url).connect() as connection:
        assert connection.execute(
            text("SELECT count(*) FROM task_instances WHERE retired_on IS NULL")
        ).scalar() == len(before["task_instances"])


def test_the_head_read_without_alembic_is_alembics():
    """Every command checks the database is current without loading Alembic (db.engine): the same answer."""
    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_a_database_stamped_with_a_revisions_old_name_opens_and_upgrades(tmp_path):
    """0007–0009 were once named by their author (0007_e, 0008_e, 0009_f_program_end): a home made then
    opens under today's names and reaches the head."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'stamped.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0009")
    with create_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0009_f_program_end'"))
    engine = get_engine(url)
    with engine.connect() as connection:
        assert set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()) == set(
            head_revisions())
