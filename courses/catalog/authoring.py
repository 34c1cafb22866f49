"""Writing a course: a new draft, edits (a published course's material fields wait for review),
its instructors and its archiving."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from classroom.accounts.models import Role, User
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.scope import under
from courses.catalog.models import (
    MATERIAL_FIELDS,
    ClassSession,
    Course,
    CourseInstructor,
    CourseMode,
    CourseRevision,
    CourseStatus,
    RevisionStatus,
)
from courses.catalog.permissions import can_edit, can_review, editing, is_instructor_of, require
from courses.catalog.queries import lock_course
from courses.catalog.revisions import UNION_FIELDS, held_change, hold

COURSE_FIELDS = ("title", "summary", "description", "category", "target_level", "mode", "credit_minutes",
                 "host_union_id", "studio", "scope_union_id", "enroll_opens_at", "enroll_closes_at", "starts_on",
                 "ends_on", "capacity", "requires_approval", "min_lesson_share", "min_attendance_share",
                 "min_exam_score", "certificate_months")


def create_course(author: User, data: dict, *, now: datetime) -> Course:
    """A new draft course; its author is its first instructor."""
    if not (author.has_role(Role.INSTRUCTOR) or author.is_site_admin):
        raise NotAllowed(_l("Only instructors write courses."))
    course = Course(created_by_id=author.id, created_at=now, updated_at=now, status=CourseStatus.DRAFT)
    apply_fields(course, validated(data, course, author))
    db.session.add(course)
    db.session.flush()
    db.session.add(CourseInstructor(course_id=course.id, user_id=author.id))
    record_event(author, "course.create", course, union_id=course.scope_union_id)
    return course


def validated(data: dict, course: Course, author: User | None = None) -> dict:
    """The course fields of ``data``, checked; a union newly named must be one ``author`` may choose
    (no author: an approval of fields checked when they were proposed)."""
    data = {key: value for key, value in data.items() if key in COURSE_FIELDS}
    if data.get("mode", course.mode) not in set(CourseMode):
        raise Invalid(_l("Unknown course mode."), field="mode")
    opens = data.get("enroll_opens_at", course.enroll_opens_at)
    closes = data.get("enroll_closes_at", course.enroll_closes_at)
    if opens and closes and closes <= opens:
        raise Invalid(_l("Enrollment must close after it opens."), field="enroll_closes_at")
    starts, ends = data.get("starts_on", course.starts_on), data.get("ends_on", course.ends_on)
    if starts and ends and ends < starts:
        raise Invalid(_l("The course cannot end before it starts."), field="ends_on")
    _check_completion_rule(data, course)
    capacity = data.get("capacity", course.capacity)
    if capacity is not None and capacity < (course.enrolled_count or 0):
        raise Conflict(_l("Capacity cannot drop below the %(count)d people enrolled."), field="capacity",
                       count=course.enrolled_count)
    for union_field in UNION_FIELDS:
        if union_field in data:
            _check_union(course, union_field, data[union_field], author)
    return data


def _check_completion_rule(data: dict, course: Course) -> None:
    """Something must complete the course: a share of its lessons, of its class sessions, or an exam score."""
    rule = [data.get(name, getattr(course, name)) for name in ("min_lesson_share", "min_attendance_share")]
    if not any(rule) and data.get("min_exam_score", course.min_exam_score) is None:
        raise Invalid(_l("Say what completes the course: a share of its lessons, of its class sessions, or an "
                         "exam score."), field="min_lesson_share")


def _check_union(course: Course, union_field: str, union_id, author: User | None) -> None:
    if db.session.get(TradeUnion, union_id) is None:
        raise Invalid(_l("Choose a union."), field=union_field)
    if author is not None and union_id not in named_unions(course, union_field) and db.session.scalar(
            select(TradeUnion.id).where(TradeUnion.id == union_id, choosable_unions(author))) is None:
        # the host issues the course's certificates (its admins may revoke them): not any union
        raise Invalid(_l("Choose one of the unions offered."), field=union_field)


def named_unions(course: Course, *union_fields: str) -> set[int]:
    """The unions a course names in these fields now or in its change waiting for review: a
    co-instructor from elsewhere keeps them by saving."""
    named = {getattr(course, field) for field in union_fields}
    if course.id is not None:
        revision, held = held_change(course)
        if revision is not None:
            proposed = held.proposed_fields()
            named |= {proposed.get(field) for field in union_fields}
    return named - {None}


def choosable_unions(author: User):
    """SQL over TradeUnion: the unions an author may name as a course's host or audience: the city and
    every district/industry node, and the grassroots unions below the author's own roles."""
    return or_(TradeUnion.kind != UnionKind.GRASSROOTS, under([grant.union.path for grant in author.grants]))


