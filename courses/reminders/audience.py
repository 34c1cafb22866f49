"""Whom a class session is for: one rule shared by the session reminders and the calendar feed."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from classroom.accounts.models import User
from courses.enrollment.models import Enrollment, EnrollmentStatus


def attends_sessions() -> ColumnElement[bool]:
    """SQL over a joined Enrollment and its User: the course's class sessions are for this person (an
    enrollment still running, not waiting, completed or dropped; an active account). A class is in
    someone's calendar feed exactly when its reminders go to them."""
    return and_(Enrollment.status == EnrollmentStatus.ENROLLED, User.is_active.is_(True))
