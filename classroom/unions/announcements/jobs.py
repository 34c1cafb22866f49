"""Sending an announcement to a whole union: the queue's task, which owns its transactions (one per batch).

Each batch locks the announcement's row (PostgreSQL; SQLite: the write lock), reads the next members after
the row's cursor (keyset by member id, on uq_membership_one_active), notifies them with notify_many (one
notification each, the email and text copies queued in the outbox by the people's choices) and moves the
cursor and the count in the same commit. A worker killed mid-batch leaves that batch unwritten and the
cursor where it was: the retried task goes on from there. Two runs at once (RQ's retry beside an admin's
"Resume") take turns on the row's lock and each reads the other's cursor; and the notifications' dedup keys
(``union.announcement:<id>:<user id>``) make a repeat harmless in any case.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from classroom import queue
from classroom.database import begin_write, is_postgresql, utcnow
from classroom.extensions import db
from classroom.notifications.services import notify_many
from classroom.unions.announcements import services
from classroom.unions.announcements.models import AnnouncementStatus, UnionAnnouncement
from classroom.unions.models import TradeUnion

logger = logging.getLogger(__name__)
TITLE = _l("%(union)s: %(title)s")
STOPPED = _l("Sending stopped on an unexpected error. Those already reached keep their message; resume to "
             "reach the rest.")


def send_batch(announcement_id: int, *, size: int, now: datetime) -> bool:
    """Notify the next batch in one transaction; True while members may remain."""
    begin_write(db.session)
    statement = select(UnionAnnouncement).where(UnionAnnouncement.id == announcement_id) \
        .execution_options(populate_existing=True)
    if is_postgresql(db.session):
        statement = statement.with_for_update(of=UnionAnnouncement)
    announcement = db.session.scalars(statement).first()
    if announcement is None or announcement.status == AnnouncementStatus.DONE:
        db.session.rollback()
        return False
    path, union_name = db.session.execute(select(TradeUnion.path, TradeUnion.name)
                                          .where(TradeUnion.id == announcement.union_id)).one()
    if announcement.total is None:
        announcement.total, announcement.started_at = services.count_recipients(path), now
    batch = services.recipients_after(path, announcement.last_user_id, size)
    notify_many([SimpleNamespace(id=user_id, locale=locale) for user_id, locale in batch], services.KIND.name,
                f"{services.KIND.name}:{announcement.id}", TITLE, announcement.body, now=now,
                params={"union": union_name, "title": announcement.title})
    announcement.done += len(batch)
    announcement.last_user_id = batch[-1].user_id if batch else announcement.last_user_id
    announcement.status, announcement.heartbeat_at, announcement.message = AnnouncementStatus.SENDING, now, None
    more = len(batch) == size
    if not more:
        announcement.status, announcement.finished_at = AnnouncementStatus.DONE, now
        announcement.total = announcement.done
    db.session.commit()
    return more


def send(announcement_id: int) -> None:
    """The queue's task: every batch until none is left. An unexpected error rolls the batch back and is
    raised again for the queue to retry (from the cursor); once no retry is left the announcement shows as
    stopped."""
    size = current_app.config["ANNOUNCEMENT_BATCH_SIZE"]
    try:
        while send_batch(announcement_id, size=size, now=utcnow()):
            pass
    except Exception:
        logger.exception("union announcement %s failed", announcement_id)
        db.session.rollback()
        if queue.is_last_attempt():
            db.session.execute(update(UnionAnnouncement).where(UnionAnnouncement.id == announcement_id)
                               .values(status=AnnouncementStatus.FAILED, message=str(STOPPED)[:500]))
            db.session.commit()
        if not queue.is_eager():
            raise
