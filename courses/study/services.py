"""Studying lessons: opening, heartbeats (capped at real elapsed time), completion, and the
course's completion rule, evaluated when a relevant event happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, func, select, update

from classroom.database import dialect_insert
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from courses.attendance.models import ATTENDED, Attendance
from courses.catalog.models import ClassSession, Course, Lesson
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.enrollment.services import enrollment_of
from courses.study.hooks import enrollment_completed, lesson_completed
from courses.study.models import Exam, ExamAttempt, LessonProgress

STUDYING = (EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED)


def is_studying(user_id: int, course_id: int) -> bool:
    """Whether the person is enrolled in the course (or has completed it): its lessons and exam are theirs."""
    mine = enrollment_of(user_id, course_id)
    return mine is not None and mine.status in STUDYING


def studying_enrollment(user_id: int, course_id: int) -> Enrollment:
    """The person's enrollment in the course, refused unless they are studying it."""
    enrollment = enrollment_of(user_id, course_id)
    if enrollment is None or enrollment.status not in STUDYING:
        raise NotAllowed(_l("Enroll in the course to study its lessons."))
    return enrollment


def studying_of(user_id: int, course_id: int) -> Enrollment | None:
    """The person's enrollment in the course when they are studying it (``is_studying``), else None."""
    mine = enrollment_of(user_id, course_id)
    return mine if mine is not None and mine.status in STUDYING else None


def open_lesson(user, lesson: Lesson, *, now: datetime, enrollment: Enrollment | None = None) -> LessonProgress:
    """Record that the person opened the lesson (first time, or a new sitting); ``enrollment``: theirs in
    the course, when the caller has just read it."""
    if enrollment is None or enrollment.user_id != user.id or enrollment.course_id != lesson.course_id:
        enrollment = studying_enrollment(user.id, lesson.course_id)
    insert = dialect_insert(db.session)
    db.session.execute(
        insert(LessonProgress).values(user_id=user.id, lesson_id=lesson.id, course_id=lesson.course_id,
                                      first_opened_at=now, last_seen_at=now, seconds_studied=0)
        .on_conflict_do_update(index_elements=["user_id", "lesson_id"], set_={"last_seen_at": now})
    )
    enrollment.last_studied_at = now
    return _saved_progress(user.id, lesson.id)


def _progress(user_id: int, lesson_id: int) -> Select[LessonProgress]:
    return (select(LessonProgress).filter_by(user_id=user_id, lesson_id=lesson_id)
            .execution_options(populate_existing=True))


def progress_of(user_id: int, lesson_id: int) -> LessonProgress | None:
    """The person's progress in the lesson, fresh from the database; None before they first open it."""
    return db.session.scalar(_progress(user_id, lesson_id))


def _saved_progress(user_id: int, lesson_id: int) -> LessonProgress:
    """The progress row this transaction has just written."""
    return db.session.scalars(_progress(user_id, lesson_id)).one()


