"""the JSON API: a signed-in device's push token, kept for a push gateway to come

One per device (APNs, FCM or a phone maker's service), and a token belongs to one device only.

Revision ID: b7e4c19a2d05
Revises: 62a2da86c302
Create Date: 2026-12-08 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7e4c19a2d05'
down_revision = '62a2da86c302'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_push_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=10), nullable=False),
    sa.Column('token', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['api_device.id'], name=op.f('fk_api_push_token_device_id_api_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_push_token')),
    sa.UniqueConstraint('device_id', name=op.f('uq_api_push_token_device_id')),
    sa.UniqueConstraint('token', name=op.f('uq_api_push_token_token'))
    )


def downgrade():
    op.drop_table('api_push_token')
