"""announcements to a whole union and queued report exports (issue 18)

union_announcement: a union admin's message to every active member of the union's subtree, sent by a
queue task in batches (its row holds the cursor and the count). report_export: a large hours-report
export built by a queue task into storage for the admin who asked.

Revision ID: c5f0a7d2e914
Revises: c5e1a7d93b20
Create Date: 2026-12-09 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5f0a7d2e914'
down_revision = 'c5e1a7d93b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'union_announcement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('last_user_id', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['author_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['union_id'], ['trade_union.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_union_announcement_union_created', 'union_announcement', ['union_id', 'created_at', 'id'])
    op.create_table(
        'report_export',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=12), nullable=False),
        sa.Column('period_kind', sa.String(length=8), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('period_label', sa.String(length=40), nullable=False),
        sa.Column('file_format', sa.String(length=4), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.Column('storage_key', sa.String(length=200), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['union_id'], ['trade_union.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_report_export_requester_created', 'report_export', ['requested_by_id', 'created_at'])


def downgrade():
    op.drop_index('ix_report_export_requester_created', table_name='report_export')
    op.drop_table('report_export')
    op.drop_index('ix_union_announcement_union_created', table_name='union_announcement')
    op.drop_table('union_announcement')
