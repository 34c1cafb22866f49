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
    notification = Notification.__table__.c
    statement = queue_statement(channel, notification, notification.id.in_(notifications), now)
    return max(cast(CursorResult[Any], db.session.execute(statement)).rowcount or 0, 0)


def queue_statement(channel: str, notification: Any, which: Any, now: datetime) -> Any:
    """INSERT … SELECT of the ``channel`` copies of the notifications ``which`` names, read from
    ``notification``: the table's columns, or those of a CTE returning the rows just inserted (``fan_out_with``)."""
    address = User.email if channel == "email" else User.mobile
    preference = NotificationPreference
    enabled = func.coalesce(preference.is_enabled, _default_case(channel, notification.kind))
    rows = (
        select(notification.user_id, notification.id, literal(channel), notification.kind,
               notification.dedup_key + literal(f":{channel}"), notification.title, notification.body,
               _status(channel), literal(0), literal(now, UTCDateTime()), notification.expires_at,
               literal(now, UTCDateTime()))
        .join(User, User.id == notification.user_id)
        .outerjoin(preference, and_(preference.user_id == notification.user_id, preference.kind == notification.kind,
                                    preference.channel == channel))
        .where(which, address.is_not(None), User.is_active.is_(True), enabled.is_(True))
    )
    return dialect_insert(db.session)(OutboundMessage).from_select(QUEUED_COLUMNS, rows) \
        .on_conflict_do_nothing(index_elements=["dedup_key"])


def fan_out_with(made: Any, now: datetime) -> list[Any]:
    """(PostgreSQL) the outbox inserts as CTEs over ``made``, a CTE of an INSERT INTO notification …
    RETURNING its rows: notifications and their copies written by one statement."""
    return [queue_statement(channel, made.c, literal(True), now).cte(f"queued_{channel}") for channel in CHANNELS]


def _status(channel: str) -> Any:
    """SQL: an email copy waits for the person's digest when they chose one; the rest are queued."""
    if channel != "email":
        return literal(OutboundStatus.QUEUED)
    cadence = NotificationPreference.cadence
    return case((cadence == "daily", OutboundStatus.DIGEST), (cadence == "weekly", OutboundStatus.DIGEST_WEEKLY),
                else_=OutboundStatus.QUEUED)


def _default_case(channel: str, kind: Any) -> Any:
    on = [name for name in kinds() if default(name, channel)]
    unknown_default = channel == "email"
    return case((kind.in_(on), True),
                (kind.in_([name for name in kinds() if name not in on]), False),
                else_=unknown_default)
