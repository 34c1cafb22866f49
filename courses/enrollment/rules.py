"""When a person may sign up for a course or leave it: asked before the course page offers the button,
and again by the service when it is pressed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from classroom.domain import Conflict, DomainError
from classroom.timefmt import local_date, local_minute
from courses.catalog.models import Course, CourseStatus
from courses.catalog.visibility import can_view
from courses.enrollment.models import Enrollment, EnrollmentStatus

LEAVING = (EnrollmentStatus.PENDING, EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED)


class EnrollmentClosed(Conflict):
    message = _l("Enrollment for this course is not open.")


def check_open(user, course: Course, now: datetime) -> None:
    """Raise EnrollmentClosed unless the course takes sign-ups from ``user`` now (published, in their scope,
    inside its enrollment window)."""
    check_open_to(course, now, seen=course.status == CourseStatus.PUBLISHED and can_view(user, course))


def check_open_to(course, now: datetime, *, seen: bool) -> None:
    """``check_open`` for a person who sees the published course (``seen``) or not; ``course`` has its
    enrollment window (a Course, or the course page's drawing of one)."""
    if not seen:
        raise EnrollmentClosed()
    if course.enroll_opens_at and now < course.enroll_opens_at:
        raise EnrollmentClosed(_l("Enrollment opens on %(date)s."), date=local_minute(course.enroll_opens_at))
    if course.enroll_closes_at and now >= course.enroll_closes_at:
        raise EnrollmentClosed(_l("Enrollment closed on %(date)s."), date=local_minute(course.enroll_closes_at))


def check_leave(enrollment: Enrollment, course, now: datetime) -> None:
    """Raise unless the worker may leave on their own: once the course has started, a seat is freed by its
    instructor (unless DROP_AFTER_START)."""
    if enrollment.status not in LEAVING:
        raise Conflict(_l("You are not signed up for this course."))
    if course.starts_on and local_date(now) >= course.starts_on and enrollment.status == EnrollmentStatus.ENROLLED \
            and not current_app.config["DROP_AFTER_START"]:
        raise Conflict(_l("The course has started; ask its instructor to take you off the list."))


def refusal(check: Callable[[], None]) -> str | None:
    """What ``check`` refuses, as the person reads it; None when it allows."""
    try:
        check()
    except DomainError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Offers:
    """Why the course page offers no sign-up or no leaving to this person now (None: it offers it)."""

    enroll: str | None
    leave: str | None


def offers(course, mine: Enrollment | None, *, seen: bool, now: datetime) -> Offers:
    """The course page's buttons for a person who sees the published course (``seen``, as check_open_to) with
    their sign-up ``mine``: each refused with the rule's words, or None (offered)."""
    return Offers(enroll=refusal(lambda: check_open_to(course, now, seen=seen)),
                  leave=refusal(lambda: check_leave(mine, course, now)) if mine is not None else None)
