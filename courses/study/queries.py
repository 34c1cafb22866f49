"""Read-side queries of study: lessons by position, progress per course for a person and for a roster
(set-based), the roster's sign-ups, the home page's lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.pagination import bounded_counts
from courses.catalog.models import ClassSession, Course, CourseStatus, Lesson
from courses.catalog.visibility import in_scope_clause
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.enrollment.page import study_point_columns
from courses.study.models import Exam, LessonProgress

MY_STATUSES = (EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED, EnrollmentStatus.PENDING,
               EnrollmentStatus.COMPLETED)


def my_enrollments(user_id: int) -> Select[Enrollment]:
    """SELECT of a person's current and finished sign-ups, their courses loaded with them."""
    return (select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.status.in_(MY_STATUSES))
            .options(joinedload(Enrollment.course).joinedload(Course.host_union))
            .order_by(Enrollment.status == EnrollmentStatus.COMPLETED, Enrollment.requested_at.desc(),
                      Enrollment.id.desc()))


def current_with_progress(user_id: int, limit: int) -> tuple[list[Enrollment], dict[int, tuple[int, int]]]:
    """A person's first ``limit`` sign-ups (as ``my_enrollments``) and {course_id: (lessons completed,
    lessons)} of each, in one statement."""
    lessons = select(func.count(Lesson.id)).where(Lesson.course_id == Enrollment.course_id).scalar_subquery()
    done = (select(func.count(LessonProgress.id))
            .where(LessonProgress.user_id == user_id, LessonProgress.course_id == Enrollment.course_id,
                   LessonProgress.completed_at.is_not(None)).scalar_subquery())
    rows = db.session.execute(my_enrollments(user_id).add_columns(done, lessons).limit(limit)).unique().all()
    return [row[0] for row in rows], {row[0].course_id: (row[1], row[2]) for row in rows}


def lesson_at(course_id: int, position: int) -> Lesson | None:
    """The course's lesson at ``position`` (numbered from 1), if there is one."""
    return db.session.scalar(select(Lesson).filter_by(course_id=course_id, position=position))


def lesson_page(course_id: int, position: int) -> tuple[Lesson, int] | None:
    """The course's lesson at ``position`` with its attachments, and how many lessons the course has: one
    statement (the lesson page)."""
    count = select(func.count(Lesson.id)).where(Lesson.course_id == course_id).scalar_subquery()
    row = db.session.execute(select(Lesson, count).filter_by(course_id=course_id, position=position)
                             .options(joinedload(Lesson.attachments))).unique().first()
    return (row[0], row[1]) if row else None


def has_lesson_at(course_id: int, position: int) -> bool:
    """Whether the course has a lesson at ``position``."""
    return db.session.scalar(select(Lesson.id).filter_by(course_id=course_id, position=position)) is not None


def resume_point(user_id: int, course_id: int) -> tuple[int | None, bool]:
    """(the position of the person's first lesson not completed — None when every lesson is, or there is
    none —, whether they have opened any lesson of the course): where "Continue studying" leads."""
    first, opened, _exam = study_point(user_id, course_id)
    return first, opened


def study_point(user_id: int, course_id: int) -> tuple[int | None, bool, bool]:
    """``resume_point`` and whether the course has an exam, in one statement (the course page's buttons)."""
    row = db.session.execute(select(*study_point_columns(user_id, course_id))).one()
    return row[0], bool(row[1]), bool(row[2])


def has_exam(course_id: int) -> bool:
    """Whether the course has an exam."""
    return db.session.scalar(select(Exam.id).where(Exam.course_id == course_id)) is not None


def lesson_counts(course_ids: list[int]) -> dict[int, int]:
    """{course_id: number of lessons}."""
    if not course_ids:
        return {}
    return dict(db.session.execute(select(Lesson.course_id, func.count()).where(Lesson.course_id.in_(course_ids))
                                   .group_by(Lesson.course_id)).all())


def completed_counts(user_ids: list[int], course_ids: list[int]) -> dict[tuple[int, int], int]:
    """{(user_id, course_id): lessons completed}."""
    if not user_ids or not course_ids:
        return {}
    rows = db.session.execute(
        select(LessonProgress.user_id, LessonProgress.course_id, func.count())
        .where(LessonProgress.user_id.in_(user_ids), LessonProgress.course_id.in_(course_ids),
               LessonProgress.completed_at.is_not(None))
        .group_by(LessonProgress.user_id, LessonProgress.course_id)
    ).all()
    return {(user_id, course_id): count for user_id, course_id, count in rows}


def progress_summary(user_id: int, course_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{course_id: (lessons completed, lessons)} for one person, in two queries."""
    totals = lesson_counts(course_ids)
    done = completed_counts([user_id], course_ids)
    return {course_id: (done.get((user_id, course_id), 0), totals.get(course_id, 0)) for course_id in course_ids}


def progress_for_roster(course_id: int, user_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{user_id: (lessons completed, lessons)} for the people of one course page."""
    total = lesson_counts([course_id]).get(course_id, 0)
    done = completed_counts(user_ids, [course_id])
    return {user_id: (done.get((user_id, course_id), 0), total) for user_id in user_ids}


def highlights(limit: int) -> Select[Course]:
    """The newest city-wide published courses, for visitors."""
    return (select(Course).where(Course.status == CourseStatus.PUBLISHED, in_scope_clause(None))
            .options(joinedload(Course.host_union), selectinload(Course.instructors))
            .order_by(Course.published_at.desc()).limit(limit))


def next_sessions(user_id: int, *, now: datetime, limit: int) -> list[Row[ClassSession, str]]:
    """The next class sessions of the courses a person is enrolled in."""
    return list(db.session.execute(
        select(ClassSession, Course.title).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == user_id, Enrollment.status == EnrollmentStatus.ENROLLED,
               ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at).limit(limit)
    ))


# by status, the waitlist in line, then by sign-up: keyset on ix_enrollment_roster
ROSTER_ORDER = (Enrollment.status, func.coalesce(Enrollment.waitlist_seq, 0), Enrollment.requested_at, Enrollment.id)


def roster_statement(course_id: int, status: str = "") -> Select[Enrollment, User]:
    """SELECT (Enrollment, User) of a course's sign-ups, of one status when it names one, in ROSTER_ORDER."""
    statement = (select(Enrollment, User).join(User, User.id == Enrollment.user_id)
                 .where(Enrollment.course_id == course_id))
    if status in set(EnrollmentStatus):
        statement = statement.where(Enrollment.status == status)
    return statement.order_by(*ROSTER_ORDER)


def roster_key(row: Row) -> tuple:
    """The sort key of a roster row (its cursor)."""
    enrollment = row.Enrollment
    return enrollment.status, enrollment.waitlist_seq or 0, enrollment.requested_at, enrollment.id


def status_counts(course_id: int) -> dict[str, tuple[int, bool]]:
    """{status: (number of the course's sign-ups, whether that stopped at COUNT_BOUND)}, in one statement."""
    return bounded_counts({status.value: select(Enrollment.id).where(Enrollment.course_id == course_id,
                                                                     Enrollment.status == status)
                           for status in EnrollmentStatus})