def offered_unions(author: User, course: Course | None = None) -> list[TradeUnion]:
    """The unions a course form offers ``author``, in tree order: those they may choose, and those the
    course already names (a co-instructor from elsewhere keeps them by saving)."""
    current = named_unions(course, *UNION_FIELDS) if course is not None else set()
    return list(db.session.scalars(
        select(TradeUnion).where(or_(choosable_unions(author), TradeUnion.id.in_(current))).order_by(TradeUnion.path)))


def apply_fields(course: Course, data: dict) -> None:
    """Set the course's fields from ``data`` (checked by ``validated``)."""
    for name, value in data.items():
        setattr(course, name, value)


def update_course(course: Course, data: dict, *, actor, now: datetime) -> CourseRevision | None:
    """Edit a course. A published course takes summary, description and the like at once, while
    a change to hours, schedule, capacity, completion rule, host or scope waits as a pending
    revision (returned when this edit changed it)."""
    course = editing(course, actor)
    data = validated(data, course, actor)
    course.updated_at = now
    if data.get("title", course.title) != course.title:  # every class's calendar entry bears the course title
        db.session.execute(update(ClassSession).where(ClassSession.course_id == course.id)
                           .values(sequence=ClassSession.sequence + 1, updated_at=now)
                           .execution_options(courses=[course.id]))
    if course.status != CourseStatus.PUBLISHED:
        apply_fields(course, data)
        return None
    apply_fields(course, {name: value for name, value in data.items() if name not in MATERIAL_FIELDS})
    material = {name: value for name, value in data.items() if name in MATERIAL_FIELDS}
    return hold(course, lambda held: held.set_fields(material, course), actor=actor, now=now,
                operation="course.update")


def archive(course: Course, *, actor, now: datetime) -> None:
    """Archive; a change still waiting for review is withdrawn."""
    if not (can_edit(actor, course) or can_review(actor, course)):
        raise NotAllowed(_l("You may not change this course."))
    course = lock_course(course.id)
    course.status = CourseStatus.ARCHIVED
    course.updated_at = now
    db.session.execute(update(CourseRevision).where(CourseRevision.course_id == course.id,
                                                    CourseRevision.status == RevisionStatus.PENDING)
                       .values(status=RevisionStatus.WITHDRAWN, decided_by_id=actor.id, decided_at=now))
    record_event(actor, "course.archive", course, union_id=course.scope_union_id)


def add_instructor(course: Course, mobile: str, *, actor) -> User:
    """Make the instructor with this mobile number a co-instructor of the course (returned)."""
    require(can_edit(actor, course))
    person = db.session.scalar(select(User).where(User.mobile == (mobile or "").strip()))
    if person is None:
        raise Invalid(_l("No account has this mobile number."), field="mobile")
    if not person.has_role(Role.INSTRUCTOR):
        raise Invalid(_l("This person is not an instructor."), field="mobile")
    if is_instructor_of(person, course):
        raise Conflict(_l("Already an instructor of this course."), field="mobile")
    db.session.add(CourseInstructor(course_id=course.id, user_id=person.id))
    record_event(actor, "course.instructor.add", course, union_id=course.scope_union_id, user_id=person.id)
    return person
