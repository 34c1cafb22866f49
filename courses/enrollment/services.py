"""Enrollment: seats, the FIFO waitlist, approval, dropping and who may open a course."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from classroom.notifications.services import notify, notify_many
from courses.catalog.models import Announcement, ClassSession, Course, CourseStatus
from courses.catalog.permissions import can_edit, can_review
from courses.catalog.queries import lock_course
from courses.catalog.visibility import can_view
from courses.enrollment.models import SEATED, Enrollment, EnrollmentStatus
from courses.enrollment.rules import LEAVING, check_leave, check_open
from courses.enrollment.rules import EnrollmentClosed as EnrollmentClosed  # where callers have always found it

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OPEN_STATUSES = (EnrollmentStatus.PENDING, EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED,
                 EnrollmentStatus.COMPLETED)


class AlreadyEnrolled(Conflict):
    message = _l("You have already signed up for this course.")


# ---- who may open a course --------------------------------------------------------------------

def enrollment_of(user_id: int, course_id: int) -> Enrollment | None:
    return db.session.scalar(select(Enrollment).filter_by(user_id=user_id, course_id=course_id))


def can_access(user, course: Course) -> bool:
    """The catalogue's rule, widened to people who signed up (an archived course stays theirs)."""
    if can_view(user, course):
        return True
    if not user.is_authenticated or course.status == CourseStatus.DRAFT:
        return False
    enrollment = enrollment_of(user.id, course.id)
    return enrollment is not None and enrollment.status in OPEN_STATUSES


def can_manage_enrollments(user, course: Course) -> bool:
    return can_edit(user, course) or can_review(user, course)


def signup_key(enrollment: Enrollment) -> str:
    """What a message about a sign-up is keyed by: the enrollment and when this sign-up was made (leaving and
    signing up again makes a new one), never the moment of the message, so a change is announced once."""
    made = (enrollment.requested_at - EPOCH) // timedelta(microseconds=1)
    return f"{enrollment.id}:{made}"


# ---- enrolling -----------------------------------------------------------------------------------

def enroll(user, course: Course, *, now: datetime) -> Enrollment:
    """Sign up: a seat when one is free, else the waitlist; pending when the course needs approval.
    Race-free: the course row is locked for the transaction."""
    course = lock_course(course.id)
    check_open(user, course, now)
    enrollment = enrollment_of(user.id, course.id)
    if enrollment is not None and enrollment.status in OPEN_STATUSES:
        raise AlreadyEnrolled()
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id)
    enrollment.requested_at, enrollment.dropped_at, enrollment.reason = now, None, None
    if course.requires_approval:
        enrollment.status = EnrollmentStatus.PENDING
    else:
        _seat_or_waitlist(course, enrollment, now)
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
    except IntegrityError:  # the same person, twice at once, on a database without the course lock
        raise AlreadyEnrolled() from None
    return enrollment


def _seat_or_waitlist(course: Course, enrollment: Enrollment, now: datetime) -> None:
    if course.capacity is None or course.enrolled_count < course.capacity:
        enrollment.status, enrollment.enrolled_at, enrollment.waitlist_seq = EnrollmentStatus.ENROLLED, now, None
        course.enrolled_count += 1
    else:
        course.waitlist_seq += 1
        enrollment.status, enrollment.waitlist_seq = EnrollmentStatus.WAITLISTED, course.waitlist_seq
        course.waitlist_count += 1


def waitlist_position(enrollment: Enrollment) -> int | None:
    """1 for the first in line; positions move up as people ahead are promoted or leave."""
    if enrollment.status != EnrollmentStatus.WAITLISTED:
        return None
    return db.session.scalar(line_up_to(enrollment.course_id, enrollment.waitlist_seq))


def line_up_to(course_id, waitlist_seq) -> Select:
    """SELECT of the number of people on the course's waitlist up to this place in it (values or columns)."""
    ahead = aliased(Enrollment)
    return select(func.count()).select_from(ahead).where(
        ahead.course_id == course_id, ahead.status == EnrollmentStatus.WAITLISTED, ahead.waitlist_seq <= waitlist_seq)


