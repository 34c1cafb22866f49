"""Courses: authoring, review, revisions, visibility and the public catalogue."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.orm import aliased, joinedload, selectinload

from classroom.accounts.models import Role, RoleGrant, User
from classroom.audit import record_event
from classroom.database import begin_write, utcnow
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.notifications.services import notify, notify_many
from classroom.timefmt import zone
from classroom.unions.models import Membership, MembershipStatus, TradeUnion, UnionKind
from classroom.unions.scope import can_manage_union, under
from courses.catalog.hooks import course_changed
from courses.catalog.models import (
    MATERIAL_FIELDS,
    ClassSession,
    Course,
    CourseInstructor,
    CourseMode,
    CourseRevision,
    CourseStatus,
    Lesson,
    RevisionStatus,
)
from courses.catalog.revisions import Held, apply_parts

COURSE_FIELDS = ("title", "summary", "description", "category", "target_level", "mode", "credit_minutes",
                 "host_union_id", "studio", "scope_union_id", "enroll_opens_at", "enroll_closes_at", "starts_on",
                 "ends_on", "capacity", "requires_approval", "min_lesson_share", "min_attendance_share",
                 "min_exam_score", "certificate_months")


# ---- who may do what ---------------------------------------------------------------------

def is_instructor_of(user, course: Course) -> bool:
    if not user.is_authenticated:
        return False
    return db.session.scalar(
        select(CourseInstructor.user_id).filter_by(course_id=course.id, user_id=user.id)
    ) is not None


def can_edit(user, course: Course) -> bool:
    return user.is_authenticated and (user.is_site_admin or is_instructor_of(user, course))


def own_work(user, course: Course, revision: CourseRevision | None = None) -> bool:
    """Whether ``user`` teaches the course or proposed the change: another administrator of its
    scope then publishes or approves it (four eyes); sending back or rejecting stays open."""
    return is_instructor_of(user, course) or (revision is not None and revision.submitted_by_id == user.id)


def own_revisions(user, revisions: list[CourseRevision]) -> set[int]:
    """The ids of those revisions that are ``user``'s own work (own_work), in one query."""
    if not revisions:
        return set()
    taught = set(db.session.scalars(select(CourseInstructor.course_id).where(
        CourseInstructor.user_id == user.id, CourseInstructor.course_id.in_({r.course_id for r in revisions}))))
    return {r.id for r in revisions if r.course_id in taught or r.submitted_by_id == user.id}


def can_review(user, course: Course) -> bool:
    """Admins of the course's visibility scope (its node or above) review and publish it."""
    return user.is_authenticated and can_manage_union(user, course.scope_union)


def require(condition: bool) -> None:
    if not condition:
        raise NotAllowed(_l("You may not change this course."))


# ---- visibility -----------------------------------------------------------------------------

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
    by_status = dict(rows)
    return by_status.get(MembershipStatus.ACTIVE) or by_status.get(MembershipStatus.APPLIED)


def scope_union_path(user) -> str | None:
    """The path of the union whose courses a person may see and enroll in: that of their active
    membership only. An applicant not yet approved sees city-wide courses, like a visitor."""
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        select(TradeUnion.path).join(Membership, Membership.union_id == TradeUnion.id)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.id.desc()).limit(1)
    )


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
        if course.scope_union.parent_id is None:
            return True
        path = scope_union_path(user)
        if path and path.startswith(course.scope_union.path):
            return True
    return user.is_authenticated and (can_edit(user, course) or can_review(user, course))


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


# ---- the catalogue ----------------------------------------------------------------------------

@dataclass
class CatalogueFilters:
    q: str = ""
    category: str = ""
    level: int | None = None
    mode: str = ""
    union_id: int | None = None
    has_seats: bool = False
    starts_within_days: int | None = None
    sort: str = "newest"


