"""Practice: the next question (sequential, random, from the mistake book or the favourites), an answer
scored against the version shown with its explanation, the mistake book (错题本: a question leaves it
after two right answers on different days, in the person's timezone), favourites, progress per tag."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select

from classroom.database import dialect_insert
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.timefmt import local_date, zone
from courses.drills import content
from courses.drills.models import DrillQuestion, Favourite, Mistake, PracticeAnswer, QuestionBank, QuestionVersion

MODES = ("sequential", "random", "mistakes", "favourites", "daily")
MODE_LABELS = {"sequential": _l("In order"), "random": _l("Random"), "mistakes": _l("Mistake book"),
               "favourites": _l("Favourites"), "daily": _l("Daily practice")}


def _current(bank_id: int) -> Select:
    return (select(DrillQuestion, QuestionVersion)
            .join(QuestionVersion, and_(QuestionVersion.question_id == DrillQuestion.id,
                                        QuestionVersion.number == DrillQuestion.version))
            .where(DrillQuestion.bank_id == bank_id))


def next_question(user_id: int, bank: QuestionBank, mode: str,
                  after: int | None = None) -> tuple[DrillQuestion, QuestionVersion] | None:
    """The question to show next in ``mode`` (``after``: the question just answered), or None."""
    statement = _current(bank.id)
    if mode == "random":
        statement = statement.order_by(func.random())
    elif mode == "mistakes":
        statement = statement.join(Mistake, and_(Mistake.question_id == DrillQuestion.id, Mistake.user_id == user_id,
                                                 Mistake.cleared_at.is_(None))).order_by(Mistake.added_at, Mistake.id)
    elif mode == "favourites":
        statement = statement.join(Favourite, and_(Favourite.question_id == DrillQuestion.id,
                                                   Favourite.user_id == user_id)).order_by(Favourite.id)
    else:
        last = after or db.session.scalar(select(PracticeAnswer.question_id).where(
            PracticeAnswer.user_id == user_id, PracticeAnswer.bank_id == bank.id)
            .order_by(PracticeAnswer.id.desc()).limit(1))
        code = db.session.scalar(select(DrillQuestion.code).where(DrillQuestion.id == last)) if last else None
        ordered = statement.order_by(DrillQuestion.code)
        if code is not None:
            found = db.session.execute(ordered.where(DrillQuestion.code > code).limit(1)).first()
            if found is not None:
                return found[0], found[1]
        statement = ordered
    if mode in ("mistakes", "favourites") and after is not None:  # move on, unless it is the only one
        row = db.session.execute(statement.where(DrillQuestion.id != after).limit(1)).first()
        if row is not None:
            return row[0], row[1]
    row = db.session.execute(statement.limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def given_answer(kind: str, choices: Sequence[str], blanks: Sequence[str]) -> list[Any]:
    """What the form sent, as ``content.is_right`` reads it: option indexes, or one text per blank."""
    if kind == "blank":
        return [text[:200] for text in blanks]
    return sorted({int(value) for value in choices if value.isascii() and value.isdigit() and len(value) < 3})


def version_in_bank(bank: QuestionBank, version_id: int | None) -> QuestionVersion:
    """The version a worker was shown, when it belongs to a question of this bank; Invalid otherwise."""
    version = db.session.scalar(select(QuestionVersion).join(DrillQuestion, DrillQuestion.id ==
                                                             QuestionVersion.question_id)
                                .where(QuestionVersion.id == version_id, DrillQuestion.bank_id == bank.id)) \
        if version_id else None
    if version is None:
        raise Invalid(_l("This question is no longer in the bank."))
    return version


def answer(user: Any, bank: QuestionBank, version: QuestionVersion, given: list[Any], *,
           now: datetime) -> PracticeAnswer:
    """Score ``given`` against the version shown, record it, and keep the mistake book."""
    right = content.is_right(version.kind, version.answer, given)
    record = PracticeAnswer(user_id=user.id, bank_id=bank.id, question_id=version.question_id,
                            version_id=version.id, right=right, answered_at=now)
    db.session.add(record)
    if right:
        _right_answer(user, version.question_id, now)
    else:
        insert = dialect_insert(db.session)
        statement = insert(Mistake).values(user_id=user.id, bank_id=bank.id, question_id=version.question_id,
                                           added_at=now, wrong_count=1)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["user_id", "question_id"],
            set_={"cleared_at": None, "right_on": None, "wrong_count": Mistake.wrong_count + 1}))
    db.session.flush()
    return record


def _right_answer(user: Any, question_id: int, now: datetime) -> None:
    """The first right answer marks its day; a right answer on another day clears the mistake."""
    mistake = db.session.scalar(select(Mistake).where(Mistake.user_id == user.id, Mistake.question_id == question_id,
                                                      Mistake.cleared_at.is_(None)).with_for_update())
    if mistake is None:
        return
    today = local_date(now, zone(getattr(user, "timezone", None)))
    if mistake.right_on is None:
        mistake.right_on = today
    elif mistake.right_on != today:
        mistake.cleared_at = now


def toggle_favourite(user: Any, bank: QuestionBank, question: DrillQuestion, *, now: datetime) -> bool:
    """Add the question to the person's favourites, or take it out: whether it is one now."""
    found = db.session.scalar(select(Favourite).filter_by(user_id=user.id, question_id=question.id))
    if found is not None:
        db.session.delete(found)
        return False
    db.session.add(Favourite(user_id=user.id, bank_id=bank.id, question_id=question.id, created_at=now))
    return True


def is_favourite(user_id: int, question_id: int) -> bool:
    return db.session.scalar(select(Favourite.id).filter_by(user_id=user_id, question_id=question_id)) is not None


def favourite_ids(user_id: int, question_ids: list[int]) -> set[int]:
    """Which of these questions are the person's favourites (one query; none if empty)."""
    if not question_ids:
        return set()
    return set(db.session.scalars(select(Favourite.question_id).where(Favourite.user_id == user_id,
                                                                      Favourite.question_id.in_(question_ids))))


def in_mistake_book(user_id: int, question_id: int) -> bool:
    return db.session.scalar(select(Mistake.id).filter_by(user_id=user_id, question_id=question_id,
                                                          cleared_at=None)) is not None


def progress_by_tag(user_id: int, bank_id: int) -> list[dict[str, Any]]:
    """Per tag (knowledge point): questions, those practised, answers and the share right (two queries)."""
    tags_of = {row[0]: row[1] for row in db.session.execute(select(DrillQuestion.id, DrillQuestion.tags)
                                                            .where(DrillQuestion.bank_id == bank_id))}
    answered = db.session.execute(
        select(PracticeAnswer.question_id, func.count(PracticeAnswer.id),
               func.sum(case((PracticeAnswer.right, 1), else_=0)))
        .where(PracticeAnswer.user_id == user_id, PracticeAnswer.bank_id == bank_id)
        .group_by(PracticeAnswer.question_id)).all()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"questions": 0, "practised": 0, "answers": 0,
                                                             "right": 0})
    for tags in tags_of.values():
        for tag in tags or ["—"]:
            totals[tag]["questions"] += 1
    for question_id, count, right in answered:
        for tag in tags_of.get(question_id) or ["—"]:
            totals[tag]["practised"] += 1
            totals[tag]["answers"] += count
            totals[tag]["right"] += int(right or 0)
    return [{"tag": tag, **figures, "percent": round(100 * figures["right"] / figures["answers"])
             if figures["answers"] else None} for tag, figures in sorted(totals.items())]
