"""Reading courses for pages and services: a course with its outline, a course's row lock, the
instructor's courses and the review queue."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from classroom.database import begin_write
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import managed_unions_clause
from courses.catalog.models import Course, CourseInstructor, CourseRevision, CourseStatus, RevisionStatus

REVIEW_QUEUE_LIMIT = 100  # changes to published courses shown at once in the review queue
REVIEW_ORDER = (Course.submitted_at, Course.id)  # the longest waiting first: keyset on ix_course_pending
REVISION_ORDER = (CourseRevision.submitted_at, CourseRevision.id)  # on ix_course_revision_pending


def course_with_outline(course_id: int) -> Course | None:
    """A course with its unions and instructors (one query), lessons and sessions (one each)."""
    return db.session.scalars(
        select(Course).where(Course.id == course_id)
        .options(joinedload(Course.host_union), joinedload(Course.scope_union), joinedload(Course.instructors),
                 selectinload(Course.lessons), selectinload(Course.sessions))
    ).unique().one_or_none()


def lock_course(course_id: int) -> Course:
    """Take the course row's lock for the rest of the transaction and return it fresh: seats,
    waitlist and revisions of one course change one transaction at a time."""
    begin_write(db.session)
    return db.session.scalars(
        select(Course).where(Course.id == course_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def taught_by(user) -> Select:
    """SELECT of the courses ``user`` teaches, the last changed first."""
    return (select(Course).join(CourseInstructor, CourseInstructor.course_id == Course.id)
            .where(CourseInstructor.user_id == user.id).order_by(Course.updated_at.desc()))


def _in_scope_of(statement: Select, reviewer) -> Select:
    return statement.join(TradeUnion, TradeUnion.id == Course.scope_union_id).where(managed_unions_clause(reviewer))


def courses_to_review(reviewer) -> Select:
    """SELECT of the courses waiting for review in ``reviewer``'s scope, the longest waiting first."""
    return (_in_scope_of(select(Course).where(Course.status == CourseStatus.PENDING), reviewer)
            .options(joinedload(Course.host_union)).order_by(*REVIEW_ORDER))


def revisions_waiting(reviewer) -> Select:
    """SELECT of the changes to published courses waiting for review in ``reviewer``'s scope (their courses
    and scopes loaded), the longest waiting first."""
    return (_in_scope_of(select(CourseRevision).join(Course, Course.id == CourseRevision.course_id), reviewer)
            .where(CourseRevision.status == RevisionStatus.PENDING)
            .options(joinedload(CourseRevision.course).joinedload(Course.scope_union))
            .order_by(*REVISION_ORDER))


def revisions_to_review(reviewer) -> list[CourseRevision]:
    """The first REVIEW_QUEUE_LIMIT of ``revisions_waiting`` (the review page's queue)."""
    return list(db.session.scalars(revisions_waiting(reviewer).limit(REVIEW_QUEUE_LIMIT)))


def review_key(row) -> tuple:
    """The sort key of a course or revision in the review queue (its cursor)."""
    return row.submitted_at, row.id


def taught_among(user, course_ids: set[int]) -> set[int]:
    """Those of ``course_ids`` that ``user`` teaches (one query)."""
    if not course_ids:
        return set()
    return set(db.session.scalars(select(CourseInstructor.course_id).where(
        CourseInstructor.user_id == user.id, CourseInstructor.course_id.in_(course_ids))))