def catalogue(user_path: str | None, filters: CatalogueFilters, *, today: date):
    """SELECT of the published courses a person of this union path may see, filtered and sorted."""
    statement = select(Course).where(visible_clause(user_path)).options(
        joinedload(Course.host_union), selectinload(Course.instructors))
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        statement = statement.where(or_(Course.title.ilike(pattern, escape="\\"),
                                        Course.summary.ilike(pattern, escape="\\")))
    if filters.category:
        statement = statement.where(Course.category == filters.category)
    if filters.level:
        statement = statement.where(Course.target_level == filters.level)
    if filters.mode:
        statement = statement.where(Course.mode == filters.mode)
    if filters.union_id:  # hosted by that union or any union below it
        host = aliased(TradeUnion)
        chosen = select(TradeUnion.path).where(TradeUnion.id == filters.union_id).scalar_subquery()
        statement = statement.where(Course.host_union_id.in_(
            select(host.id).where(host.path.startswith(chosen, autoescape=False))))
    if filters.has_seats:
        statement = statement.where(or_(Course.capacity.is_(None), Course.enrolled_count < Course.capacity))
    if filters.starts_within_days is not None:
        statement = statement.where(Course.starts_on >= today,
                                    Course.starts_on <= today + timedelta(days=min(max(filters.starts_within_days, 0),
                                                                                  3660)))  # at most ten years
    order = {
        "starting": (Course.starts_on.is_(None), Course.starts_on, Course.id),
        "popular": (Course.enrolled_count.desc(), Course.id.desc()),
    }.get(filters.sort, (Course.published_at.desc(), Course.id.desc()))
    return statement.order_by(*order)


def categories() -> list[str]:
    return list(db.session.scalars(
        select(Course.category).where(Course.status == CourseStatus.PUBLISHED).distinct().order_by(Course.category)
    ))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---- authoring ----------------------------------------------------------------------------------

def create_course(author: User, data: dict, *, now: datetime) -> Course:
    """A new draft course; its author is its first instructor."""
    if not (author.has_role(Role.INSTRUCTOR) or author.is_site_admin):
        raise NotAllowed(_l("Only instructors write courses."))
    course = Course(created_by_id=author.id, created_at=now, updated_at=now, status=CourseStatus.DRAFT)
    _apply(course, _validated(data, course, author))
    db.session.add(course)
    db.session.flush()
    db.session.add(CourseInstructor(course_id=course.id, user_id=author.id))
    record_event(author, "course.create", course, union_id=course.scope_union_id)
    return course


def _validated(data: dict, course: Course, author: User | None = None) -> dict:
    """The course fields of ``data``, checked; a union newly named must be one ``author`` may choose
    (no author: an approval of fields checked when they were proposed)."""
    data = {key: value for key, value in data.items() if key in COURSE_FIELDS}
    if data.get("mode", course.mode) not in set(CourseMode):
        raise Invalid(_l("Unknown course mode."), field="mode")
    opens, closes = data.get("enroll_opens_at", course.enroll_opens_at), data.get("enroll_closes_at",
                                                                                   course.enroll_closes_at)
    if opens and closes and closes <= opens:
        raise Invalid(_l("Enrollment must close after it opens."), field="enroll_closes_at")
    starts, ends = data.get("starts_on", course.starts_on), data.get("ends_on", course.ends_on)
    if starts and ends and ends < starts:
        raise Invalid(_l("The course cannot end before it starts."), field="ends_on")
    capacity = data.get("capacity", course.capacity)
    if capacity is not None and capacity < (course.enrolled_count or 0):
        raise Conflict(_l("Capacity cannot drop below the %(count)d people enrolled."), field="capacity",
                       count=course.enrolled_count)
    for union_field in ("host_union_id", "scope_union_id"):
        if union_field not in data:
            continue
        if db.session.get(TradeUnion, data[union_field]) is None:
            raise Invalid(_l("Choose a union."), field=union_field)
        if author is not None and data[union_field] not in named_unions(course, union_field) and db.session.scalar(
                select(TradeUnion.id).where(TradeUnion.id == data[union_field], choosable_unions(author))) is None:
            # the host issues the course's certificates (its admins may revoke them): not any union
            raise Invalid(_l("Choose one of the unions offered."), field=union_field)
    return data


def named_unions(course: Course, *union_fields: str) -> set[int]:
    """The unions a course names in these fields now or in its change waiting for review: a
    co-instructor from elsewhere keeps them by saving."""
    named = {getattr(course, field) for field in union_fields}
    if course.id is not None and (revision := pending_revision(course.id)) is not None:
        proposed = Held.load(revision.changes).proposed_fields()
        named |= {proposed.get(field) for field in union_fields}
    return named - {None}


def choosable_unions(author: User):
    """SQL over TradeUnion: the unions an author may name as a course's host or audience: the city and
    every district/industry node, and the grassroots unions below the author's own roles."""
    return or_(TradeUnion.kind != UnionKind.GRASSROOTS, under([grant.union.path for grant in author.grants]))


