"""members per subtree and status, folded with the member counters (issue 20)

A node's figures (the city's total on its member list, its union page, the admin's home page) summed the
counters of every union in its subtree: a few thousand rows for the city of a million workers, on every
request. ``union_subtree_count`` keeps each node's subtree per status: the scheduler's fold adds each
union's deltas to every node on its path, and a move of a node takes its subtree's figures off the nodes it
left and onto the ones it joined (classroom/unions/counters.py). Built here from the folded counts, then
the deltas waiting are folded into both (the scheduler's work, done once).

Deploy with the scheduler stopped (or run ``flask unions recount`` after): a fold by the old code after this
migration would leave the subtree counts behind (``flask unions check`` lists them).

Revision ID: b5f2d8e4a917
Revises: d4e8a1c6b2f0
Create Date: 2026-12-12 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from classroom.unions import counter_checks, counters

# revision identifiers, used by Alembic.
revision = 'b5f2d8e4a917'
down_revision = 'd4e8a1c6b2f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'union_subtree_count',
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('members', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['union_id'], ['trade_union.id'],
                                name=op.f('fk_union_subtree_count_union_id_trade_union'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('union_id', 'status', name=op.f('pk_union_subtree_count')),
    )
    connection = op.get_bind()
    session = Session(bind=connection)
    counters.lock_tree(session)
    counter_checks.rebuild_subtrees(session)
    counters.fold(session)
    session.close()
    if connection.dialect.name == 'postgresql':
        for table in ('union_subtree_count', 'union_member_count', 'union_member_delta'):
            op.execute(f'ANALYZE {table}')


def downgrade():
    op.drop_table('union_subtree_count')
