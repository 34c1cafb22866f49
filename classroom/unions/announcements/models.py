"""UnionAnnouncement: a union admin's message to every active member of the union's subtree, sent by a
queue task in batches; the row is the task's progress and its resume point (the last member reached)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class AnnouncementStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a queue worker
    SENDING = "sending"  # batches are going out
    DONE = "done"  # every recipient was notified
    FAILED = "failed"  # no retry was left; those reached keep their notification, "Resume" goes on


ANNOUNCEMENT_STATUS_LABELS = {
    AnnouncementStatus.QUEUED: _l("Waiting to be sent"),
    AnnouncementStatus.SENDING: _l("Sending"),
    AnnouncementStatus.DONE: _l("Sent"),
    AnnouncementStatus.FAILED: _l("Stopped"),
}


class UnionAnnouncement(Model):
    __tablename__ = "union_announcement"
    __table_args__ = (Index("ix_union_announcement_union_created", "union_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=AnnouncementStatus.QUEUED)
    total: Mapped[int | None]  # recipients counted when sending began (the final count once done)
    done: Mapped[int] = mapped_column(default=0)  # recipients reached so far, batch by batch
    last_user_id: Mapped[int] = mapped_column(default=0)  # the keyset cursor: members up to it are reached
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the last batch's commit

    union = relationship("TradeUnion")
    author = relationship("User")

    @property
    def status_label(self) -> str:
        return str(ANNOUNCEMENT_STATUS_LABELS.get(AnnouncementStatus(self.status), self.status))

    @property
    def is_busy(self) -> bool:
        return self.status in (AnnouncementStatus.QUEUED, AnnouncementStatus.SENDING)

    @property
    def percent(self) -> int:
        """Recipients reached, as a share of those counted."""
        if self.status == AnnouncementStatus.DONE:
            return 100
        return min(100, round(100 * self.done / self.total)) if self.total else 0

    def __repr__(self) -> str:
        return f"<UnionAnnouncement {self.id} union={self.union_id} {self.status} {self.done}/{self.total}>"
