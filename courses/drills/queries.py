"""What the drill pages read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, Select, and_, case, func, select

from classroom.extensions import db
from classroom.pagination import bounded_count_of
from classroom.unions.models import TradeUnion
from courses.drills import access
from courses.drills.models import (
    DrillQuestion,
    Favourite,
    Mistake,
    MockAttempt,
    MockExam,
    QuestionBank,
    QuestionVersion,
)


def questions_statement(bank_id: int) -> Select:
    """(question, current version) rows of a bank, by code."""
    return (select(DrillQuestion, QuestionVersion)
            .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                        QuestionVersion.number == DrillQuestion.version))
            .where(DrillQuestion.bank_id == bank_id).order_by(DrillQuestion.code))


def question_count(bank_id: int) -> int:
    return db.session.scalar(select(func.count(DrillQuestion.id)).where(DrillQuestion.bank_id == bank_id)) or 0


def current_version(question: DrillQuestion) -> QuestionVersion | None:
    return db.session.scalar(select(QuestionVersion).filter_by(question_id=question.id, number=question.version))


def banks_for(user: Any, *, editing: bool) -> list[tuple[QuestionBank, Any, int]]:
    """(bank, its union, question count) the person edits (or may practise), suggested ones first: the
    person's trade, then their level."""
    counts = (select(DrillQuestion.bank_id, func.count(DrillQuestion.id).label("n"))
              .group_by(DrillQuestion.bank_id).subquery())
    statement = access.banks_statement(user, editing=editing).add_columns(func.coalesce(counts.c.n, 0)) \
        .outerjoin(counts, counts.c.bank_id == QuestionBank.id)
    if not editing and getattr(user, "trade", None):
        suggested = case((QuestionBank.trade == user.trade, 0), else_=1)
        level = case((QuestionBank.skill_level == user.skill_level, 0), else_=1)
        statement = statement.order_by(None).order_by(suggested, level, QuestionBank.title, QuestionBank.id)
    return [(bank, union, count) for bank, union, count in db.session.execute(statement.limit(200)).all()]


def mock_exams(bank_id: int) -> list[MockExam]:
    """The bank's mock exams (competition rounds aside)."""
    return list(db.session.scalars(select(MockExam).where(MockExam.bank_id == bank_id, MockExam.stage_id.is_(None))
                                   .order_by(MockExam.id)))


def my_counts(user_id: int, bank_id: int) -> dict[str, int]:
    mistakes = select(func.count(Mistake.id)).where(Mistake.user_id == user_id, Mistake.bank_id == bank_id,
                                                    Mistake.cleared_at.is_(None))
    favourites = select(func.count(Favourite.id)).where(Favourite.user_id == user_id, Favourite.bank_id == bank_id)
    return {"mistakes": db.session.scalar(mistakes) or 0, "favourites": db.session.scalar(favourites) or 0}


def mistakes_statement(user_id: int, bank_id: int) -> Select:
    """(mistake, current version) rows of the person's mistake book in a bank, oldest first."""
    return (select(Mistake, QuestionVersion).join(DrillQuestion, DrillQuestion.id == Mistake.question_id)
            .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                        QuestionVersion.number == DrillQuestion.version))
            .where(Mistake.user_id == user_id, Mistake.bank_id == bank_id, Mistake.cleared_at.is_(None))
            .order_by(Mistake.added_at, Mistake.id))


def my_attempts(exam_id: int, user_id: int) -> list[MockAttempt]:
    """The person's submitted papers of a mock exam, latest first (the last 20)."""
    return list(db.session.scalars(select(MockAttempt).where(
        MockAttempt.exam_id == exam_id, MockAttempt.user_id == user_id, MockAttempt.submitted_at.is_not(None))
        .order_by(MockAttempt.id.desc()).limit(20)))


def round_of(stage_id: int) -> int | None:
    """The id of the stage's online round."""
    return db.session.scalar(select(MockExam.id).where(MockExam.stage_id == stage_id))


def home_figures(user: Any) -> dict[str, ScalarSelect]:
    """The home panel's figures as SQL, read with the page's other figures in one statement: how many banks
    the person may practise, the first of them (their trade and level first) and the open mistakes."""
    banks = select(QuestionBank.id).join(TradeUnion, TradeUnion.id == QuestionBank.union_id) \
        .where(access.practisable_clause(user))
    order: list[Any] = [QuestionBank.title, QuestionBank.id]
    if getattr(user, "trade", None):
        order = [case((QuestionBank.trade == user.trade, 0), else_=1),
                 case((QuestionBank.skill_level == user.skill_level, 0), else_=1), *order]
    first = banks.order_by(*order).limit(1)
    mistakes = select(func.count(Mistake.id)).where(Mistake.user_id == user.id, Mistake.cleared_at.is_(None))
    return {"banks": bounded_count_of(banks), "first_bank_id": first.scalar_subquery(),
            "first_bank_title": first.with_only_columns(QuestionBank.title).scalar_subquery(),
            "mistakes": mistakes.scalar_subquery()}
