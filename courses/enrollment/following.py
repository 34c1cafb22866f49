"""Following a course: a person hears when its enrollment is about to close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from classroom.extensions import db
from courses.catalog.models import Course, CourseFollow


def follow_of(user_id: int, course_id: int) -> CourseFollow | None:
    """The person's follow of the course, if they follow it."""
    return db.session.scalar(select(CourseFollow).filter_by(user_id=user_id, course_id=course_id))


def set_following(user, course: Course, follow: bool, *, now: datetime) -> None:
    """Follow the course or stop following it; doing what is already done changes nothing."""
    existing = follow_of(user.id, course.id)
    if follow and existing is None:
        db.session.add(CourseFollow(user_id=user.id, course_id=course.id, created_at=now))
    elif not follow and existing is not None:
        db.session.delete(existing)
