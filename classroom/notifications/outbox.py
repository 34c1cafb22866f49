"""The outbox's queue: email and SMS copies of notifications, queued by set-based inserts for the people
whose preferences (or the kinds' defaults) ask for them. The dispatcher (``jobs``) sends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, case, func, literal, select

from classroom.accounts.models import User
from classroom.database import UTCDateTime, dialect_insert
from classroom.extensions import db
from classroom.notifications.kinds import default, kinds
from classroom.notifications.models import Notification, NotificationPreference, OutboundMessage, OutboundStatus

CHANNELS = ("email", "sms")
QUEUED_COLUMNS = ["user_id", "notification_id", "channel", "kind", "dedup_key", "subject", "body", "status",
                  "attempts", "next_attempt_at", "expires_at", "created_at"]


def fan_out(notifications: list[int] | Select, *, now: datetime) -> int:
    """Queue the email and SMS copies of these notifications (a SELECT of Notification ids, or a
    list of ids) for the people whose preferences (or the kind's defaults) ask for them."""
    if isinstance(notifications, list) and not notifications:
        return 0
    return sum(_queue(channel, notifications, now) for channel in CHANNELS)


def _queue(channel: str, notifications: list[int] | Select, now: datetime) -> int:
    address = User.email if channel == "email" else User.mobile
    preference = NotificationPreference
    enabled = func.coalesce(preference.is_enabled, _default_case(channel))
    rows = (
        select(Notification.user_id, Notification.id, literal(channel), Notification.kind,
               Notification.dedup_key + literal(f":{channel}"), Notification.title, Notification.body,
               _status(channel), literal(0), literal(now, UTCDateTime()), Notification.expires_at,
               literal(now, UTCDateTime()))
        .join(User, User.id == Notification.user_id)
        .outerjoin(preference, and_(preference.user_id == Notification.user_id, preference.kind == Notification.kind,
                                    preference.channel == channel))
        .where(Notification.id.in_(notifications), address.is_not(None), User.is_active.is_(True),
               enabled.is_(True))
    )
    statement = dialect_insert(db.session)(OutboundMessage).from_select(QUEUED_COLUMNS, rows) \
        .on_conflict_do_nothing(index_elements=["dedup_key"])
    return max(cast(CursorResult[Any], db.session.execute(statement)).rowcount or 0, 0)


def _status(channel: str) -> Any:
    """SQL: an email copy waits for the person's digest when they chose one; the rest are queued."""
    if channel != "email":
        return literal(OutboundStatus.QUEUED)
    cadence = NotificationPreference.cadence
    return case((cadence == "daily", OutboundStatus.DIGEST), (cadence == "weekly", OutboundStatus.DIGEST_WEEKLY),
                else_=OutboundStatus.QUEUED)


def _default_case(channel: str) -> Any:
    on = [name for name in kinds() if default(name, channel)]
    unknown_default = channel == "email"
    return case((Notification.kind.in_(on), True),
                (Notification.kind.in_([name for name in kinds() if name not in on]), False),
                else_=unknown_default)
