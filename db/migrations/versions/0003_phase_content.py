"""phase content: self-check returns and rows, findings, remediation items, extension requests, coordinator decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _program_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f(f"fk_{table}_program_id_programs"),
                                   ondelete="CASCADE")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "selfcheck_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        _program_fk("selfcheck_returns"),
        _fk("selfcheck_returns", "unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfcheck_returns")),
        sa.UniqueConstraint("program_id", "unit_id", name=op.f("uq_selfcheck_returns_program_id")),
    )
    with op.batch_alter_table("selfcheck_returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selfcheck_returns_program_id"), ["program_id"], unique=False)

    op.create_table(
        "selfcheck_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("completion", sa.String(length=16), nullable=False),
        sa.Column("self_score", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
        _program_fk("selfcheck_rows"),
        _fk("selfcheck_rows", "return_id", "selfcheck_returns"),
        _fk("selfcheck_rows", "task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfcheck_rows")),
    )
    with op.batch_alter_table("selfcheck_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selfcheck_rows_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_selfcheck_rows_return_id"), ["return_id"], unique=False)

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _program_fk("findings"),
        _fk("findings", "unit_id", "units"),
        _fk("findings", "task_id", "tasks"),
        _fk("findings", "return_id", "selfcheck_returns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_program_unit", ["program_id", "unit_id"], unique=False)

    op.create_table(
        "remediation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("original_due", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        _program_fk("remediation_items"),
        _fk("remediation_items", "finding_id", "findings"),
        _fk("remediation_items", "unit_id", "units"),
        _fk("remediation_items", "task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_items")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_remediation_items_finding_id")),
        sa.UniqueConstraint("program_id", "code", name=op.f("uq_remediation_items_program_id")),
    )
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.create_index("ix_remediation_items_program_state_due", ["program_id", "state", "due"], unique=False)

    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("from_due", sa.Date(), nullable=False),
        sa.Column("to_due", sa.Date(), nullable=False),
        sa.Column("original_due", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        _program_fk("extension_requests"),
        _fk("extension_requests", "task_id", "tasks"),
        _fk("extension_requests", "instance_id", "task_instances"),
        _fk("extension_requests", "unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_requests")),
    )
    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.create_index("ix_extension_requests_program_state", ["program_id", "state"], unique=False)

    op.create_table(
        "coordinator_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        _program_fk("coordinator_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinator_decisions")),
    )
    with op.batch_alter_table("coordinator_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_coordinator_decisions_program_subject", ["program_id", "subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coordinator_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_coordinator_decisions_program_subject")
    op.drop_table("coordinator_decisions")
    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_extension_requests_program_state")
    op.drop_table("extension_requests")
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.drop_index("ix_remediation_items_program_state_due")
    op.drop_table("remediation_items")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_program_unit")
    op.drop_table("findings")
    with op.batch_alter_table("selfcheck_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selfcheck_rows_return_id"))
        batch_op.drop_index(batch_op.f("ix_selfcheck_rows_program_id"))
    op.drop_table("selfcheck_rows")
    with op.batch_alter_table("selfcheck_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selfcheck_returns_program_id"))
    op.drop_table("selfcheck_returns")
