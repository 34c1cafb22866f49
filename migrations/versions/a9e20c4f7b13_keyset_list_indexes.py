"""indexes for the admin lists' keyset pages and the name/mobile search (issue 20)

Each admin list pages by keyset on an index matching its filter and order: applications waiting (in
one union or a subtree), the course review queue (courses and revisions pending), competition entries
waiting and a competition's entry list, a course's roster, the certificates list. On PostgreSQL the
search by name or mobile uses trigram GIN indexes (pg_trgm): the extension is created when the role
may; without it the indexes are left out (searches still work, by scanning) and a warning says so.

Revision ID: a9e20c4f7b13
Revises: b7d1e2f3a4c5
Create Date: 2026-12-07 13:00:00

"""
import logging

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9e20c4f7b13'
down_revision = "b7d1e2f3a4c5"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
APPLIED = sa.text("status = 'applied'")
TRIGRAM = ("real_name", "mobile")


def upgrade():
    op.create_index('ix_membership_union_waiting', 'membership', ['union_id', 'applied_at', 'id'],
                    sqlite_where=APPLIED, postgresql_where=APPLIED)
    op.create_index('ix_membership_waiting', 'membership', ['applied_at', 'id'],
                    sqlite_where=APPLIED, postgresql_where=APPLIED)
    op.create_index('ix_course_pending', 'course', ['submitted_at', 'id'], sqlite_where=PENDING,
                    postgresql_where=PENDING)
    op.create_index('ix_course_revision_pending', 'course_revision', ['submitted_at', 'id'],
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_competition_entry_waiting', 'competition_entry', ['status', 'submitted_at', 'id'])
    op.create_index('ix_competition_entry_listing', 'competition_entry',
                    ['competition_id', 'event_id', 'nominating_union_id', 'id'])
    op.create_index('ix_enrollment_roster', 'enrollment',
                    ['course_id', 'status', sa.text('coalesce(waitlist_seq, 0)'), 'requested_at', 'id'])
    op.create_index('ix_certificate_issued_id', 'certificate', ['issued_at', 'id'])
    if op.get_bind().dialect.name == "postgresql" and _trigram_extension():
        for column in TRIGRAM:
            op.create_index(f'ix_user_{column}_trgm', 'user', [column], postgresql_using='gin',
                            postgresql_ops={column: 'gin_trgm_ops'})


def _trigram_extension() -> bool:
    """pg_trgm is there, or this role may create it."""
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        logging.getLogger("alembic").warning("pg_trgm not created (%s): name searches scan without an index",
                                             error.orig)
        return False
    return True


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM:
            op.execute(f'DROP INDEX IF EXISTS ix_user_{column}_trgm')
    for name, table in [('ix_certificate_issued_id', 'certificate'), ('ix_enrollment_roster', 'enrollment'),
                        ('ix_competition_entry_listing', 'competition_entry'),
                        ('ix_competition_entry_waiting', 'competition_entry'),
                        ('ix_course_revision_pending', 'course_revision'), ('ix_course_pending', 'course'),
                        ('ix_membership_waiting', 'membership'), ('ix_membership_union_waiting', 'membership')]:
        op.drop_index(name, table_name=table)
