"""Events (赛项) of a competition, their award rule and the quota places each nominating union took."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.extensions import Model
from courses.competitions.models.competition import Competition

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
