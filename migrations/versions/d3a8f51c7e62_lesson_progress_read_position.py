"""lesson progress keeps how far down the lesson page the person read

"Continue studying" opens the first unfinished lesson where the person left it: the page's scroll
position, in thousandths of its height. Existing rows have none (the lesson opens at its top).

Revision ID: d3a8f51c7e62
Revises: b7e4c19a2d05
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd3a8f51c7e62'
down_revision = 'b7e4c19a2d05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_permille', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_column('read_permille')
