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


def upgrade() -> None:
    with op.batch_alter_table("task_instances") as batch:
        batch.add_column(sa.Column("retired_on", sa.Date(), nullable=True))
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("source_identity", sa.String(length=64), nullable=True))
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation_secrets")),
    )


def downgrade() -> None:
    op.drop_table("installation_secrets")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("source_identity")
    with op.batch_alter_table("task_instances") as batch:
        batch.drop_column("retired_on")
