"""lapsed memberships superseded by an active one are transferred

A lapsed membership stayed "lapsed" when its person later became an active member elsewhere, which
kept them in the old union's scope. Approving a membership now closes an earlier lapsed one as
transferred; this does the same for the rows approved before.

Revision ID: c4d2e8f1a930
Revises: a7bb41c1c364
Create Date: 2026-11-26 16:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d2e8f1a930'
down_revision = 'a7bb41c1c364'
branch_labels = None
depends_on = None


def upgrade():
    # Superseded: the person is an active member now, or a later membership started after this
    # one ended (joined elsewhere, then lapsed there too).
    op.execute(
        "UPDATE membership SET status = 'transferred' WHERE status = 'lapsed' AND EXISTS ("
        "SELECT 1 FROM membership AS later WHERE later.user_id = membership.user_id AND later.id <> membership.id "
        "AND (later.status = 'active' OR (later.started_at IS NOT NULL AND membership.ended_at IS NOT NULL "
        "AND later.started_at >= membership.ended_at)))"
    )


def downgrade():
    pass  # which transferred rows had lapsed is not recorded: the data change stays
