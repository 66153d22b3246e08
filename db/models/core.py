"""SQLAlchemy 2 models: duban's database is the record of a multi-year program (Prefect's is not)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: duban stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Serial:
    """A row numbered by the database: `id`, its primary key."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)


class ProgramRow(Serial):
    """The columns every row of one program starts with: its own id and the program, deleted with it."""

    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), sort_order=-1)


class IndexedProgramRow(ProgramRow):
    """A ProgramRow whose table is read by program on its own (no composite index starts with it)."""

    program_id: Mapped[str] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True, sort_order=-1
    )


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    coordinator_unit_id: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    source_dir: Mapped[str | None] = mapped_column(Text)
    # Which plan this is (db.importer.source_identity): a different plan under the same id needs --replace.
    source_identity: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # An ended program archived by the coordinator: read-only from then on, its record kept whole.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_by: Mapped[str | None] = mapped_column(String(100))
    # Counted up by every write that can bring the check new candidates (db.marks).
    changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    phases: Mapped[list[Phase]] = relationship(order_by="Phase.seq", cascade="all, delete-orphan")


class Phase(IndexedProgramRow, Base):
    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("program_id", "kind"),)

    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    gate_reasons: Mapped[list] = mapped_column(JSON, default=list)  # why the gate did not hold
    # The server defaults are the ones migrations 0007 and 0008 gave the rows already there; a new database
    # is built from these models (db.engine) and must be the same.
    exit_tasks: Mapped[list] = mapped_column(  # task codes the phase cannot close without
        JSON, default=list, server_default="[]")
    assign_after: Mapped[list] = mapped_column(  # task codes its 交办 waits for
        JSON, default=list, server_default="[]")
    gate: Mapped[dict] = mapped_column(  # the plan's own gate conditions (program.yaml)
        JSON, default=dict, server_default="{}")


class Unit(IndexedProgramRow, Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    # URLs exactly as written in units.yaml: ${VAR} stays unexpanded in the database.
    notify: Mapped[list] = mapped_column(JSON, default=list)
    leader_notify: Mapped[list] = mapped_column(JSON, default=list)


class UnitMember(Base):
    __tablename__ = "unit_members"

    collective_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)


class Task(IndexedProgramRow, Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    phase_kind: Mapped[str] = mapped_column(String(32), default="implementation")
    time_limit_text: Mapped[str | None] = mapped_column(String(200))
    recurrence: Mapped[str | None] = mapped_column(String(16))
    evidence_spec: Mapped[str | None] = mapped_column(Text)
    source_row: Mapped[int | None] = mapped_column(Integer)
    # A member's share of a collective's task names the task (its parent); the parent keeps the rule by which
    # its shares finish it (all | any | N), and is done by the roll-up, never by a report of its own.
    parent_code: Mapped[str | None] = mapped_column(String(64))
    done_when: Mapped[str | None] = mapped_column(String(8))
    # A task dropped from the 分工表 on re-import is kept (with its history) and listed, not deleted.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TaskUnit(Base):
    __tablename__ = "task_units"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(8))  # lead | co
    position: Mapped[int] = mapped_column(Integer, default=0)


class TaskInstance(ProgramRow, Base):
    __tablename__ = "task_instances"
    __table_args__ = (
        UniqueConstraint("task_id", "seq"),
        Index("ix_task_instances_program_status_due", "program_id", "status", "due"),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[date | None] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date)
    original_due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    done_on: Mapped[date | None] = mapped_column(Date)
    last_report_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An instance the plan no longer has (a re-import changed the time limit) is retired, never deleted:
    # its reports, notices and extension requests stay attached. Rules and reads skip retired instances.
    retired_on: Mapped[date | None] = mapped_column(Date)


class ProgressReport(IndexedProgramRow, Base):
    __tablename__ = "progress_reports"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Serial, Base):
    """Append-only: what happened, to what, when, by whom."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_program_at", "program_id", "at"),)

    program_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class InstallationSecret(Base):
    """Secrets of this installation (its database), generated at first use; never printed or logged."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
