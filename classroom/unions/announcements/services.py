"""Announcements to a whole union: posting, resuming, the lists, the recipients (active members of the
union's subtree, by id) and the progress the pages show. The sending is ``jobs.send``, a queue task."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from classroom import queue
from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.registry import Kind
from classroom.unions.announcements.models import AnnouncementStatus, UnionAnnouncement
from classroom.unions.models import Membership, MembershipStatus, TradeUnion

KIND = Kind("union.announcement", _l("Announcements from your union"), email=True, sms=False)
TASK = "union_announcement.send"
NOT_STOPPED = _l("Only a stopped announcement can be resumed.")
ORDER = (UnionAnnouncement.created_at, UnionAnnouncement.id)  # newest first, on ix_union_announcement_union_created


def post(union: TradeUnion, title: str, body: str, *, actor: Any, now: datetime) -> UnionAnnouncement:
    """Record an announcement to the union's subtree (sent once the caller commits and starts it)."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title or len(title) > 200:
        raise Invalid(_l("Give the announcement a title of at most 200 characters."), field="title")
    if not body or len(body) > 5000:
        raise Invalid(_l("Write a message of at most 5,000 characters."), field="body")
    announcement = UnionAnnouncement(union_id=union.id, author_id=actor.id, title=title, body=body, created_at=now)
    db.session.add(announcement)
    db.session.flush()
    record_event(actor, "union_announcement.post", announcement, union_id=union.id, title=title)
    return announcement


def start(announcement: UnionAnnouncement) -> None:
    """Queue the sending (an eager queue sends it now)."""
    queue.enqueue(TASK, announcement.id)


def resume(announcement: UnionAnnouncement, *, actor: Any, now: datetime) -> UnionAnnouncement:
    """Put a stopped (or interrupted) announcement back in the queue; it goes on from its cursor."""
    if not (announcement.status == AnnouncementStatus.FAILED or is_interrupted(announcement, now)):
        raise Conflict(NOT_STOPPED)
    announcement.status, announcement.message, announcement.heartbeat_at = AnnouncementStatus.QUEUED, None, now
    record_event(actor, "union_announcement.resume", announcement, union_id=announcement.union_id)
    return announcement


def announcements_of(union: TradeUnion) -> Select:
    """SELECT of the union's announcements, newest first."""
    return select(UnionAnnouncement).where(UnionAnnouncement.union_id == union.id).order_by(
        UnionAnnouncement.created_at.desc(), UnionAnnouncement.id.desc())


def announcement_key(announcement: UnionAnnouncement) -> tuple:
    return announcement.created_at, announcement.id


# ---- the recipients ------------------------------------------------------------------------------------

def _audience(path: str) -> Select:
    return (select(Membership.user_id, User.locale)
            .join(User, User.id == Membership.user_id)
            .join(TradeUnion, TradeUnion.id == Membership.union_id)
            .where(Membership.status == MembershipStatus.ACTIVE, User.is_active.is_(True),
                   TradeUnion.path.startswith(path, autoescape=True)))


def recipients_after(path: str, after: int, limit: int) -> list[Any]:
    """The next ``limit`` active members of the subtree by id after ``after``: (user_id, locale) rows."""
    return list(db.session.execute(_audience(path).where(Membership.user_id > after)
                                   .order_by(Membership.user_id).limit(limit)).all())


def count_recipients(path: str) -> int:
    return db.session.scalar(_audience(path).with_only_columns(func.count()).order_by(None)) or 0


def is_interrupted(announcement: UnionAnnouncement, now: datetime) -> bool:
    """Busy in the database but no batch for a while: its worker died and no retry has taken it up yet."""
    seen = announcement.heartbeat_at or announcement.created_at
    stale = timedelta(seconds=current_app.config["ANNOUNCEMENT_STALE_SECONDS"])
    return announcement.is_busy and now - seen > stale


def progress_of(announcement: UnionAnnouncement, *, now: datetime) -> dict[str, Any]:
    """What the pages and the progress poll show (the keys import.js reads: processed, total, percent, busy)."""
    interrupted = is_interrupted(announcement, now)
    return {"status": announcement.status, "label": announcement.status_label, "processed": announcement.done,
            "total": announcement.total if announcement.total is not None else 0, "percent": announcement.percent,
            "busy": announcement.is_busy and not interrupted, "interrupted": interrupted}
