"""Who may do what to a course: its instructors edit it, the admins of its scope review it, and
nobody approves their own work."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from classroom.unions.scope import can_manage_union
from courses.catalog.models import Course, CourseInstructor, CourseRevision, CourseStatus
from courses.catalog.queries import lock_course, taught_among


def is_instructor_of(user, course: Course) -> bool:
    """Whether ``user`` teaches ``course``."""
    if not user.is_authenticated:
        return False
    return db.session.scalar(
        select(CourseInstructor.user_id).filter_by(course_id=course.id, user_id=user.id)
    ) is not None


def can_edit(user, course: Course) -> bool:
    """Its instructors and the site's administrators change a course."""
    return bool(user.is_authenticated and (user.is_site_admin or is_instructor_of(user, course)))


def can_review(user, course: Course) -> bool:
    """Admins of the course's visibility scope (its node or above) review and publish it."""
    return bool(user.is_authenticated and can_manage_union(user, course.scope_union))


def own_work(user, course: Course, revision: CourseRevision | None = None) -> bool:
    """Whether ``user`` teaches the course or proposed the change: another administrator of its
    scope then publishes or approves it (four eyes); sending back or rejecting stays open."""
    return is_instructor_of(user, course) or (revision is not None and revision.submitted_by_id == user.id)


def own_revisions(user, revisions: list[CourseRevision]) -> set[int]:
    """The ids of those revisions that are ``user``'s own work (own_work), in one query."""
    taught = taught_among(user, {r.course_id for r in revisions})
    return {r.id for r in revisions if r.course_id in taught or r.submitted_by_id == user.id}


def require(condition: bool) -> None:
    """Refuse with NotAllowed unless ``condition`` holds."""
    if not condition:
        raise NotAllowed(_l("You may not change this course."))


def editing(course: Course, actor) -> Course:
    """Check the actor may change the course and that it is not archived. A published course is
    locked for the transaction (and returned fresh): its pending revision changes one proposal at
    a time."""
    require(can_edit(actor, course))
    if course.status == CourseStatus.PUBLISHED:
        course = lock_course(course.id)
    if course.status == CourseStatus.ARCHIVED:
        raise Conflict(_l("An archived course cannot be changed."))
    return course
