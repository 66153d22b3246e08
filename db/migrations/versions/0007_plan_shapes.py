"""plans as offices write them: phases' exit tasks and 交办 waits, collectives' shares and their roll-up rule

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exit_tasks', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('assign_after', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('done_when', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('done_when')
        batch_op.drop_column('parent_code')
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_column('assign_after')
        batch_op.drop_column('exit_tasks')
