"""Closing an account: the notification base forgets the person's outbox, choices and feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.notifications.models import CalendarFeed, NotificationPreference, OutboundMessage


def erase(user: User, now: datetime) -> None:
    """Delete the person's outbox, choices and calendar feed."""
    for model in (OutboundMessage, NotificationPreference, CalendarFeed):
        db.session.execute(delete(model).where(model.user_id == user.id))

