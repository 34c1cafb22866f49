"""class sessions carry a calendar revision: sequence and updated_at

The calendar feed gives each class its SEQUENCE and LAST-MODIFIED, so calendar apps replace an
entry when a class moves. Existing sessions start at sequence 0, last changed when created.

Revision ID: 3c507a7ce8b7
Revises: c4d2e8f1a930
Create Date: 2026-11-27 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3c507a7ce8b7'
down_revision = 'c4d2e8f1a930'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('class_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE class_session SET updated_at = created_at")
    with op.batch_alter_table('class_session', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('class_session', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('sequence')
