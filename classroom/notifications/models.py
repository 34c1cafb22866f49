"""In-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import utcnow
from classroom.extensions import Model


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at", "created_at"),
                      Index("ix_notification_kind_created", "kind", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    # what the email and text message say, beyond the title: the course, the class's time and venue …
    # (notify()'s params and facts, in the recipient's language; None on rows made before it existed)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # email and SMS copies are dropped, not sent late, after it

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class OutboundStatus:
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a dispatcher
    SENT = "sent"
    FAILED = "failed"  # can never be delivered: a 5xx refusal of the recipient or message, or no address
    DROPPED = "dropped"  # expired before it could be sent (a reminder for a class already started)
    DIGEST = "digest"  # held for the person's daily digest
    DIGEST_WEEKLY = "digest_wk"  # held for the weekly digest (Mondays)
    DIGESTED = "digested"  # went out inside a digest


class OutboundMessage(Model):
    """One email or text message to send: the outbox. ``dedup_key`` is unique, so the same
    message is never queued twice; the dispatcher claims due rows, sends, marks them sent."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_due", "status", "next_attempt_at"),
                      Index("ix_outbound_user_status", "user_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))  # email / sms
    kind: Mapped[str] = mapped_column(String(40))
    dedup_key: Mapped[str] = mapped_column(String(220), unique=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # a digest's items; a copy of a notification reads that notification's facts
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(10), default=OutboundStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<OutboundMessage {self.id} {self.channel} {self.status} {self.dedup_key}>"


class NotificationPreference(Model):
    """A person's choice for one kind of notification and one channel (absent: the kind's default)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    cadence: Mapped[str] = mapped_column(String(10), default="immediate")  # email: immediate / daily / weekly

    def __repr__(self) -> str:
        return f"<NotificationPreference user={self.user_id} {self.kind}/{self.channel} {self.is_enabled}>"


class SchedulerLease(Model):
    """The scheduler's leader lease: one row per lock name; whoever holds an unexpired lease runs
    the jobs, the others wait and take over when it lapses."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<SchedulerLease {self.name} {self.holder} until {self.expires_at}>"


class CalendarFeed(Model):
    """A person's calendar feed: its secret is derived from the app's key and ``version``, so a
    reset (a new version) makes every earlier link useless."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarFeed user={self.user_id}>"
