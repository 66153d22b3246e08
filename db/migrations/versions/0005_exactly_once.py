"""exactly once under faults: the (notice, channel) ledger with leases, per-channel failure clocks, the route of a
delivery row

Adds tables and nullable columns only: no existing row is changed or lost.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 18:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_notice_channels_notice_id_notices"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_channels")),
        sa.UniqueConstraint("notice_id", "route", name=op.f("uq_notice_channels_notice_id")),
    )
    with op.batch_alter_table("notice_channels", schema=None) as batch_op:
        batch_op.create_index("ix_notice_channels_program_state", ["program_id", "state"], unique=False)
        batch_op.create_index("ix_notice_channels_message", ["message_id"], unique=False)
    with op.batch_alter_table("channel_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("route")
    with op.batch_alter_table("channel_health", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
    with op.batch_alter_table("notice_channels", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_channels_message")
        batch_op.drop_index("ix_notice_channels_program_state")
    op.drop_table("notice_channels")
