"""the check knows what it already decided: check marks and the program's change count

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('claimed_on', sa.Date(), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'],
                            name=op.f('fk_check_marks_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_marks')),
    sa.UniqueConstraint('program_id', 'scope', name=op.f('uq_check_marks_program_id'))
    )
    # A plain ADD COLUMN (no table copy): nothing recorded is touched.
    op.add_column('programs', sa.Column('changes', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('changes')
    op.drop_table('check_marks')
