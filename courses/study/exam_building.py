"""Building a course's exam: its settings and its single- and multiple-choice questions, checked here
(the forms only turn what the instructor typed into this input). Once workers have taken the exam, its
questions keep what their scores depend on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update

from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from courses.catalog.models import Course
from courses.catalog.permissions import can_edit, require
from courses.catalog.queries import lock_course
from courses.study.models import Exam, ExamAttempt, Question

KINDS = ("single", "multiple")
SETTINGS = ("title", "pass_score", "attempt_limit", "time_limit_minutes", "shuffle")
MIN_OPTIONS, MAX_OPTIONS, MAX_OPTION_LENGTH, MAX_TEXT_LENGTH = 2, 10, 500, 2000


class ExamLocked(Conflict):
    message = _l("Workers have already taken this exam: only the wording of questions and options can change.")


def exam_of(course_id: int) -> Exam | None:
    """The course's exam, if it has one."""
    return db.session.scalar(select(Exam).where(Exam.course_id == course_id))


def has_attempts(exam_id: int) -> bool:
    """Whether any worker has started the exam (its questions then keep their scoring)."""
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
    require(can_edit(actor, db.session.get_one(Course, exam.course_id)))
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


def _scoring(fields: Mapping[str, Any]) -> tuple:
    """What scoring depends on; after the first attempt only the wording may change."""
    return fields["kind"], fields["points"], len(fields["options"]), sorted(fields["correct"])


def update_question(question: Question, data: Mapping, *, actor) -> Question:
    """Change a question (once workers have taken the exam, only its wording)."""
    exam = _lock_exam(question.exam_id, actor)
    fields = clean_question(data)
    saved = {name: getattr(question, name) for name in ("kind", "points", "options", "correct")}
    if has_attempts(exam.id) and _scoring(fields) != _scoring(saved):
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
