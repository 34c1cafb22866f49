"""a course's content version: what its page shows changes only with it (issue 20)

Raised in the same transaction as any change to the course's fields (its seat counters aside), lessons,
class sessions, instructors, announcements, its instructors' names or its host union's name
(courses/catalog/versions.py): a process keeps the course page's drawing of each version.

Revision ID: f2b9c4e7a013
Revises: e2b7c4d9a1f6
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2b9c4e7a013'
down_revision = 'e2b7c4d9a1f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade():
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('content_version')
