"""indexes for the member list's search by a common name (issue 20)

A search by a name's or mobile's first characters (a surname: "王") matches a share of the city that grows
with it. Its page walks the member list's own index newest first and keeps the rows whose person is among
the matches: the matching people's ids come from a btree on (real_name or mobile, id) in byte order
(text_pattern_ops, so LIKE 'prefix%' ranges over it), and the walk tests person and status from the
membership indexes alone (INCLUDE user_id, status). PostgreSQL only: SQLite keeps its plain indexes.

Revision ID: d4e8a1c6b2f0
Revises: f2b9c4e7a013
Create Date: 2026-12-11 09:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4e8a1c6b2f0'
down_revision = 'f2b9c4e7a013'
branch_labels = None
depends_on = None

PREFIX = ("real_name", "mobile")
LISTS = (('ix_membership_union_applied', ['union_id', 'applied_at', 'id']),
         ('ix_membership_applied', ['applied_at', 'id']))


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in PREFIX:
        op.create_index(f'ix_user_{column}_prefix', 'user', [column, 'id'],
                        postgresql_ops={column: 'text_pattern_ops'})
    for name, columns in LISTS:
        op.drop_index(name, table_name='membership')
        op.create_index(name, 'membership', columns, postgresql_include=['user_id', 'status'])


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in LISTS:
        op.drop_index(name, table_name='membership')
        op.create_index(name, 'membership', columns)
    for column in PREFIX:
        op.drop_index(f'ix_user_{column}_prefix', table_name='user')
