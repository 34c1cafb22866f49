"""the hours report's people from rollups (issue 20)

union_member_change / union_member_month / union_member_total: members per union at the end of any month,
appended by triggers on membership and folded by the scheduler (classroom/unions/history.py). hours_year.ends_at, .member (kept
by triggers on membership too) and .shared, and hours_union_year: per union and year, the minutes, the people
with hours, those past the annual target and those of them who are no members at the year's end
(courses/hours/rollups.py). All are built here from the existing rows, before the partial index.

Revision ID: e2b7c4d9a1f6
Revises: c5f0a7d2e914
Create Date: 2026-12-07 19:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from classroom.database import UTCDateTime
from classroom.unions import history
from courses.hours import rollups

# revision identifiers, used by Alembic.
revision = 'e2b7c4d9a1f6'
down_revision = 'c5f0a7d2e914'
branch_labels = None
depends_on = None

SHARED = sa.text("shared")


def upgrade():
    op.create_table(
        'union_member_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_union_member_change')),
    )
    op.create_index('ix_union_member_change_changed', 'union_member_change', ['changed_at'], unique=False)
    op.create_table(
        'union_member_month',
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('union_id', 'month', name=op.f('pk_union_member_month')),
    )
    op.create_index('ix_union_member_month_month', 'union_member_month', ['month'], unique=False)
    op.create_table(
        'union_member_total',
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('members', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('union_id', name=op.f('pk_union_member_total')),
    )
    op.create_table(
        'hours_union_year',
        sa.Column('union_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.SmallInteger(), nullable=False),
        sa.Column('minutes', sa.BigInteger(), nullable=False),
        sa.Column('workers', sa.Integer(), nullable=False),
        sa.Column('target', sa.Integer(), nullable=True),
        sa.Column('beyond', sa.Integer(), nullable=False),
        sa.Column('outside', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('union_id', 'year', name=op.f('pk_hours_union_year')),
    )
    with op.batch_alter_table('hours_year', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('member', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('shared', sa.Boolean(), server_default=sa.false(), nullable=False))
    connection = op.get_bind()
    years = connection.execute(sa.text("SELECT DISTINCT year FROM hours_year")).scalars().all()
    for year in years:  # the instant each year ends in the platform's zone
        connection.execute(sa.text("UPDATE hours_year SET ends_at = :ends_at WHERE year = :year").bindparams(
            sa.bindparam("ends_at", type_=UTCDateTime())), {"ends_at": rollups.year_end(year), "year": year})
    with op.batch_alter_table('hours_year', schema=None) as batch_op:
        batch_op.alter_column('ends_at', existing_type=sa.DateTime(timezone=True), nullable=False)
    session = Session(bind=connection)
    history.rebuild(session)
    rollups.rebuild(session=session)
    session.close()
    with op.batch_alter_table('hours_year', schema=None) as batch_op:
        batch_op.create_index('ix_hours_year_shared', ['year', 'union_id'], unique=False,
                              sqlite_where=SHARED, postgresql_where=SHARED)
    dialect = connection.dialect.name
    for statement in (history.PG_TRIGGERS + rollups.PG_TRIGGERS if dialect == 'postgresql'
                      else history.SQLITE_TRIGGERS + rollups.SQLITE_TRIGGERS):
        op.execute(statement)
    if dialect == 'postgresql':
        for table in ('hours_year', 'hours_union_year', 'union_member_change', 'union_member_month',
                      'union_member_total'):
            op.execute(f'ANALYZE {table}')


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in history.DROP_TRIGGERS[dialect] + rollups.DROP_TRIGGERS[dialect]:
        op.execute(statement)
    with op.batch_alter_table('hours_year', schema=None) as batch_op:
        batch_op.drop_index('ix_hours_year_shared', sqlite_where=SHARED, postgresql_where=SHARED)
        batch_op.drop_column('shared')
        batch_op.drop_column('member')
        batch_op.drop_column('ends_at')
    op.drop_table('hours_union_year')
    op.drop_table('union_member_total')
    op.drop_index('ix_union_member_month_month', table_name='union_member_month')
    op.drop_table('union_member_month')
    op.drop_index('ix_union_member_change_changed', table_name='union_member_change')
    op.drop_table('union_member_change')
