"""Closing an account: the notification base forgets the person's outbox, choices and feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from classroom.extensions import db
from classroom.notifications.models import CalendarFeed, NotificationPreference, OutboundMessage


def erase(user, now: datetime) -> None:
    for model in (OutboundMessage, NotificationPreference, CalendarFeed):
        db.session.execute(delete(model).where(model.user_id == user.id))

