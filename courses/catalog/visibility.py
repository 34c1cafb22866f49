"""Who sees a course: published courses in a person's scope (the union of their active membership
or one above it), city-wide courses for everyone; any status for its instructors and reviewers."""

from __future__ import annotations

from sqlalchemy import Select, and_, select

from classroom.extensions import db
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.catalog.models import Course, CourseStatus
from courses.catalog.permissions import can_edit, can_review


def member_union_path(user) -> str | None:
    """The path of the union a person belongs to now: active membership, else the applied one.
    (Competition notices read this; a course's scope asks scope_union_path.)"""
    if not user.is_authenticated:
        return None
    rows = db.session.execute(
        select(Membership.status, TradeUnion.path).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.user_id == user.id,
               Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.APPLIED]))
    ).all()
    by_status = {status: path for status, path in rows}
    return by_status.get(MembershipStatus.ACTIVE) or by_status.get(MembershipStatus.APPLIED)


def scope_union_path(user) -> str | None:
    """The path of the union whose courses a person may see and enroll in: that of their active
    membership only. An applicant not yet approved sees city-wide courses, like a visitor."""
    if not user.is_authenticated:
        return None
    return db.session.scalar(scope_path_of(user.id))


def scope_path_of(user_id) -> Select:
    """SELECT of ``scope_union_path`` (``user_id`` a value or a column)."""
    return (select(TradeUnion.path).join(Membership, Membership.union_id == TradeUnion.id)
            .where(Membership.user_id == user_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(Membership.id.desc()).limit(1))


def covers(scope_path: str, city_wide: bool, person_path: str | None) -> bool:
    """Whether a course for the union at ``scope_path`` is for a person whose union has ``person_path`` (None: a
    visitor or an applicant): the course's union is theirs or one above it; city-wide courses are for everyone."""
    return city_wide or bool(person_path and person_path.startswith(scope_path))


def in_scope_clause(user_path: str | None):
    """SQL over Course: the course's scope covers this person, i.e. its scope union is the
    person's union or one above it (the ids in the person's path). City-wide courses (scope =
    the root) are for everyone, visitors included. One indexed IN, no join."""
    if not user_path:
        return Course.scope_union_id == select(TradeUnion.id).where(TradeUnion.parent_id.is_(None)).scalar_subquery()
    return Course.scope_union_id.in_([int(part) for part in user_path.strip("/").split("/") if part])


def visible_clause(user_path: str | None):
    """Published, and in the scope of a person whose union has this path (None: a visitor)."""
    return and_(Course.status == CourseStatus.PUBLISHED, in_scope_clause(user_path))


def can_view(user, course: Course) -> bool:
    """Published courses in the person's scope; any status for its instructors and reviewers.
    (The enrollment feature widens this to people enrolled in an archived course.)"""
    if course.status == CourseStatus.PUBLISHED:
        scope = course.scope_union
        if scope.parent_id is None or covers(scope.path, False, scope_union_path(user)):
            return True
    return bool(user.is_authenticated and (can_edit(user, course) or can_review(user, course)))
