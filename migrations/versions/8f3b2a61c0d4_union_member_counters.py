"""members per union and status, kept by triggers; indexes for the member lists

The admin pages read how many members a subtree has from ``union_member_count`` and the deltas that
triggers on ``membership`` append in the same transaction as the rows, instead of counting a million
memberships per request (classroom/unions/counters.py holds the statements, also used by
create_all). The member lists page by keyset on (union, applied_at, id) or (applied_at, id).

Revision ID: 8f3b2a61c0d4
Revises: 5e1f0c2a9d47
Create Date: 2026-12-07 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from classroom.unions.counters import DROP_TRIGGERS, PG_TRIGGERS, RECOUNT, SQLITE_TRIGGERS

# revision identifiers, used by Alembic.
revision = '8f3b2a61c0d4'
down_revision = '5e1f0c2a9d47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'union_member_count',
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('members', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['union_id'], ['trade_union.id'], name=op.f('fk_union_member_count_union_id_trade_union'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('union_id', 'status', name=op.f('pk_union_member_count')),
    )
    op.create_table(
        'union_member_delta',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_union_member_delta')),
    )
    op.create_index('ix_union_member_delta_union', 'union_member_delta', ['union_id'], unique=False)
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index('ix_membership_union_applied', ['union_id', 'applied_at', 'id'], unique=False)
        batch_op.create_index('ix_membership_applied', ['applied_at', 'id'], unique=False)
    op.execute(RECOUNT)
    dialect = op.get_bind().dialect.name
    for statement in PG_TRIGGERS if dialect == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_applied')
        batch_op.drop_index('ix_membership_union_applied')
    op.drop_index('ix_union_member_delta_union', table_name='union_member_delta')
    op.drop_table('union_member_delta')
    op.drop_table('union_member_count')
