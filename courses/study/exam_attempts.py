"""Taking a course's exam: attempts within the limit, each with its own order of questions and options and
its deadline, submitted and scored exactly once. The attempt limit holds under concurrent requests (the
enrollment row is locked while counting); a scored submission may complete the course."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.exc import IntegrityError

from classroom.database import begin_write
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from courses.enrollment.models import Enrollment
from courses.study.exam_scoring import attempt_questions, original_answers, score_answers
from courses.study.models import Exam, ExamAttempt, Question
from courses.study.services import STUDYING, evaluate_completion

GRACE = timedelta(seconds=60)  # answers sent just as the time runs out still count
LATE_NOTE = "Time ran out: submitted %d s after the deadline, scored 0."
EXPIRED_NOTE = "Time ran out: never submitted, scored 0."


class AttemptsUsed(Conflict):
    message = _l("You have used all your attempts at this exam.")


class AlreadySubmitted(Conflict):
    message = _l("These answers have already been submitted.")


def attempts_statement(exam_id: int, user_id: int) -> Select[ExamAttempt]:
    """SELECT of a worker's attempts at the exam, the latest first."""
    return select(ExamAttempt).where(ExamAttempt.exam_id == exam_id, ExamAttempt.user_id == user_id) \
        .order_by(ExamAttempt.number.desc())


def attempt_count(exam_id: int, user_id: int) -> int:
    """How many attempts the worker has started."""
    return db.session.scalar(select(func.count()).select_from(ExamAttempt)
                             .where(ExamAttempt.exam_id == exam_id, ExamAttempt.user_id == user_id)) or 0


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
    """The worker's attempt still open, if any."""
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
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:  # the unique (exam, user, number) caught a start the lock did not
        raise Conflict(_l("Another attempt was started at the same moment. Open the exam page again.")) from None
    return attempt


def _orders(exam: Exam, questions: Sequence[Question], rng: random.Random) -> dict:
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


class Submission(NamedTuple):
    """A scored submission: the attempt, whether it came too late, whether it completed the course."""

    attempt: ExamAttempt
    late: bool
    completed: bool  # the course's completion rule was met by this submission


def save_answers(attempt: ExamAttempt, chosen: Mapping[int, Iterable[str]], *, now: datetime) -> ExamAttempt:
    """Keep the worker's choices for some questions of an open attempt ({shown number: [shown positions]}), to be
    scored when it is submitted with ``keep_saved``; a later choice for a question replaces the earlier one."""
    exam = db.session.get_one(Exam, attempt.exam_id)
    lock_enrollment(attempt.user_id, exam.course_id)  # saves and submissions of one person queue here
    db.session.refresh(attempt)
    if attempt.submitted_at is not None:
        raise AlreadySubmitted()
    if _late_by(attempt, now) is not None:
        raise Conflict(_l("Time ran out: submit the attempt to have it recorded."))
    attempt.answers = _merged(attempt, attempt_questions(attempt), chosen)
    db.session.flush()
    return attempt


def _merged(attempt: ExamAttempt, questions: list[Question], chosen: Mapping[int, Iterable[str]]) -> dict:
    """The attempt's saved answers with the questions of ``chosen`` answered anew."""
    given = original_answers(attempt, questions, chosen)
    numbered = {str(question.id) for number, question in enumerate(questions, 1) if number in chosen}
    return {**(attempt.answers or {}), **{key: value for key, value in given.items() if key in numbered}}


def submit_attempt(attempt: ExamAttempt, chosen: Mapping[int, Iterable[str]], *, now: datetime,
                   keep_saved: bool = False) -> Submission:
    """Score the answers on the server, exactly once; late answers are kept with score 0. ``keep_saved``: the
    answers kept by ``save_answers`` count too (``chosen`` replaces them question by question). A scored
    submission re-evaluates the course's completion rule in the same transaction."""
    exam = db.session.get_one(Exam, attempt.exam_id)
    enrollment = lock_enrollment(attempt.user_id, exam.course_id)
    db.session.refresh(attempt)
    if attempt.submitted_at is not None:
        raise AlreadySubmitted()
    questions = attempt_questions(attempt)
    answers = _merged(attempt, questions, chosen) if keep_saved else original_answers(attempt, questions, chosen)
    late_by = _late_by(attempt, now)
    late = late_by is not None
    score = 0 if late else score_answers(questions, answers)
    note = LATE_NOTE % late_by.total_seconds() if late_by is not None else None
    done = cast(CursorResult[Any], db.session.execute(
        update(ExamAttempt).where(ExamAttempt.id == attempt.id, ExamAttempt.submitted_at.is_(None))
        .values(answers=answers, submitted_at=now, score=score, passed=not late and score >= exam.pass_score,
                note=note).execution_options(synchronize_session=False)
    )).rowcount
    if not done:
        raise AlreadySubmitted()
    db.session.refresh(attempt)
    completed = not late and evaluate_completion(enrollment, now=now)
    return Submission(attempt, late, completed)


def _late_by(attempt: ExamAttempt, now: datetime) -> timedelta | None:
    """How long after the deadline answers arriving ``now`` are, when beyond the grace; None in time."""
    if attempt.deadline_at is None or now <= attempt.deadline_at + GRACE:
        return None
    return now - attempt.deadline_at


def answers_revealed(exam: Exam, user_id: int) -> bool:
    """The correct options are shown once the worker can make no further attempt."""
    return attempts_left(exam, attempt_count(exam.id, user_id)) == 0
