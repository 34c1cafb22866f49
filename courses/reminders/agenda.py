"""The learning side of a worker's schedule (/me/schedule): their classes (the calendar feed's rule), the
enrollment deadlines of courses they follow, the last day of courses they are taking, and exam attempts
to submit. Each source answers one bounded window with one query."""

from __future__ import annotations

from datetime import datetime, time

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import exists, select

from classroom.accounts.models import User
from classroom.agenda import Item
from classroom.extensions import db
from classroom.timefmt import local_date, platform_zone
from courses.catalog.models import ClassSession, Course, CourseFollow, CourseStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.reminders.audience import attends_sessions
from courses.study.models import Exam, ExamAttempt


def schedule_items(user, start: datetime, end: datetime, limit: int) -> list[Item]:
    """Everything of the learning domain due for ``user`` between ``start`` and ``end``."""
    return [*_classes(user.id, start, end, limit), *_enrollment_deadlines(user.id, start, end, limit),
            *_course_ends(user.id, start, end, limit), *_exam_deadlines(user.id, start, end, limit)]


def _course_link(course_id: int) -> str:
    return url_for("enrollment.course", course_id=course_id)


def _classes(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    rows = db.session.execute(
        select(ClassSession, Course.title).join(Course, Course.id == ClassSession.course_id)
        .join(Enrollment, Enrollment.course_id == Course.id).join(User, User.id == Enrollment.user_id)
        .where(Enrollment.user_id == user_id, attends_sessions(), ClassSession.ends_at > start,
               ClassSession.starts_at < end)
        .order_by(ClassSession.starts_at, ClassSession.id).limit(limit))
    return [Item(session.starts_at, "class", _("Class"), f"{title} · {session.title}" if session.title else title,
                 _course_link(session.course_id), " ".join(filter(None, (session.venue_name, session.venue_address))),
                 ends_at=session.ends_at) for session, title in rows]


def _enrollment_deadlines(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    """Followed courses the person has not signed up for (the enrollment reminder's rule)."""
    signed_up = exists().where(Enrollment.course_id == Course.id, Enrollment.user_id == user_id,
                               Enrollment.status.not_in([EnrollmentStatus.DROPPED, EnrollmentStatus.REJECTED]))
    courses = db.session.scalars(
        select(Course).join(CourseFollow, CourseFollow.course_id == Course.id)
        .where(CourseFollow.user_id == user_id, Course.status == CourseStatus.PUBLISHED, ~signed_up,
               Course.enroll_closes_at >= start, Course.enroll_closes_at < end)
        .order_by(Course.enroll_closes_at, Course.id).limit(limit))
    return [Item(course.enroll_closes_at, "enrollment", _("Enrollment closes"), course.title, _course_link(course.id))
            for course in courses if course.enroll_closes_at]


def _course_ends(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    """The last day of a course the person is taking and has not completed: lessons and exam by then."""
    courses = db.session.scalars(
        select(Course).join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == user_id, Enrollment.status == EnrollmentStatus.ENROLLED,
               Course.ends_on >= local_date(start), Course.ends_on < local_date(end))
        .order_by(Course.ends_on, Course.id).limit(limit))
    return [Item(datetime.combine(course.ends_on, time(), tzinfo=platform_zone()), "course_end",
                 _("Last day of the course"), course.title, _course_link(course.id),
                 _("Finish its lessons and exam by then."), all_day=True)
            for course in courses if course.ends_on]


def _exam_deadlines(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    """Timed exam attempts in progress: submit by their deadline."""
    rows = db.session.execute(
        select(ExamAttempt.deadline_at, Exam.course_id, Course.title).join(Exam, Exam.id == ExamAttempt.exam_id)
        .join(Course, Course.id == Exam.course_id)
        .where(ExamAttempt.user_id == user_id, ExamAttempt.submitted_at.is_(None), ExamAttempt.deadline_at >= start,
               ExamAttempt.deadline_at < end)
        .order_by(ExamAttempt.deadline_at).limit(limit))
    return [Item(deadline, "exam", _("Submit the exam"), title, url_for("exams.take", course_id=course_id))
            for deadline, course_id, title in rows if deadline]
