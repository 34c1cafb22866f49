"""What a worker sees of an attempt, and its scoring on the server: the correct options never leave the
server before a submission, and reach the result page only when no attempt is left."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom.domain import Conflict
from classroom.extensions import db
from classroom.forms import parse_id
from courses.study.models import ExamAttempt, Question


@dataclass(frozen=True)
class SheetQuestion:
    """A question as shown in an attempt: nothing here is derived from the correct options."""

    number: int
    text: str
    kind: str
    points: int
    options: list[tuple[int, str]]  # (displayed position from 1, text)


@dataclass(frozen=True)
class ReviewQuestion:
    """A question of a submitted attempt, as the result page shows it."""

    number: int
    text: str
    points: int
    right: bool
    options: list[tuple[str, bool, bool | None]]  # (text, chosen, correct — None unless revealed)


def attempt_questions(attempt: ExamAttempt) -> list[Question]:
    """The attempt's questions in its order (one query)."""
    rows = db.session.scalars(select(Question).where(Question.exam_id == attempt.exam_id,
                                                     Question.id.in_(attempt.question_order)))
    by_id = {question.id: question for question in rows}
    return [by_id[question_id] for question_id in attempt.question_order if question_id in by_id]


def option_order(attempt: ExamAttempt, question: Question) -> list[int]:
    """Original option indexes in the order this attempt shows them."""
    identity = list(range(len(question.options)))
    order = (attempt.option_orders or {}).get(str(question.id))
    return order if order and sorted(order) == identity else identity


def answer_sheet(attempt: ExamAttempt) -> list[SheetQuestion]:
    """The attempt's questions and options as the worker sees them, numbered from 1."""
    return [SheetQuestion(number, question.text, question.kind, question.points,
                          [(shown, question.options[index])
                           for shown, index in enumerate(option_order(attempt, question), 1)])
            for number, question in enumerate(attempt_questions(attempt), 1)]


def saved_choices(attempt: ExamAttempt) -> dict[int, list[int]]:
    """The answers an attempt holds, as the worker sees them: {shown number: [shown positions]} (answered only)."""
    chosen = {}
    for number, question in enumerate(attempt_questions(attempt), 1):
        picked = (attempt.answers or {}).get(str(question.id))
        if picked is not None:
            order = option_order(attempt, question)
            chosen[number] = [shown for shown, index in enumerate(order, 1) if index in picked]
    return chosen


def original_answers(attempt: ExamAttempt, questions: list[Question],
                     chosen: Mapping[int, Iterable[str]]) -> dict[str, list[int]]:
    """Displayed choices ({question number: [displayed positions]}) mapped back to option indexes;
    anything out of range is ignored."""
    answers = {}
    for number, question in enumerate(questions, 1):
        order = option_order(attempt, question)
        shown = {value for text in chosen.get(number, ()) if (value := parse_id(str(text).strip())) is not None}
        answers[str(question.id)] = sorted(order[value - 1] for value in shown if 1 <= value <= len(order))
    return answers


def is_right(question: Question, picked: Iterable[int]) -> bool:
    """All or nothing: the chosen set equals the correct set."""
    return set(picked) == set(question.correct)


def score_answers(questions: list[Question], answers: Mapping[str, list[int]]) -> int:
    """Percent of the points earned, rounded half up."""
    total = sum(question.points for question in questions)
    earned = sum(q.points for q in questions if is_right(q, answers.get(str(q.id), ())))
    return (200 * earned + total) // (2 * total) if total else 0


def attempt_review(attempt: ExamAttempt, *, reveal: bool) -> list[ReviewQuestion]:
    """A submitted attempt, question by question: right or not, what was chosen (and, if revealed,
    which options were correct)."""
    if attempt.submitted_at is None:
        raise Conflict(_l("Submit the answers first."))
    review = []
    for number, question in enumerate(attempt_questions(attempt), 1):
        picked = set((attempt.answers or {}).get(str(question.id), ()))
        review.append(ReviewQuestion(number, question.text, question.points, is_right(question, picked), [
            (question.options[index], index in picked, (index in question.correct) if reveal else None)
            for index in option_order(attempt, question)]))
    return review
