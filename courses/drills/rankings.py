"""Leaderboards of a bank over a period: unions by participation rate (members who practised / members)
with their average mock-exam score, and people by right answers (names masked unless the viewer
administers the person's union)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import distinct, func, select

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.personal_data import mask_name
from classroom.unions import scope
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.drills.models import MockAttempt, MockExam, PracticeAnswer, QuestionBank

PERIODS = (7, 30, 365)


@dataclass(frozen=True)
class UnionRow:
    union: TradeUnion
    members: int
    practised: int
    average: int | None

    @property
    def rate(self) -> int:
        """Participation in per cent."""
        return round(100 * self.practised / self.members) if self.members else 0


def union_rows(bank: QuestionBank, *, now: datetime, days: int) -> list[UnionRow]:
    """The grassroots unions under the bank's union, best participation first (four grouped queries)."""
    owner = cast(TradeUnion, db.session.get(TradeUnion, bank.union_id))
    since = now - timedelta(days=days)
    active = (Membership.status == MembershipStatus.ACTIVE)
    unions = {union.id: union for union in db.session.scalars(select(TradeUnion).where(
        TradeUnion.path.startswith(owner.path, autoescape=True), TradeUnion.kind == "grassroots"))}
    if not unions:
        return []
    members = _pairs(select(Membership.union_id, func.count(Membership.id))
                     .where(active, Membership.union_id.in_(list(unions))).group_by(Membership.union_id))
    practised = _pairs(
        select(Membership.union_id, func.count(distinct(PracticeAnswer.user_id)))
        .join(Membership, Membership.user_id == PracticeAnswer.user_id)
        .where(active, Membership.union_id.in_(list(unions)), PracticeAnswer.bank_id == bank.id,
               PracticeAnswer.answered_at >= since, PracticeAnswer.answered_at <= now)
        .group_by(Membership.union_id))
    averages = _pairs(
        select(Membership.union_id, func.avg(MockAttempt.score))
        .join(Membership, Membership.user_id == MockAttempt.user_id)
        .join(MockExam, MockExam.id == MockAttempt.exam_id)
        .where(active, Membership.union_id.in_(list(unions)), MockExam.bank_id == bank.id,
               MockAttempt.submitted_at >= since, MockAttempt.submitted_at <= now, MockAttempt.score.is_not(None))
        .group_by(Membership.union_id))
    rows = [UnionRow(union, int(members.get(union_id, 0)), int(practised.get(union_id, 0)),
                     round(float(averages[union_id])) if averages.get(union_id) is not None else None)
            for union_id, union in unions.items()]
    return sorted(rows, key=lambda row: (-row.rate, -row.practised, row.union.name))


def _pairs(statement: Any) -> dict[int, Any]:
    return {row[0]: row[1] for row in db.session.execute(statement)}


def people_rows(viewer: Any, bank: QuestionBank, *, now: datetime, days: int, limit: int = 50) -> list[tuple[str, int]]:
    """(name, right answers) of the most diligent people; the name masked unless the viewer may see them."""
    rows = db.session.execute(
        select(User.id, User.real_name, func.count(PracticeAnswer.id).label("right"))
        .join(PracticeAnswer, PracticeAnswer.user_id == User.id)
        .where(PracticeAnswer.bank_id == bank.id, PracticeAnswer.right,
               PracticeAnswer.answered_at >= now - timedelta(days=days), PracticeAnswer.answered_at <= now)
        .group_by(User.id, User.real_name).order_by(func.count(PracticeAnswer.id).desc(), User.id).limit(limit)).all()
    visible = set(db.session.scalars(scope.visible_users(viewer).where(User.id.in_([row[0] for row in rows]))
                                     .with_only_columns(User.id))) if rows and scope.is_union_admin(viewer) else set()
    return [(name if user_id in visible or user_id == viewer.id else mask_name(name), right)
            for user_id, name, right in rows]
