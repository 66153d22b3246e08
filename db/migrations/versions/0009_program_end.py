"""notices as a 督查办 writes them: digest numbers, remediation cause and measure, archived programs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'],
                            name=op.f('fk_digest_numbers_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_numbers')),
    sa.UniqueConstraint('message_id', name=op.f('uq_digest_numbers_message_id')),
    sa.UniqueConstraint('program_id', 'year', 'seq', name=op.f('uq_digest_numbers_program_id'))
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('archived_by', sa.String(length=100), nullable=True))
    with op.batch_alter_table('remediation_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('measure', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('remediation_items', schema=None) as batch_op:
        batch_op.drop_column('measure')
        batch_op.drop_column('cause')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('archived_by')
        batch_op.drop_column('archived_at')
    op.drop_table('digest_numbers')
