"""Read-side queries of study: progress per course, for a person and for a roster (set-based)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from classroom.extensions import db
from courses.catalog.models import ClassSession, Course, CourseStatus, Lesson
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.study.models import LessonProgress

MY_STATUSES = (EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED, EnrollmentStatus.PENDING,
               EnrollmentStatus.COMPLETED)


def my_enrollments(user_id: int):
    """SELECT of a person's current and finished sign-ups, their courses loaded with them."""
    return (select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.status.in_(MY_STATUSES))
            .options(joinedload(Enrollment.course).joinedload(Course.host_union))
            .order_by(Enrollment.status == EnrollmentStatus.COMPLETED, Enrollment.requested_at.desc(),
                      Enrollment.id.desc()))


def lesson_counts(course_ids: list[int]) -> dict[int, int]:
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


def highlights(limit: int):
    """The newest city-wide published courses, for visitors."""
    from courses.catalog.services import in_scope_clause

    return (select(Course).where(Course.status == CourseStatus.PUBLISHED, in_scope_clause(None))
            .options(joinedload(Course.host_union), selectinload(Course.instructors))
            .order_by(Course.published_at.desc()).limit(limit))


def next_sessions(user_id: int, *, now, limit: int) -> list:
    """The next class sessions of the courses a person is enrolled in."""
    return db.session.execute(
        select(ClassSession, Course.title).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == user_id, Enrollment.status == EnrollmentStatus.ENROLLED,
               ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at).limit(limit)
    ).all()