def _apply(course: Course, data: dict) -> None:
    for name, value in data.items():
        setattr(course, name, value)


def update_course(course: Course, data: dict, *, actor, now: datetime) -> CourseRevision | None:
    """Edit a course. A published course takes summary, description and the like at once, while
    a change to hours, schedule, capacity, completion rule, host or scope waits as a pending
    revision (returned when this edit changed it)."""
    course = _editing(course, actor)
    data = _validated(data, course, actor)
    course.updated_at = now
    if data.get("title", course.title) != course.title:  # every class's calendar entry bears the course title
        db.session.execute(update(ClassSession).where(ClassSession.course_id == course.id)
                           .values(sequence=ClassSession.sequence + 1, updated_at=now))
    if course.status != CourseStatus.PUBLISHED:
        _apply(course, data)
        return None
    _apply(course, {name: value for name, value in data.items() if name not in MATERIAL_FIELDS})
    material = {name: value for name, value in data.items() if name in MATERIAL_FIELDS}
    return _hold(course, lambda held: held.set_fields(material, course), actor=actor, now=now,
                 operation="course.update")


def _editing(course: Course, actor) -> Course:
    """Check the actor may change the course and that it is not archived. A published course is
    locked for the transaction: its pending revision changes one proposal at a time."""
    require(can_edit(actor, course))
    if course.status == CourseStatus.PUBLISHED:
        course = lock_course(course.id)
    if course.status == CourseStatus.ARCHIVED:
        raise Conflict(_l("An archived course cannot be changed."))
    return course


def is_held(course: Course) -> bool:
    """Changes to hours, schedule, capacity or completion rule wait for review."""
    return course.status == CourseStatus.PUBLISHED


def pending_revision(course_id: int) -> CourseRevision | None:
    return db.session.scalar(select(CourseRevision).filter_by(course_id=course_id, status=RevisionStatus.PENDING))


def _hold(course: Course, change: Callable[[Held], None], *, actor, now: datetime,
          operation: str) -> CourseRevision | None:
    """Merge a proposed change into the course's pending revision (one per course; the caller
    holds the course lock) and tell the reviewers. A proposal that brings everything back to the
    live course withdraws the revision. Returns the revision when this call changed it."""
    revision = pending_revision(course.id)
    held = Held.load(revision.changes if revision else None)
    before = held.dump()
    change(held)
    changes = held.dump()
    if changes == before:
        return None
    if revision is None:
        revision = CourseRevision(course_id=course.id, changes=changes, submitted_by_id=actor.id, submitted_at=now)
        db.session.add(revision)
    elif not changes:
        _close_revision(revision, RevisionStatus.WITHDRAWN, actor=actor, now=now)
        record_event(actor, "course.revision.withdraw", course, union_id=course.scope_union_id,
                     revision_id=revision.id)
        return None
    else:
        revision.changes, revision.submitted_at = changes, now
    db.session.flush()
    record_event(actor, "course.revision.propose", course, union_id=course.scope_union_id, revision_id=revision.id,
                 operation=operation, changes=changes)
    _notify_reviewers(course, "course.revision", f"course.revision:{revision.id}:{now.isoformat()}",
                      _l("A change to %(title)s waits for review"), now=now,
                      reviewers=reviewers_of_union(_deciding_union(course, held)))
    return revision


def _close_revision(revision: CourseRevision, status: str, *, actor, now: datetime, note: str = "") -> None:
    revision.status, revision.decided_by_id, revision.decided_at = status, actor.id, now
    revision.note = (note or "").strip()[:500] or None


def _proposed_scope(course: Course, held: Held) -> TradeUnion | None:
    """The union a revision would move the course's scope to (None: the scope stays)."""
    union_id = held.fields.get("scope_union_id")
    if union_id is None or union_id == course.scope_union_id:
        return None
    return db.session.get(TradeUnion, union_id)


def _deciding_union(course: Course, held: Held) -> TradeUnion:
    """Whose admins decide a revision: those of the course's scope, and of the proposed scope
    too when it moves (the lowest node above both)."""
    new_scope = _proposed_scope(course, held)
    if new_scope is None:
        return course.scope_union
    old_ids, new_ids = course.scope_union.ancestor_ids(), new_scope.ancestor_ids()
    shared = 0  # paths share their leading ids down to the lowest common node
    while shared < min(len(old_ids), len(new_ids)) and old_ids[shared] == new_ids[shared]:
        shared += 1
    return db.session.get(TradeUnion, old_ids[shared - 1]) if shared else course.scope_union