def heartbeat(user, lesson: Lesson, *, now: datetime, resume: bool = False,
              read_permille: int | None = None) -> LessonProgress:
    """Credit the time since the last beat, never more than one beat's interval (plus a little
    slack): a page left open in a background tab earns nothing, two tabs earn no double time.
    ``resume`` (the page became visible again) restarts the clock without credit. ``read_permille``
    (how far down the page the person is, 0-1000) is kept for "Continue studying"."""
    studying_enrollment(user.id, lesson.course_id)
    progress = progress_of(user.id, lesson.id)
    if progress is None:
        return open_lesson(user, lesson, now=now)
    interval = current_app.config["HEARTBEAT_SECONDS"]
    elapsed = max(0, int((now - progress.last_seen_at).total_seconds()))
    credit = 0 if resume else min(elapsed, interval + interval // 2)
    values: dict[str, Any] = {"last_seen_at": now, "seconds_studied": LessonProgress.seconds_studied + credit}
    if read_permille is not None and 0 <= read_permille <= 1000:
        values["read_permille"] = read_permille
    db.session.execute(  # only if no other beat got in first
        update(LessonProgress)
        .where(LessonProgress.id == progress.id, LessonProgress.last_seen_at == progress.last_seen_at)
        .values(values).execution_options(synchronize_session=False)
    )
    return _saved_progress(user.id, lesson.id)


def seconds_needed(lesson: Lesson) -> int:
    """The study time that lets a person mark the lesson complete."""
    return int(lesson.credit_minutes * 60 * current_app.config["LESSON_COMPLETE_SHARE"])


def minutes_shown(studied: int, needed: int) -> tuple[str, str]:
    """(studied, needed) as the lesson page shows them, in minutes: to a tenth under ten minutes, else
    whole; the time studied rounded down, the time needed up, and the two equal once it is reached."""
    step = 6 if needed < 600 else 60
    target = -(-needed // step)
    done = max(studied // step, target) if studied >= needed else studied // step
    shown, aim = (format_decimal(count * step / 60, format="#,##0.#") for count in (done, target))
    return shown, aim


def can_complete(progress: LessonProgress | None, lesson: Lesson) -> bool:
    """Whether enough of the lesson is studied to mark it complete."""
    return progress is not None and progress.seconds_studied >= seconds_needed(lesson)


def complete_lesson(user, lesson: Lesson, *, now: datetime) -> bool:
    """Mark a lesson done once its share of time is studied; True the first time."""
    enrollment = studying_enrollment(user.id, lesson.course_id)
    progress = progress_of(user.id, lesson.id)
    if progress is None or not can_complete(progress, lesson):
        raise Conflict(_l("Study this lesson a little longer before marking it complete."))
    done = cast(CursorResult[Any], db.session.execute(
        update(LessonProgress).where(LessonProgress.id == progress.id, LessonProgress.completed_at.is_(None))
        .values(completed_at=now).execution_options(synchronize_session=False)
    )).rowcount
    if not done:
        return False
    progress = _saved_progress(user.id, lesson.id)
    lesson_completed.send(lesson, user_id=user.id, progress=progress, now=now)
    evaluate_completion(enrollment, now=now)
    return True


# ---- the completion rule --------------------------------------------------------------------------

def attendance_met(enrollment: Enrollment, course: Course) -> bool:
    """The share of the course's class sessions attended (present or late) reaches the rule (a course
    that asks for attendance but holds no class yet: not met)."""
    if not course.min_attendance_share:
        return True
    attended, total = attendance_share(enrollment.user_id, course.id)
    return total > 0 and attended * 100 >= course.min_attendance_share * total


def attendance_share(user_id: int, course_id: int) -> tuple[int, int]:
    """(sessions attended, sessions of the course)."""
    total = db.session.scalar(select(func.count()).select_from(ClassSession)
                              .where(ClassSession.course_id == course_id)) or 0
    attended = db.session.scalar(
        select(func.count()).select_from(Attendance).join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(ClassSession.course_id == course_id, Attendance.user_id == user_id,
               Attendance.status.in_(ATTENDED))) or 0
    return attended, total


def lesson_share(user_id: int, course_id: int) -> tuple[int, int]:
    """(lessons completed, lessons in the course)."""
    total = db.session.scalar(select(func.count()).select_from(Lesson).where(Lesson.course_id == course_id)) or 0
    done = db.session.scalar(
        select(func.count()).select_from(LessonProgress).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == user_id, Lesson.course_id == course_id,
               LessonProgress.completed_at.is_not(None))
    ) or 0
    return done, total


def best_exam_score(user_id: int, course_id: int) -> int | None:
    """The person's best score at the course's exam; None before a submitted attempt."""
    return db.session.scalar(
        select(func.max(ExamAttempt.score)).join(Exam, Exam.id == ExamAttempt.exam_id)
        .where(Exam.course_id == course_id, ExamAttempt.user_id == user_id, ExamAttempt.submitted_at.is_not(None))
    )


def rule_met(enrollment: Enrollment, course: Course) -> bool:
    """Whether the course's completion rule holds: lessons, exam score and attendance."""
    done, total = lesson_share(enrollment.user_id, course.id)
    if total and done * 100 < course.min_lesson_share * total:
        return False
    if course.min_exam_score is not None:
        best = best_exam_score(enrollment.user_id, course.id)
        if best is None or best < course.min_exam_score:
            return False
    return attendance_met(enrollment, course)


def evaluate_completion(enrollment: Enrollment, *, now: datetime) -> bool:
    """Complete the enrollment when the course's rule is met; exactly once (a conditional
    update), emitting ``enrollment_completed``. True when it completed now."""
    if enrollment.status != EnrollmentStatus.ENROLLED:
        return False
    course = db.session.get_one(Course, enrollment.course_id)
    if not rule_met(enrollment, course):
        return False
    changed = cast(CursorResult[Any], db.session.execute(
        update(Enrollment).where(Enrollment.id == enrollment.id, Enrollment.status == EnrollmentStatus.ENROLLED)
        .values(status=EnrollmentStatus.COMPLETED, completed_at=now).execution_options(synchronize_session=False)
    )).rowcount
    if not changed:
        return False
    db.session.refresh(enrollment)
    enrollment_completed.send(enrollment, now=now)
    return True


def on_attendance(attendance, *, session, now, **_) -> None:
    """An attendance change may complete (never un-complete) the person's enrollment."""
    enrollment = enrollment_of(attendance.user_id, session.course_id)
    if enrollment is not None:
        evaluate_completion(enrollment, now=now)
