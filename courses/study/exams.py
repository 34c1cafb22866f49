"""Exams: the instructor builds one per course (settings and choice questions); a worker takes it
in attempts scored on the server. The correct options never leave the server before a submission,
and the attempt limit holds under concurrent requests (the enrollment row is locked while counting)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from classroom.database import begin_write
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.forms import parse_id
from courses.catalog.models import Course
from courses.catalog.services import can_edit, lock_course, require
from courses.enrollment.models import Enrollment
from courses.study.models import Exam, ExamAttempt, Question
from courses.study.services import STUDYING, evaluate_completion, studying_enrollment

GRACE = timedelta(seconds=60)  # answers sent just as the time runs out still count
KINDS = ("single", "multiple")
SETTINGS = ("title", "pass_score", "attempt_limit", "time_limit_minutes", "shuffle")
MIN_OPTIONS, MAX_OPTIONS, MAX_OPTION_LENGTH, MAX_TEXT_LENGTH = 2, 10, 500, 2000
LATE_NOTE = "Time ran out: submitted %d s after the deadline, scored 0."
EXPIRED_NOTE = "Time ran out: never submitted, scored 0."


class AttemptsUsed(Conflict):
    message = _l("You have used all your attempts at this exam.")


class AlreadySubmitted(Conflict):
    message = _l("These answers have already been submitted.")


class ExamLocked(Conflict):
    message = _l("Workers have already taken this exam: only the wording of questions and options can change.")


# ---- building ---------------------------------------------------------------------------------------

def exam_of(course_id: int) -> Exam | None:
    return db.session.scalar(select(Exam).where(Exam.course_id == course_id))


def has_attempts(exam_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(ExamAttempt.exam_id == exam_id))))


def exam_summary(exam_id: int) -> tuple[int, int]:
    """(number of questions, total points)."""
    count, points = db.session.execute(
        select(func.count(Question.id), func.coalesce(func.sum(Question.points), 0)).where(Question.exam_id == exam_id)
    ).one()
    return count, int(points)


def save_exam(course: Course, data: Mapping, *, actor, now: datetime) -> Exam:
    """Create the course's exam or change its settings (they apply to attempts started later)."""
    require(can_edit(actor, course))
    _check_settings(data)
    course = lock_course(course.id)  # one exam per course, even when two tabs save at once
    exam = exam_of(course.id)
    if exam is None:
        exam = Exam(course_id=course.id, title="", created_at=now)
        db.session.add(exam)
        db.session.flush()  # an INSERT would replace None (no limit) by the column's default; an UPDATE won't
    for name in SETTINGS:
        setattr(exam, name, data[name].strip() if name == "title" else data[name])
    db.session.flush()
    return exam


def _check_settings(data: Mapping) -> None:
    if not (data.get("title") or "").strip():
        raise Invalid(_l("Give the exam a title."), field="title")
    if not 0 <= data["pass_score"] <= 100:
        raise Invalid(_l("The pass mark is a percentage from 0 to 100."), field="pass_score")
    for name in ("attempt_limit", "time_limit_minutes"):
        if data[name] is not None and data[name] < 1:
            raise Invalid(_l("Leave it empty or give a number of at least 1."), field=name)


def clean_question(data: Mapping) -> dict:
    """The question's fields, checked: 2–10 distinct options; a single-choice question has exactly one
    correct option, a multiple-choice one at least one; ``correct`` holds indexes into ``options``."""
    text, kind, points = (data.get("text") or "").strip(), data.get("kind"), data.get("points")
    options = [str(option).strip() for option in data.get("options") or () if str(option).strip()]
    correct = sorted(set(data.get("correct") or ()))
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise Invalid(_l("Write the question (at most %(max)d characters)."), field="text", max=MAX_TEXT_LENGTH)
    if kind not in KINDS:
        raise Invalid(_l("Choose single or multiple choice."), field="kind")
    if not isinstance(points, int) or not 1 <= points <= 100:
        raise Invalid(_l("Points are a whole number from 1 to 100."), field="points")
    _check_options(options)
    if any(not 0 <= index < len(options) for index in correct):
        raise Invalid(_l("Correct options are numbered from 1 to %(count)d."), field="correct", count=len(options))
    if kind == "single" and len(correct) != 1:
        raise Invalid(_l("A single-choice question has exactly one correct option."), field="correct")
    if not correct:
        raise Invalid(_l("Name at least one correct option."), field="correct")
    return {"text": text, "kind": kind, "points": points, "options": options, "correct": correct}


