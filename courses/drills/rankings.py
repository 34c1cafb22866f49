"""Leaderboards of a bank over a period: unions by participation rate (members who practised / members)
with their average mock-exam score, and people by right answers; and of one mock exam or online round:
people by their best score, then the time they took, and unions by participation (for a round: the
confirmed entries each union nominated that sat / its entries; for a mock exam: members who sat /
members) with their average score. Names are masked unless the viewer administers the person's union."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, distinct, func, select

from classroom.accounts.models import User
from classroom.database import is_postgresql
from classroom.extensions import db
from classroom.personal_data import mask_name
from classroom.unions import scope
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.competitions.models import Entry, EntryStatus, Stage
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
    since = now - timedelta(days=days)
    active = (Membership.status == MembershipStatus.ACTIVE)
    unions, members = _grassroots_members(bank)
    if not unions:
        return []
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


def _grassroots_members(bank: QuestionBank) -> tuple[dict[int, TradeUnion], dict[int, Any]]:
    """The grassroots unions under the bank's union by id, and their active members' counts (two queries;
    the counts are not read when there is no such union)."""
    owner = cast(TradeUnion, db.session.get(TradeUnion, bank.union_id))
    unions = {union.id: union for union in db.session.scalars(select(TradeUnion).where(
        TradeUnion.path.startswith(owner.path, autoescape=True), TradeUnion.kind == "grassroots"))}
    if not unions:
        return {}, {}
    members = _pairs(select(Membership.union_id, func.count(Membership.id))
                     .where(Membership.status == MembershipStatus.ACTIVE, Membership.union_id.in_(list(unions)))
                     .group_by(Membership.union_id))
    return unions, members


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
    names = shown_names(viewer, [(row[0], row[1]) for row in rows])
    return [(name, right) for name, (_user_id, _real_name, right) in zip(names, rows, strict=True)]


def shown_names(viewer: Any, people: list[tuple[int, str]]) -> list[str]:
    """The names as ``viewer`` may read them: in full for themselves and the people of the unions they
    administer, masked (张*明) for everyone else (one query, for union admins only)."""
    visible = set(db.session.scalars(scope.visible_users(viewer).where(User.id.in_([row[0] for row in people]))
                                     .with_only_columns(User.id))) if people and scope.is_union_admin(viewer) else set()
    return [name if user_id in visible or user_id == viewer.id else mask_name(name) for user_id, name in people]


@dataclass(frozen=True)
class PaperRank:
    name: str
    score: int
    seconds: int  # from the start of the paper to its submission


def _seconds() -> ColumnElement[Any]:
    """SQL: how long a paper took, in seconds."""
    if is_postgresql(db.session):
        return func.extract("epoch", MockAttempt.submitted_at - MockAttempt.started_at)
    return (func.julianday(MockAttempt.submitted_at) - func.julianday(MockAttempt.started_at)) * 86400


def exam_people(viewer: Any, exam: MockExam, *, limit: int = 50) -> list[PaperRank]:
    """Each person's best paper of the exam (score, then the shorter time), best first (one query, and one
    for the names an admin may read)."""
    seconds = _seconds()
    ranked = (select(MockAttempt.user_id, MockAttempt.score, seconds.label("seconds"),
                     func.row_number().over(partition_by=MockAttempt.user_id,
                                            order_by=(MockAttempt.score.desc(), seconds, MockAttempt.id)).label("n"))
              .where(MockAttempt.exam_id == exam.id, MockAttempt.submitted_at.is_not(None),
                     MockAttempt.score.is_not(None)).subquery())
    rows = db.session.execute(
        select(ranked.c.user_id, User.real_name, ranked.c.score, ranked.c.seconds)
        .join(User, User.id == ranked.c.user_id).where(ranked.c.n == 1)
        .order_by(ranked.c.score.desc(), ranked.c.seconds, ranked.c.user_id).limit(limit)).all()
    names = shown_names(viewer, [(row[0], row[1]) for row in rows])
    return [PaperRank(name, row[2], round(float(row[3] or 0))) for name, row in zip(names, rows, strict=True)]


def exam_unions(exam: MockExam) -> list[UnionRow]:
    """Unions by participation in the exam, best first: a round's nominating unions (entries that sat /
    confirmed entries, one query), or a mock exam's grassroots unions under its bank's (members who sat /
    members)."""
    if exam.stage_id is None:
        bank = cast(QuestionBank, db.session.get(QuestionBank, exam.bank_id))
        return _grassroots_rows(bank, MockAttempt.exam_id == exam.id)
    stage = cast(Stage, db.session.get(Stage, exam.stage_id))
    rows = db.session.execute(
        select(TradeUnion, func.count(Entry.id), func.count(MockAttempt.id), func.avg(MockAttempt.score))
        .select_from(Entry).join(TradeUnion, TradeUnion.id == Entry.nominating_union_id)
        .outerjoin(MockAttempt, and_(MockAttempt.entry_id == Entry.id, MockAttempt.exam_id == exam.id,
                                     MockAttempt.score.is_not(None)))
        .where(Entry.competition_id == stage.competition_id, Entry.status == EntryStatus.CONFIRMED)
        .group_by(TradeUnion.id).order_by(TradeUnion.id).limit(500)).all()
    return _sorted([UnionRow(union, int(entries), int(sat), round(float(average)) if average is not None else None)
                    for union, entries, sat, average in rows])


def _sorted(rows: list[UnionRow]) -> list[UnionRow]:
    return sorted(rows, key=lambda row: (-row.rate, -(row.average or 0), row.union.name))


def _grassroots_rows(bank: QuestionBank, papers: ColumnElement[bool]) -> list[UnionRow]:
    """The grassroots unions under the bank's: members, members with a scored paper among ``papers``
    and their average score (three grouped queries)."""
    active = (Membership.status == MembershipStatus.ACTIVE)
    unions, members = _grassroots_members(bank)
    if not unions:
        return []
    sat = {row[0]: (row[1], row[2]) for row in db.session.execute(
        select(Membership.union_id, func.count(distinct(MockAttempt.user_id)), func.avg(MockAttempt.score))
        .join(Membership, Membership.user_id == MockAttempt.user_id)
        .where(active, Membership.union_id.in_(list(unions)), papers, MockAttempt.score.is_not(None))
        .group_by(Membership.union_id))}
    return _sorted([UnionRow(union, int(members.get(union_id, 0)), int(sat.get(union_id, (0, None))[0]),
                             round(float(sat[union_id][1])) if sat.get(union_id, (0, None))[1] is not None else None)
                    for union_id, union in unions.items()])
