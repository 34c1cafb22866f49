"""Labour and skills competitions (劳动和技能竞赛): the competition and its notice, stages and events
(赛项), entries with their team members, quota rows per nominating union, scores, followers and the
skill-level promotions that awards earn."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model


class CompetitionLevel(enum.StrEnum):
    ENTERPRISE = "enterprise"
    DISTRICT = "district"
    CITY = "city"
    PROVINCE = "province"


LEVEL_LABELS = {
    CompetitionLevel.ENTERPRISE: _l("Enterprise"),  # 企业级
    CompetitionLevel.DISTRICT: _l("District"),  # 区级
    CompetitionLevel.CITY: _l("City"),  # 市级
    CompetitionLevel.PROVINCE: _l("Province"),  # 省级
}


class CompetitionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RESULTS_PUBLISHED = "results_published"


COMPETITION_STATUS_LABELS = {
    CompetitionStatus.DRAFT: _l("Draft"),
    CompetitionStatus.PUBLISHED: _l("Published"),
    CompetitionStatus.RESULTS_PUBLISHED: _l("Results published"),
}


class Competition(Model):
    __tablename__ = "competition"
    __table_args__ = (Index("ix_competition_status_closes", "status", "signup_closes_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    edition: Mapped[str | None] = mapped_column(String(50))  # 第十届
    year: Mapped[int] = mapped_column(SmallInteger)
    level: Mapped[str] = mapped_column(String(12))
    organizer_union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id"), index=True)
    notice_md: Mapped[str] = mapped_column(Text, default="")
    signup_opens_at: Mapped[datetime]
    signup_closes_at: Mapped[datetime]
    requires_intermediate_approval: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default=CompetitionStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    results_published_at: Mapped[datetime | None]

    organizer_union = relationship("TradeUnion")
    stages: Mapped[list[Stage]] = relationship(back_populates="competition", order_by="Stage.starts_at",
                                               cascade="all, delete-orphan")
    events: Mapped[list[CompetitionEvent]] = relationship(back_populates="competition", order_by="CompetitionEvent.id",
                                               cascade="all, delete-orphan")
    attachments: Mapped[list[CompetitionAttachment]] = relationship(order_by="CompetitionAttachment.id",
                                                                    cascade="all, delete-orphan")

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS.get(CompetitionLevel(self.level), self.level))

    @property
    def status_label(self) -> str:
        return str(COMPETITION_STATUS_LABELS.get(CompetitionStatus(self.status), self.status))

    def __repr__(self) -> str:
        return f"<Competition {self.id} {self.year} {self.status} {self.title!r}>"


class CompetitionAttachment(Model):
    """A file of the notice (rules, the sign-up form …), stored under a random name outside static/."""

    __tablename__ = "competition_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CompetitionAttachment {self.id} {self.original_name!r}>"


class StageKind(enum.StrEnum):
    THEORY = "theory"
    PRACTICAL = "practical"


STAGE_KIND_LABELS = {StageKind.THEORY: _l("Theory"), StageKind.PRACTICAL: _l("Practical")}  # 理论 / 实操


class Stage(Model):
    """A round of the competition (an online theory preliminary, a practical final …). Its score
    counts towards the total with ``weight`` per cent."""

    __tablename__ = "competition_stage"
    __table_args__ = (Index("ix_competition_stage_starts", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12), default=StageKind.THEORY)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    venue: Mapped[str] = mapped_column(String(200), default="")
    weight: Mapped[int] = mapped_column(SmallInteger, default=100)

    competition: Mapped[Competition] = relationship(back_populates="stages")

    @property
    def kind_label(self) -> str:
        return str(STAGE_KIND_LABELS.get(StageKind(self.kind), self.kind))

    def __repr__(self) -> str:
        return f"<Stage {self.id} competition={self.competition_id} {self.name!r}>"


# Awards in order of rank; the rule gives how many places each takes ({"first": 1, "second": 2 …}).
AWARDS = ("first", "second", "third", "merit")
AWARD_LABELS = {
    "first": _l("First prize"),  # 一等奖
    "second": _l("Second prize"),  # 二等奖
    "third": _l("Third prize"),  # 三等奖
    "merit": _l("Honourable mention"),  # 优秀奖
}


class CompetitionEvent(Model):
    """赛项: one trade's contest within a competition, individual or for teams, with its eligibility
    rules, its quota per nominating union (at tree depth ``quota_depth``), its overall cap and its
    award rule. ``confirmed_count`` is bumped by a conditional UPDATE, never past the cap."""

    __tablename__ = "competition_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    trade: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    is_team: Mapped[bool] = mapped_column(default=False)
    team_min: Mapped[int | None] = mapped_column(SmallInteger)
    team_max: Mapped[int | None] = mapped_column(SmallInteger)
    min_skill_level: Mapped[int | None] = mapped_column(SmallInteger)  # 1..5; the worker's number must be <= it
    min_age: Mapped[int | None] = mapped_column(SmallInteger)
    max_age: Mapped[int | None] = mapped_column(SmallInteger)
    min_years_in_trade: Mapped[int | None] = mapped_column(SmallInteger)
    required_course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    required_certificate_occupation: Mapped[str | None] = mapped_column(String(100))
    certificate_valid_years: Mapped[int | None] = mapped_column(SmallInteger)  # None: never expires
    requires_active_membership: Mapped[bool] = mapped_column(default=True)
    quota_depth: Mapped[int | None] = mapped_column(SmallInteger)  # tree depth of the quota unions (1 = districts)
    quota_per_union: Mapped[int | None]
    overall_cap: Mapped[int | None]
    confirmed_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    award_rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    honor_title: Mapped[str | None] = mapped_column(String(50))  # 技术能手
    honor_title_top: Mapped[int | None] = mapped_column(SmallInteger)  # ranks 1..N earn the title
    promotion_award: Mapped[str | None] = mapped_column(String(10))  # this award and better earn a promotion

    competition: Mapped[Competition] = relationship(back_populates="events")
    required_course = relationship("Course")

    def __repr__(self) -> str:
        return f"<CompetitionEvent {self.id} competition={self.competition_id} {self.name!r}>"


class Quota(Model):
    """Places taken by one nominating union (at the event's quota depth) in one event. Taken with
    ``UPDATE … SET taken = taken + 1 WHERE taken < limit``: concurrent approvals never pass the limit."""

    __tablename__ = "competition_quota"
    __table_args__ = (UniqueConstraint("event_id", "union_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_event.id", ondelete="CASCADE"))
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), index=True)
    taken: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    union = relationship("TradeUnion")

    def __repr__(self) -> str:
        return f"<Quota event={self.event_id} union={self.union_id} taken={self.taken}>"


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


class Score(Model):
    """One entry's score in one stage (out of 100)."""

    __tablename__ = "competition_score"
    __table_args__ = (UniqueConstraint("entry_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("competition_stage.id", ondelete="CASCADE"), index=True)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2, asdecimal=True))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Score entry={self.entry_id} stage={self.stage_id} {self.points}>"


class CompetitionFollow(Model):
    """A worker follows a competition to hear before its sign-up closes."""

    __tablename__ = "competition_follow"
    __table_args__ = (UniqueConstraint("user_id", "competition_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CompetitionFollow user={self.user_id} competition={self.competition_id}>"


class PromotionStatus(enum.StrEnum):
    PENDING = "pending"  # until a verified external certificate of the level is on record
    EFFECTIVE = "effective"


PROMOTION_STATUS_LABELS = {PromotionStatus.PENDING: _l("Pending"), PromotionStatus.EFFECTIVE: _l("Effective")}


class PromotionRecord(Model):
    """A skill-level promotion an award earned (破格晋升): pending until the worker's external
    certificate of that level (or higher) is verified."""

    __tablename__ = "competition_promotion"
    __table_args__ = (UniqueConstraint("user_id", "entry_id"), Index("ix_competition_promotion_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entry.id", ondelete="CASCADE"))
    from_level: Mapped[int | None] = mapped_column(SmallInteger)
    level: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10), default=PromotionStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[datetime | None]

    @property
    def status_label(self) -> str:
        return str(PROMOTION_STATUS_LABELS.get(PromotionStatus(self.status), self.status))

    def __repr__(self) -> str:
        return f"<PromotionRecord user={self.user_id} level={self.level} {self.status}>"