def can_decide_revision(user, revision: CourseRevision) -> bool:
    """Admins of the course's scope decide its revisions; moving the scope needs an admin of the
    new scope as well."""
    course = revision.course
    if not can_review(user, course):
        return False
    new_scope = _proposed_scope(course, Held.load(revision.changes))
    return new_scope is None or can_manage_union(user, new_scope)


def withdraw_revision(course: Course, *, actor, now: datetime) -> CourseRevision:
    """The instructor takes back the change waiting for review; the live course stays."""
    course = _editing(course, actor)
    revision = pending_revision(course.id)
    if revision is None:
        raise Conflict(_l("No change waits for review."))
    _close_revision(revision, RevisionStatus.WITHDRAWN, actor=actor, now=now)
    record_event(actor, "course.revision.withdraw", course, union_id=course.scope_union_id, revision_id=revision.id)
    return revision


def submit_for_review(course: Course, *, actor, now: datetime) -> None:
    require(can_edit(actor, course))
    if course.status != CourseStatus.DRAFT:
        raise Conflict(_l("Only a draft can be submitted."))
    has_content = db.session.scalar(
        select(exists().where(Lesson.course_id == course.id))
    ) or db.session.scalar(select(exists().where(ClassSession.course_id == course.id)))
    if not has_content:
        raise Invalid(_l("Add at least one lesson or class session before submitting."))
    course.status, course.submitted_at, course.review_note = CourseStatus.PENDING, now, None
    record_event(actor, "course.submit", course, union_id=course.scope_union_id)
    _notify_reviewers(course, "course.review", f"course.review:{course.id}:{now.isoformat()}",
                      _l("%(title)s waits for your review"), now=now)


def publish(course: Course, *, actor, now: datetime) -> None:
    if not can_review(actor, course):
        raise NotAllowed(_l("Only the administrators of the course's scope publish it."))
    if own_work(actor, course):
        raise NotAllowed(_l("You teach this course: another administrator of its scope publishes it."))
    if course.status != CourseStatus.PENDING:
        raise Conflict(_l("Only a course waiting for review can be published."))
    course.status, course.published_at = CourseStatus.PUBLISHED, now
    record_event(actor, "course.publish", course, union_id=course.scope_union_id)
    _notify_instructors(course, "course.published", f"course.published:{course.id}",
                        _l("%(title)s is published"), now=now)


