"""drills: daily practice (每日一练: a bank's questions a day, a person's plans and day sets) and question images

Revision ID: c5e1a7d93b20
Revises: a9e20c4f7b13
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e1a7d93b20'
down_revision = 'a9e20c4f7b13'
branch_labels = None
depends_on = None

def upgrade():
    with op.batch_alter_table('drill_bank', schema=None) as batch_op:
        batch_op.add_column(sa.Column('daily_size', sa.SmallInteger(), server_default='5', nullable=False))
    with op.batch_alter_table('drill_question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('image_alt', sa.String(length=200), server_default='', nullable=False))
    op.create_table(
        'drill_daily_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['bank_id'], ['drill_bank.id'], name=op.f('fk_drill_daily_plan_bank_id_drill_bank'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_drill_daily_plan_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_daily_plan')),
        sa.UniqueConstraint('user_id', 'bank_id', name=op.f('uq_drill_daily_plan_user_id_bank_id')),
    )
    op.create_index(op.f('ix_drill_daily_plan_bank_id'), 'drill_daily_plan', ['bank_id'], unique=False)
    op.create_table(
        'drill_daily_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('questions', sa.JSON(), nullable=False),
        sa.Column('answered', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['bank_id'], ['drill_bank.id'], name=op.f('fk_drill_daily_set_bank_id_drill_bank'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_drill_daily_set_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_daily_set')),
        sa.UniqueConstraint('user_id', 'bank_id', 'day', name=op.f('uq_drill_daily_set_user_id_bank_id_day')),
    )
    op.create_index(op.f('ix_drill_daily_set_bank_id'), 'drill_daily_set', ['bank_id'], unique=False)
    op.create_index('ix_drill_daily_set_done', 'drill_daily_set', ['user_id', 'day', 'completed_at'], unique=False)

def downgrade():
    op.drop_index('ix_drill_daily_set_done', table_name='drill_daily_set')
    op.drop_index(op.f('ix_drill_daily_set_bank_id'), table_name='drill_daily_set')
    op.drop_table('drill_daily_set')
    op.drop_index(op.f('ix_drill_daily_plan_bank_id'), table_name='drill_daily_plan')
    op.drop_table('drill_daily_plan')
    with op.batch_alter_table('drill_question_version', schema=None) as batch_op:
        batch_op.drop_column('image_alt')
        batch_op.drop_column('image_key')
    with op.batch_alter_table('drill_bank', schema=None) as batch_op:
        batch_op.drop_column('daily_size')
