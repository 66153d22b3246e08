"""the units' side: unit links, 签收, done claims and their review, portal accounts, keys, failures, submissions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:12:04
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_failures'))
    )
    with op.batch_alter_table('portal_failures', schema=None) as batch_op:
        batch_op.create_index('ix_portal_failures_address_at', ['address', 'at'], unique=False)

    op.create_table('portal_keys',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_portal_keys'))
    )
    op.create_table('portal_submissions',
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('form_id', name=op.f('pk_portal_submissions'))
    )
    op.create_table('portal_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_portal_users_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_users')),
    sa.UniqueConstraint('program_id', 'name', name=op.f('uq_portal_users_program_id'))
    )
    op.create_table('assignment_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acked_on', sa.Date(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_assignment_acks_program_id_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_assignment_acks_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assignment_acks_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_acks')),
    sa.UniqueConstraint('task_id', 'unit_id', name=op.f('uq_assignment_acks_task_id'))
    )
    with op.batch_alter_table('assignment_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_acks_program_id'), ['program_id'], unique=False)

    op.create_table('unit_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_unit_links_program_id_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_links_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_unit_links_token_hash'))
    )
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.create_index('ix_unit_links_program_unit', ['program_id', 'unit_id'], unique=False)

    op.create_table('done_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('previous_progress', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['task_instances.id'], name=op.f('fk_done_claims_instance_id_task_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_done_claims_program_id_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['progress_reports.id'], name=op.f('fk_done_claims_report_id_progress_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_done_claims_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_done_claims_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_done_claims'))
    )
    with op.batch_alter_table('done_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_done_claims_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_done_claims_program_state', ['program_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('done_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_done_claims_program_state')
        batch_op.drop_index(batch_op.f('ix_done_claims_instance_id'))

    op.drop_table('done_claims')
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_links_program_unit')

    op.drop_table('unit_links')
    with op.batch_alter_table('assignment_acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_acks_program_id'))

    op.drop_table('assignment_acks')
    op.drop_table('portal_users')
    op.drop_table('portal_submissions')
    op.drop_table('portal_keys')
    with op.batch_alter_table('portal_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_failures_address_at')

    op.drop_table('portal_failures')
