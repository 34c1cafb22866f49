"""notifications keep their facts for the email and text message

Emails and text messages are rendered when they are sent, per kind, from the facts the notification was
made with (the course, the class's time and venue …); a digest keeps its items. Rows made before have
none and are sent as before, from their title and body.

Revision ID: 5e1f0c2a9d47
Revises: 3c507a7ce8b7
Create Date: 2026-11-27 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e1f0c2a9d47'
down_revision = '3c507a7ce8b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('facts')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('facts')
