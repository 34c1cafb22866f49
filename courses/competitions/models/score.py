"""Scores per round and the skill-level promotions (破格晋升) that awards earn."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import utcnow
from classroom.extensions import Model


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
