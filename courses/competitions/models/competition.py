"""The competition (劳动和技能竞赛) and its notice: its files, its rounds (stages) and its followers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model

if TYPE_CHECKING:  # for the annotation only: event.py imports Competition from here, a cycle at run time
    from courses.competitions.models.event import CompetitionEvent


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