def drop(enrollment: Enrollment, *, now: datetime, actor=None) -> list[Enrollment]:
    """Leave a course (a worker: until it starts), or be taken off it by ``actor`` (see remove());
    a freed seat goes to the first on the waitlist. Returns the people promoted."""
    course = lock_course(enrollment.course_id)
    db.session.refresh(enrollment)
    removed_by_other = actor is not None and actor.id != enrollment.user_id
    if not removed_by_other:
        check_leave(enrollment, course, now)
    elif enrollment.status not in LEAVING:
        raise Conflict(_l("You are not signed up for this course."))
    previous = enrollment.status
    enrollment.status, enrollment.dropped_at, enrollment.waitlist_seq = EnrollmentStatus.DROPPED, now, None
    if previous == EnrollmentStatus.ENROLLED:
        course.enrolled_count -= 1
    elif previous == EnrollmentStatus.WAITLISTED:
        course.waitlist_count -= 1
    if removed_by_other:
        record_event(actor, "enrollment.remove", enrollment, union_id=course.scope_union_id, user_id=enrollment.user_id,
                     previous=previous)
    return promote_waitlisted(course, now=now)


def remove(enrollment: Enrollment, *, actor, now: datetime) -> list[Enrollment]:
    """An instructor or scope admin takes a worker off a course (also after it started); the
    seat goes to the first on the waitlist and the worker is told. Returns the people promoted."""
    course = lock_course(enrollment.course_id)
    if not can_manage_enrollments(actor, course):
        raise NotAllowed(_l("Only the course's instructors and administrators decide sign-ups."))
    db.session.refresh(enrollment)
    if enrollment.status not in (EnrollmentStatus.PENDING, EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED):
        raise Conflict(_l("This person is no longer on the list."))
    promoted = drop(enrollment, now=now, actor=actor)
    notify(enrollment.user, "enrollment.removed", f"enrollment.removed:{signup_key(enrollment)}",
           _l("You were taken off the list of %(course)s"), link=f"/courses/{course.id}",
           params={"course": course.title}, now=now)
    return promoted


def promote_waitlisted(course: Course, *, now: datetime) -> list[Enrollment]:
    """Fill free seats from the head of the waitlist (the caller holds the course lock)."""
    free = None if course.capacity is None else course.capacity - course.enrolled_count
    if free is not None and free <= 0:
        return []
    statement = (select(Enrollment).filter_by(course_id=course.id, status=EnrollmentStatus.WAITLISTED)
                 .order_by(Enrollment.waitlist_seq))
    promoted = list(db.session.scalars(statement.limit(free) if free is not None else statement))
    if not promoted:
        return []
    first_place = promoted[0].waitlist_seq
    for enrollment in promoted:
        enrollment.status, enrollment.enrolled_at, enrollment.waitlist_seq = EnrollmentStatus.ENROLLED, now, None
    course.enrolled_count += len(promoted)
    course.waitlist_count -= len(promoted)
    db.session.flush()
    people = db.session.scalars(select(User).where(User.id.in_([e.user_id for e in promoted]))).all()
    # Waitlist places are never reused: the first one this promotion filled names it for good.
    notify_many(people, "enrollment.promoted", f"enrollment.promoted:{course.id}:w{first_place}",
                _l("A seat is yours: you are now enrolled in %(course)s"),
                link=f"/courses/{course.id}", params={"course": course.title},
                facts=next_class_facts(course.id, now), now=now)
    return promoted


def next_class_facts(course_id: int, now: datetime) -> dict:
    """The course's next class session, for a message: its times, venue and address (none: {})."""
    upcoming = db.session.scalar(select(ClassSession).where(ClassSession.course_id == course_id,
                                                            ClassSession.starts_at > now)
                                 .order_by(ClassSession.starts_at).limit(1))
    if upcoming is None:
        return {}
    return {"next_starts_at": upcoming.starts_at, "next_ends_at": upcoming.ends_at,
            "next_venue": upcoming.venue_name, "next_address": upcoming.venue_address}


# ---- approval -------------------------------------------------------------------------------------

