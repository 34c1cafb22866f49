"""a person's elder-friendly mode (关怀模式): larger type and tap targets, remembered per person

Revision ID: a4c7e2b9f318
Revises: d3a8f51c7e62
Create Date: 2026-12-07 12:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c7e2b9f318'
down_revision = 'd3a8f51c7e62'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('care_mode', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('care_mode')
