"""hostile input: retired task instances, the plan's source identity, the installation's signing secret

Nothing is rewritten or dropped: two nullable columns and one new table. Existing instances stay current
(retired_on is NULL), existing programs take their source identity at their next import, and the signing
secret is generated at first use.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch "move and copy": on SQLite a copy drops the old table, and with foreign keys
# on, dropping task_instances would cascade to the reports and notices this revision exists to protect.


def upgrade() -> None:
    op.add_column("task_instances", sa.Column("retired_on", sa.Date(), nullable=True))
    op.add_column("programs", sa.Column("source_identity", sa.String(length=64), nullable=True))
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation_secrets")),
    )


def downgrade() -> None:
    op.drop_table("installation_secrets")
    op.drop_column("programs", "source_identity")  # SQLite 3.35+ drops a column in place
    op.drop_column("task_instances", "retired_on")