def decide(enrollment: Enrollment, approve: bool, *, actor, now: datetime, reason: str = "") -> Enrollment:
    """Approve a pending sign-up (a seat, or the waitlist when full) or reject it with a reason."""
    course = lock_course(enrollment.course_id)
    if not can_manage_enrollments(actor, course):
        raise NotAllowed(_l("Only the course's instructors and administrators decide sign-ups."))
    db.session.refresh(enrollment)
    if enrollment.status != EnrollmentStatus.PENDING:
        raise Conflict(_l("This sign-up has already been decided."))
    enrollment.decided_by_id = actor.id
    if approve:
        _seat_or_waitlist(course, enrollment, now)
        title = _l("Your sign-up for %(course)s is approved")
    else:
        reason = (reason or "").strip()
        if not reason:
            raise Conflict(_l("Give a reason, so the worker knows why."), field="reason")
        enrollment.status, enrollment.reason = EnrollmentStatus.REJECTED, reason[:500]
        title = _l("Your sign-up for %(course)s was not approved")
    record_event(actor, "enrollment.approve" if approve else "enrollment.reject", enrollment,
                 union_id=course.scope_union_id, reason=reason or None)
    notify(enrollment.user, "enrollment.decided", f"enrollment.decided:{signup_key(enrollment)}", title,
           _l("Reason: %(reason)s") if not approve else "", link=f"/courses/{course.id}",
           params={"course": course.title, "reason": reason}, now=now)
    return enrollment


# ---- announcements -------------------------------------------------------------------------------

def announcement_reach(status: str | None, *, manage: bool) -> str | None:
    """Which announcements a person reads on the course page: "all" for the course's instructors and scope admins
    (``manage``) and for its enrolled workers and those who completed it; "waitlist" (those posted to the waitlist
    too) for the waitlisted; None (none) for anyone else. ``status``: their sign-up's, if any."""
    if manage or status in SEATED:
        return "all"
    return "waitlist" if status == EnrollmentStatus.WAITLISTED else None


def latest_announcements(course_id: int, *, waitlist: bool, limit: int = 10) -> list[Announcement]:
    """The course's latest announcements: all, or (``waitlist``) those posted to the waitlist too."""
    statement = select(Announcement).filter_by(course_id=course_id)
    if waitlist:
        statement = statement.where(Announcement.include_waitlisted.is_(True))
    return list(db.session.scalars(statement.order_by(Announcement.created_at.desc(), Announcement.id.desc())
                                   .limit(limit)))


def announcement_audience(course_id: int, include_waitlisted: bool):
    statuses = [EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED]
    if include_waitlisted:
        statuses.append(EnrollmentStatus.WAITLISTED)
    return db.session.scalars(
        select(User).join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.status.in_(statuses))
    ).all()


def post_announcement(course: Course, title: str, body: str, *, include_waitlisted: bool, actor,
                      now: datetime) -> Announcement:
    """Post to the course page and notify its enrolled (and, if chosen, waitlisted) workers."""
    if not can_edit(actor, course):
        raise NotAllowed(_l("You may not change this course."))
    announcement = Announcement(course_id=course.id, author_id=actor.id, title=title.strip(), body=body.strip(),
                                include_waitlisted=include_waitlisted, created_at=now)
    db.session.add(announcement)
    db.session.flush()
    notify_many(announcement_audience(course.id, include_waitlisted), "course.announcement",
                f"announcement:{announcement.id}", _l("%(course)s: %(title)s"), body.strip()[:500],
                link=f"/courses/{course.id}", params={"course": course.title, "title": announcement.title},
                now=now)
    return announcement


# ---- reacting to the catalogue ---------------------------------------------------------------------

def on_course_changed(course: Course, *, revision, now: datetime, **_) -> None:
    """An approved change: tell the enrolled, and give new seats to the waitlist."""
    notify_many(announcement_audience(course.id, include_waitlisted=True), "course.changed",
                f"course.changed:{revision.id}", _l("%(course)s has changed: check the schedule and rules"),
                link=f"/courses/{course.id}", params={"course": course.title}, now=now)
    promote_waitlisted(course, now=now)
