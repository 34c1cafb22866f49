"""The approvers' daily digest: one notification per person listing what waits for their decision.

A counter is ``counter(now) → {user_id: {label key: count}}``: items waiting for that person's decision;
features add theirs with a label per key (``registry.add_approval_counter``); a key without one shows as is.
The shell's own waiting items (membership applications, courses to review, sign-ups) are counted here."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Subquery, func, select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.registry import registry
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.catalog.models import Course, CourseInstructor, CourseStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus

Counts = dict[int, dict[str, int]]


def _admin_subtree_counts(items: Subquery, key: str) -> Counts:
    """{admin user id: {key: number of ``items`` (id, path) in the subtrees they administer}}."""
    admin_union = TradeUnion.__table__.alias("admin_union")
    rows = db.session.execute(
        select(RoleGrant.user_id, func.count(func.distinct(items.c.id))).select_from(RoleGrant)
        .join(admin_union, admin_union.c.id == RoleGrant.union_id)
        .join(items, items.c.path.like(admin_union.c.path + "%"))
        .where(RoleGrant.role == Role.UNION_ADMIN).group_by(RoleGrant.user_id)
    ).all()
    return {user_id: {key: count} for user_id, count in rows}


def pending_memberships(now: datetime) -> Counts:
    """Membership applications waiting, per admin of the union or one above it."""
    waiting = (select(Membership.id, TradeUnion.path).join(TradeUnion, TradeUnion.id == Membership.union_id)
               .where(Membership.status == MembershipStatus.APPLIED).subquery())
    return _admin_subtree_counts(waiting, "memberships")


def pending_courses(now: datetime) -> Counts:
    """Courses waiting for review, per admin of their scope or above it."""
    waiting = (select(Course.id, TradeUnion.path).join(TradeUnion, TradeUnion.id == Course.scope_union_id)
               .where(Course.status == CourseStatus.PENDING).subquery())
    return _admin_subtree_counts(waiting, "courses")


def pending_enrollments(now: datetime) -> Counts:
    """Sign-ups waiting for approval, per instructor of the course."""
    rows = db.session.execute(
        select(CourseInstructor.user_id, func.count(Enrollment.id))
        .join(Enrollment, Enrollment.course_id == CourseInstructor.course_id)
        .where(Enrollment.status == EnrollmentStatus.PENDING).group_by(CourseInstructor.user_id)
    ).all()
    return {user_id: {"enrollments": count} for user_id, count in rows}


COUNTERS = ((pending_memberships, {"memberships": _l("membership applications")}),
            (pending_courses, {"courses": _l("courses to review")}),
            (pending_enrollments, {"enrollments": _l("sign-ups to approve")}))


def waiting_counts(now: datetime) -> Counts:
    """Every counter's items, added up per person and key."""
    waiting: Counts = {}
    for counter in registry().approval_counters:
        for user_id, counts in counter(now).items():
            mine = waiting.setdefault(user_id, {})
            for key, count in counts.items():
                mine[key] = mine.get(key, 0) + count
    return waiting


def send_digest(*, now: datetime) -> int:
    """One notification per active approver with something waiting (none when nothing), once a day."""
    waiting = waiting_counts(now)
    labels = registry().digest_labels
    people = db.session.scalars(select(User).where(User.id.in_(list(waiting)), User.is_active.is_(True))).all()
    day = now.date().isoformat()
    made = 0
    for person in people:
        counts = {key: count for key, count in waiting[person.id].items() if count}
        if not counts:
            continue
        with force_locale(person.locale or "zh_CN"):
            labelled = [(str(labels.get(key, key)), count) for key, count in sorted(counts.items())]
        body = "；".join(f"{label}: {count}" for label, count in labelled)
        made += notify(person, "approvals.digest", f"approvals:{person.id}:{day}",
                       _l("%(count)d items wait for your decision"), body, link="/",
                       params={"count": sum(counts.values())}, facts={"counts": labelled}, now=now)
    return made