def send_back(course: Course, reason: str, *, actor, now: datetime) -> None:
    if not can_review(actor, course):
        raise NotAllowed(_l("Only the administrators of the course's scope review it."))
    if course.status != CourseStatus.PENDING:
        raise Conflict(_l("Only a course waiting for review can be sent back."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Say what to change."), field="reason")
    course.status, course.review_note = CourseStatus.DRAFT, reason[:500]
    record_event(actor, "course.send_back", course, union_id=course.scope_union_id, reason=reason)
    _notify_instructors(course, "course.sent_back", f"course.sent_back:{course.id}:{now.isoformat()}",
                        _l("%(title)s was sent back: %(reason)s"), now=now, reason=reason)


def decide_revision(revision: CourseRevision, approve: bool, *, actor, now: datetime, note: str = "") -> None:
    """Approve (the change replaces the live course, its sessions and lessons in this transaction;
    enrolled workers are told) or reject."""
    if not can_review(actor, revision.course):
        raise NotAllowed(_l("Only the administrators of the course's scope review it."))
    course = lock_course(revision.course_id)
    db.session.refresh(revision)
    if revision.status != RevisionStatus.PENDING:
        raise Conflict(_l("This change has already been decided."))
    held = Held.load(revision.changes)
    new_scope = _proposed_scope(course, held)
    if new_scope is not None and not can_manage_union(actor, new_scope):
        raise NotAllowed(_l("Moving the course to %(union)s needs an administrator of that union."),
                         union=new_scope.name)
    if approve and own_work(actor, course, revision):
        raise NotAllowed(_l("You teach this course or proposed this change: another administrator approves it."))
    if not approve:
        _close_revision(revision, RevisionStatus.REJECTED, actor=actor, now=now, note=note)
        record_event(actor, "course.revision.reject", course, union_id=course.scope_union_id, revision_id=revision.id)
        _notify_instructors(course, "course.revision.decided", f"course.revision.decided:{revision.id}",
                            _l("The change to %(title)s was not approved"), now=now,
                            body=_l("Note: %(note)s") if revision.note else "", note=revision.note or "")
        return
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict(_l("Only a change to a published course can be approved."))
    _apply(course, _validated(held.proposed_fields(), course))
    apply_parts(course, held, now=now)
    _close_revision(revision, RevisionStatus.APPROVED, actor=actor, now=now, note=note)
    course.updated_at = now
    record_event(actor, "course.revision.approve", course, union_id=course.scope_union_id,
                 revision_id=revision.id, changes=revision.changes)
    _notify_instructors(course, "course.revision.decided", f"course.revision.decided:{revision.id}",
                        _l("The change to %(title)s is approved and live"), now=now)
    course_changed.send(course, revision=revision, now=now)


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



def add_instructor(course: Course, person: User, *, actor) -> None:
    require(can_edit(actor, course))
    if not person.has_role(Role.INSTRUCTOR):
        raise Invalid(_l("This person is not an instructor."), field="mobile")
    if is_instructor_of(person, course):
        raise Conflict(_l("Already an instructor of this course."), field="mobile")
    db.session.add(CourseInstructor(course_id=course.id, user_id=person.id))
    record_event(actor, "course.instructor.add", course, union_id=course.scope_union_id, user_id=person.id)


# ---- lessons ----------------------------------------------------------------------------------
# A lesson's title, text, video and files change at once. On a published course a new lesson,
# a change of credited minutes and a deletion change the hours: they wait for review.

def add_lesson(course: Course, data: dict, *, actor, now: datetime) -> Lesson | CourseRevision:
    """A lesson at the end of the course; on a published course, the pending revision."""
    fields = _lesson_fields(data)
    course = _editing(course, actor)
    if is_held(course):
        return _hold(course, lambda held: held.add_lesson(fields), actor=actor, now=now,
                     operation="lesson.add") or pending_revision(course.id)
    last = db.session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id)) or 0
    lesson = Lesson(course_id=course.id, position=last + 1, created_at=now, **fields)
    db.session.add(lesson)
    db.session.flush()
    return lesson


def update_lesson(lesson: Lesson, data: dict, *, actor, now: datetime | None = None) -> CourseRevision | None:
    """Change a lesson; on a published course its credited minutes wait for review (the
    revision is returned when this call changed it)."""
    fields = _lesson_fields(data)
    course = _editing(lesson.course, actor)
    minutes = fields.pop("credit_minutes", None) if is_held(course) else None
    for name, value in fields.items():
        setattr(lesson, name, value)
    if minutes is None:
        return None
    return _hold(course, lambda held: held.set_lesson_minutes(lesson, minutes), actor=actor, now=now or utcnow(),
                 operation="lesson.update")


def _lesson_fields(data: dict) -> dict:
    fields = {name: data[name] for name in ("title", "body", "video_url", "credit_minutes") if name in data}
    if fields.get("video_url") and not str(fields["video_url"]).startswith(("https://", "http://")):
        raise Invalid(_l("A video link starts with https://"), field="video_url")
    return fields


def delete_lesson(lesson: Lesson, *, actor, now: datetime | None = None) -> CourseRevision | None:
    """Delete a lesson (and its files); on a published course the deletion waits for review."""
    course = _editing(lesson.course, actor)
    if is_held(course):
        lesson_id = lesson.id
        return _hold(course, lambda held: held.delete_lesson(lesson_id), actor=actor, now=now or utcnow(),
                     operation="lesson.delete") or pending_revision(course.id)
    course_id, position = lesson.course_id, lesson.position
    db.session.delete(lesson)
    db.session.flush()
    db.session.execute(update(Lesson).where(Lesson.course_id == course_id, Lesson.position > position)
                       .values(position=Lesson.position - 1))
    return None



def move_lesson(lesson: Lesson, direction: int, *, actor) -> None:
    """Swap a lesson with its neighbour above (-1) or below (+1)."""
    require(can_edit(actor, lesson.course))
    neighbour = db.session.scalar(select(Lesson).filter_by(course_id=lesson.course_id,
                                                           position=lesson.position + direction))
    if neighbour is not None:
        lesson.position, neighbour.position = neighbour.position, lesson.position


# ---- class sessions -----------------------------------------------------------------------------
# On a published course every change to the schedule waits for review.

