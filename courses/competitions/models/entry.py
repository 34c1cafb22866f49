"""Entries in an event (a worker, or a team with its captain) and the people in them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model
from courses.competitions.models.competition import Competition
from courses.competitions.models.event import AWARD_LABELS, CompetitionEvent


class EntryStatus(enum.StrEnum):
    FORMING = "forming"  # a team gathering its members
    SUBMITTED = "submitted"  # going up the tree: ``pending_union_id`` decides next
    APPROVED = "approved"  # every union approved; the organizer confirms
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"  # a team still forming when sign-up closed


ENTRY_STATUS_LABELS = {
    EntryStatus.FORMING: _l("Team forming"),
    EntryStatus.SUBMITTED: _l("Waiting for approval"),
    EntryStatus.APPROVED: _l("Approved, waiting for the organizer"),
    EntryStatus.CONFIRMED: _l("Confirmed"),
    EntryStatus.REJECTED: _l("Not approved"),
    EntryStatus.WITHDRAWN: _l("Withdrawn"),
    EntryStatus.LAPSED: _l("Not submitted before sign-up closed"),
}
LIVE_STATUSES = (EntryStatus.FORMING, EntryStatus.SUBMITTED, EntryStatus.APPROVED, EntryStatus.CONFIRMED)
WAITING_STATUSES = (EntryStatus.SUBMITTED, EntryStatus.APPROVED)


class Entry(Model):
    """One entry in an event: a worker, or a team with its captain. ``nominating_union_id`` is the
    applicant's grassroots union at entry; ``quota_union_id`` the union whose quota place it holds."""

    __tablename__ = "competition_entry"
    __table_args__ = (
        Index("ix_competition_entry_event_status", "event_id", "status"),
        Index("ix_competition_entry_competition_status", "competition_id", "status"),
        Index("ix_competition_entry_pending", "pending_union_id", "status"),
        Index("ix_competition_entry_waiting", "status", "submitted_at", "id"),
        Index("ix_competition_entry_listing", "competition_id", "event_id", "nominating_union_id", "id"),
        Index("ix_competition_entry_nominating", "nominating_union_id"),
        Index("ix_competition_entry_applicant", "applicant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_event.id", ondelete="CASCADE"))
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    team_name: Mapped[str | None] = mapped_column(String(100))
    nominating_union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"))
    pending_union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id"))
    quota_union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id"))
    status: Mapped[str] = mapped_column(String(12), default=EntryStatus.SUBMITTED)
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    total: Mapped[Decimal | None] = mapped_column(Numeric(8, 2, asdecimal=True))
    rank: Mapped[int | None]
    award: Mapped[str | None] = mapped_column(String(10))
    honor_title: Mapped[str | None] = mapped_column(String(50))
    is_award_manual: Mapped[bool] = mapped_column(Boolean, default=False)

    event: Mapped[CompetitionEvent] = relationship()
    competition: Mapped[Competition] = relationship()
    applicant = relationship("User", foreign_keys=[applicant_id])
    nominating_union = relationship("TradeUnion", foreign_keys=[nominating_union_id])
    pending_union = relationship("TradeUnion", foreign_keys=[pending_union_id])
    members: Mapped[list[EntryMember]] = relationship(back_populates="entry", order_by="EntryMember.id",
                                                      cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return str(ENTRY_STATUS_LABELS.get(EntryStatus(self.status), self.status))

    @property
    def award_label(self) -> str:
        return str(AWARD_LABELS.get(self.award, "")) if self.award else ""

    def __repr__(self) -> str:
        return f"<Entry {self.id} event={self.event_id} {self.status}>"


class MemberStatus(enum.StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class EntryMember(Model):
    """A person in an entry: the applicant (captain) or an invited team member. ``is_active`` holds
    while the person counts as entered in the event; the partial unique index keeps a worker in at
    most one live entry per event (the event is copied onto the row for it)."""

    __tablename__ = "competition_entry_member"
    __table_args__ = (
        UniqueConstraint("entry_id", "user_id"),
        Index("uq_competition_entry_member_one_live", "event_id", "user_id", unique=True,
              sqlite_where=text("is_active"), postgresql_where=text("is_active")),
        Index("ix_competition_entry_member_user", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    is_captain: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=MemberStatus.INVITED)
    is_active: Mapped[bool] = mapped_column(default=False)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"))

    entry: Mapped[Entry] = relationship(back_populates="members")
    user = relationship("User")

    def __repr__(self) -> str:
        return f"<EntryMember entry={self.entry_id} user={self.user_id} {self.status}>"