def _check_options(options: list[str]) -> None:
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise Invalid(_l("Give %(min)d to %(max)d options, one per line."), field="options",
                      min=MIN_OPTIONS, max=MAX_OPTIONS)
    if any(len(option) > MAX_OPTION_LENGTH for option in options):
        raise Invalid(_l("An option has at most %(max)d characters."), field="options", max=MAX_OPTION_LENGTH)
    if len(set(options)) != len(options):
        raise Invalid(_l("Two options have the same text."), field="options")


def _lock_exam(exam_id: int, actor) -> Exam:
    """The exam row, locked for the transaction (positions change one writer at a time)."""
    begin_write(db.session)
    exam = db.session.scalars(select(Exam).where(Exam.id == exam_id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    require(can_edit(actor, db.session.get(Course, exam.course_id)))
    return exam


def add_question(exam: Exam, data: Mapping, *, actor) -> Question:
    """Append a question (not once workers have taken the exam: their attempts keep its questions)."""
    exam = _lock_exam(exam.id, actor)
    fields = clean_question(data)
    if has_attempts(exam.id):
        raise ExamLocked()
    last = db.session.scalar(select(func.max(Question.position)).where(Question.exam_id == exam.id)) or 0
    question = Question(exam_id=exam.id, position=last + 1, **fields)
    db.session.add(question)
    db.session.flush()
    return question


def _structure(fields) -> tuple:
    """What scoring depends on; after the first attempt only the wording may change."""
    get = fields.get if isinstance(fields, dict) else lambda name: getattr(fields, name)
    return get("kind"), get("points"), len(get("options")), sorted(get("correct"))


def update_question(question: Question, data: Mapping, *, actor) -> Question:
    exam = _lock_exam(question.exam_id, actor)
    fields = clean_question(data)
    if has_attempts(exam.id) and _structure(fields) != _structure(question):
        raise ExamLocked(field="options")
    for name, value in fields.items():
        setattr(question, name, value)
    db.session.flush()
    return question


def delete_question(question: Question, *, actor) -> None:
    """Remove a question and close the gap in the numbering."""
    exam = _lock_exam(question.exam_id, actor)
    if has_attempts(exam.id):
        raise ExamLocked()
    position = question.position
    db.session.delete(question)
    db.session.flush()
    db.session.execute(update(Question).where(Question.exam_id == exam.id, Question.position > position)
                       .values(position=Question.position - 1).execution_options(synchronize_session=False))
    db.session.expire(exam)


# ---- attempts ---------------------------------------------------------------------------------------

def attempts_statement(exam_id: int, user_id: int):
    return select(ExamAttempt).where(ExamAttempt.exam_id == exam_id, ExamAttempt.user_id == user_id) \
        .order_by(ExamAttempt.number.desc())


def attempt_count(exam_id: int, user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ExamAttempt)
                             .where(ExamAttempt.exam_id == exam_id, ExamAttempt.user_id == user_id))


def attempts_left(exam: Exam, used: int) -> int | None:
    """None when the exam allows any number of attempts."""
    return None if exam.attempt_limit is None else max(0, exam.attempt_limit - used)


def is_open(attempt: ExamAttempt, now: datetime) -> bool:
    """Not submitted and still within its time: the worker may resume it."""
    return attempt.submitted_at is None and (attempt.deadline_at is None or now < attempt.deadline_at)


def timed_out(attempt: ExamAttempt) -> bool:
    """Submitted (or closed) after the deadline and its grace: recorded with score 0."""
    return bool(attempt.submitted_at and attempt.deadline_at and attempt.submitted_at > attempt.deadline_at + GRACE)


def current_attempt(exam_id: int, user_id: int, now: datetime) -> ExamAttempt | None:
    unsubmitted = db.session.scalars(attempts_statement(exam_id, user_id).where(ExamAttempt.submitted_at.is_(None)))
    return next((attempt for attempt in unsubmitted if is_open(attempt, now)), None)


def lock_enrollment(user_id: int, course_id: int) -> Enrollment:
    """The worker's enrollment, locked for the transaction: one attempt count per person at a time."""
    begin_write(db.session)
    enrollment = db.session.scalar(select(Enrollment).filter_by(user_id=user_id, course_id=course_id)
                                   .with_for_update().execution_options(populate_existing=True))
    if enrollment is None or enrollment.status not in STUDYING:
        raise NotAllowed(_l("Enroll in the course to take its exam."))
    return enrollment


def start_attempt(user, exam: Exam, *, now: datetime, rng: random.Random | None = None) -> ExamAttempt:
    """Resume the worker's open attempt, or begin the next one if the attempt limit allows."""
    lock_enrollment(user.id, exam.course_id)
    current = current_attempt(exam.id, user.id, now)
    if current is not None:
        return current
    _close_overdue(exam.id, user.id, now)
    used = attempt_count(exam.id, user.id)
    if attempts_left(exam, used) == 0:
        raise AttemptsUsed()
    questions = db.session.scalars(select(Question).where(Question.exam_id == exam.id)
                                   .order_by(Question.position)).all()
    if not questions:
        raise Conflict(_l("This exam has no questions yet."))
    last = db.session.scalar(select(func.max(ExamAttempt.number))
                             .where(ExamAttempt.exam_id == exam.id, ExamAttempt.user_id == user.id)) or 0
    deadline = now + timedelta(minutes=exam.time_limit_minutes) if exam.time_limit_minutes else None
    attempt = ExamAttempt(exam_id=exam.id, user_id=user.id, number=last + 1, started_at=now, deadline_at=deadline,
                          answers={}, **_orders(exam, questions, rng or random.SystemRandom()))
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:  # the unique (exam, user, number) caught a start the lock did not
        db.session.rollback()
        raise Conflict(_l("Another attempt was started at the same moment. Open the exam page again.")) from None
    return attempt


def _orders(exam: Exam, questions: list[Question], rng: random.Random) -> dict:
    ids = [question.id for question in questions]
    if not exam.shuffle:
        return {"question_order": ids, "option_orders": {}}
    rng.shuffle(ids)
    return {"question_order": ids,
            "option_orders": {str(q.id): rng.sample(range(len(q.options)), len(q.options)) for q in questions}}


def _close_overdue(exam_id: int, user_id: int, now: datetime) -> None:
    """Attempts left unsubmitted past their time are kept, recorded with score 0."""
    db.session.execute(
        update(ExamAttempt).where(ExamAttempt.exam_id == exam_id, ExamAttempt.user_id == user_id,
                                  ExamAttempt.submitted_at.is_(None), ExamAttempt.deadline_at < now - GRACE)
        .values(submitted_at=now, score=0, passed=False, note=EXPIRED_NOTE).execution_options(synchronize_session=False)
    )


# ---- what the worker sees, and scoring --------------------------------------------------------------

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
    return [SheetQuestion(number, question.text, question.kind, question.points,
                          [(shown, question.options[index])
                           for shown, index in enumerate(option_order(attempt, question), 1)])
            for number, question in enumerate(attempt_questions(attempt), 1)]


def original_answers(attempt: ExamAttempt, questions: list[Question],
                     chosen: Mapping[int, Iterable[str]]) -> dict[str, list[int]]:
    """Displayed choices ({question number: [displayed positions]}) mapped back to option indexes;
    anything out of range is ignored."""
    answers = {}
    for number, question in enumerate(questions, 1):
        order = option_order(attempt, question)
        shown = {parse_id(str(value).strip()) for value in chosen.get(number, ())} - {None}
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


class Submission(NamedTuple):
    attempt: ExamAttempt
    late: bool
    completed: bool  # the course's completion rule was met by this submission


def submit_attempt(attempt: ExamAttempt, chosen: Mapping[int, Iterable[str]], *, now: datetime) -> Submission:
    """Score the answers on the server, exactly once; late answers are kept with score 0. A scored
    submission re-evaluates the course's completion rule in the same transaction."""
    begin_write(db.session)
    exam = db.session.get(Exam, attempt.exam_id)
    enrollment = studying_enrollment(attempt.user_id, exam.course_id)
    if attempt.submitted_at is not None:
        raise AlreadySubmitted()
    questions = attempt_questions(attempt)
    answers = original_answers(attempt, questions, chosen)
    late = attempt.deadline_at is not None and now > attempt.deadline_at + GRACE
    score = 0 if late else score_answers(questions, answers)
    note = LATE_NOTE % (now - attempt.deadline_at).total_seconds() if late else None
    done = db.session.execute(
        update(ExamAttempt).where(ExamAttempt.id == attempt.id, ExamAttempt.submitted_at.is_(None))
        .values(answers=answers, submitted_at=now, score=score, passed=not late and score >= exam.pass_score,
                note=note).execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise AlreadySubmitted()
    db.session.refresh(attempt)
    completed = not late and evaluate_completion(enrollment, now=now)
    return Submission(attempt, late, completed)


def answers_revealed(exam: Exam, user_id: int) -> bool:
    """The correct options are shown once the worker can make no further attempt."""
    return attempts_left(exam, attempt_count(exam.id, user_id)) == 0


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