def _checked_session(data: dict) -> dict:
    if data["ends_at"] <= data["starts_at"]:
        raise Invalid(_l("A session ends after it starts."), field="duration_minutes")
    return data


def add_session(course: Course, data: dict, *, actor, now: datetime) -> ClassSession | CourseRevision:
    """A class session; on a published course, the pending revision holding it."""
    data = _checked_session(data)
    course = _editing(course, actor)
    if is_held(course):
        return _hold(course, lambda held: held.add_session(data), actor=actor, now=now, operation="session.add")
    session = ClassSession(course_id=course.id, created_at=now, updated_at=now, **data)
    db.session.add(session)
    return session


def add_weekly_series(course: Course, *, first_date: date, weekday: int, start: time, duration_minutes: int,
                      count: int, venue_name: str, venue_address: str | None, credit_minutes: int, tz: str,
                      actor, now: datetime) -> list[ClassSession] | CourseRevision:
    """Sessions on ``weekday`` (0 = Monday) every week from ``first_date``, ``count`` of them,
    at ``start`` local time in ``tz``; stored in UTC. On a published course the whole series
    waits for review in the pending revision (returned)."""
    if not 1 <= count <= 52:
        raise Invalid(_l("A series has 1 to 52 sessions."), field="count")
    first = first_date + timedelta(days=(weekday - first_date.weekday()) % 7)
    series_key = secrets.token_hex(8)
    series = []
    for week in range(count):
        local_start = datetime.combine(first + timedelta(weeks=week), start, tzinfo=zone(tz))
        series.append(_checked_session({
            "starts_at": local_start.astimezone(zone("UTC")), "series_key": series_key,
            "ends_at": (local_start + timedelta(minutes=duration_minutes)).astimezone(zone("UTC")),
            "venue_name": venue_name, "venue_address": venue_address, "credit_minutes": credit_minutes,
        }))
    course = _editing(course, actor)
    if is_held(course):
        def add_all(held: Held) -> None:
            for data in series:
                held.add_session(data)
        return _hold(course, add_all, actor=actor, now=now, operation="session.series")
    created = [ClassSession(course_id=course.id, created_at=now, updated_at=now, **data) for data in series]
    db.session.add_all(created)
    return created


def update_session(session: ClassSession, data: dict, *, actor, now: datetime | None = None) -> CourseRevision | None:
    """Change a session; on a published course the change waits for review (the revision is
    returned when this call changed it)."""
    data = _checked_session(data)
    course = _editing(session.course, actor)
    if is_held(course):
        return _hold(course, lambda held: held.update_session(session, data), actor=actor, now=now or utcnow(),
                     operation="session.update")
    session.change(data, now=now or utcnow())
    return None


def delete_session(session: ClassSession, *, actor, now: datetime | None = None) -> CourseRevision | None:
    """Delete a session; on a published course the deletion waits for review."""
    course = _editing(session.course, actor)
    session_id = session.id
    if is_held(course):
        return _hold(course, lambda held: held.delete_session(session_id), actor=actor, now=now or utcnow(),
                     operation="session.delete") or pending_revision(course.id)
    db.session.delete(session)
    return None


# ---- notifications to the people around a course ----------------------------------------------

def reviewers_of_union(union: TradeUnion) -> list[User]:
    """Union admins whose node is this union or above it."""
    admins = (select(RoleGrant.user_id).join(TradeUnion, TradeUnion.id == RoleGrant.union_id)
              .where(RoleGrant.role == Role.UNION_ADMIN, literal(union.path).like(TradeUnion.path + "%")))
    return list(db.session.scalars(select(User).where(User.id.in_(admins))))


def reviewers_of(course: Course) -> list[User]:
    """Union admins whose node is the course's scope or above it."""
    return reviewers_of_union(course.scope_union)


def _path_for(endpoint: str, **values) -> str:
    """The path of a page, for a notification's link; services also run outside a request."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _notify_reviewers(course: Course, kind: str, key: str, title, *, now: datetime,
                      reviewers: list[User] | None = None) -> None:
    notify_many(reviewers_of(course) if reviewers is None else reviewers, kind, key, title,
                link=_path_for("review.index"), params={"title": course.title}, now=now)


def _notify_instructors(course: Course, kind: str, key: str, title, *, now: datetime, body="", **params) -> None:
    link = _path_for("teach.course", course_id=course.id)
    for person in course.instructors:
        notify(person, kind, f"{key}:{person.id}", title, body, link=link, params={"title": course.title, **params},
               now=now)
