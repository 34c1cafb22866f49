"""Review: an instructor submits a draft, an admin of its scope publishes it or sends it back, and
approves or rejects a change to a published course (applying it to the live course)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.unions.scope import can_manage_union
from courses.catalog.authoring import apply_fields, validated
from courses.catalog.hooks import course_changed
from courses.catalog.models import ClassSession, Course, CourseRevision, CourseStatus, Lesson, RevisionStatus
from courses.catalog.notices import notify_instructors, notify_reviewers
from courses.catalog.permissions import can_edit, can_review, own_work, require
from courses.catalog.queries import lock_course
from courses.catalog.revisions import LESSON_FIELDS, SESSION_FIELDS, Held, close_revision, decode, proposed_scope


def submit_for_review(course: Course, *, actor, now: datetime) -> None:
    """Send a draft with at least one lesson or class session to the admins of its scope."""
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
    notify_reviewers(course, "course.review", f"course.review:{course.id}:{now.isoformat()}",
                     _l("%(title)s waits for your review"), now=now)


def _check_reviewer(actor, course: Course) -> None:
    if not can_review(actor, course):
        raise NotAllowed(_l("Only the administrators of the course's scope review it."))


def publish(course: Course, *, actor, now: datetime) -> None:
    """Publish a course waiting for review (not one the admin teaches: four eyes)."""
    if not can_review(actor, course):
        raise NotAllowed(_l("Only the administrators of the course's scope publish it."))
    if own_work(actor, course):
        raise NotAllowed(_l("You teach this course: another administrator of its scope publishes it."))
    if course.status != CourseStatus.PENDING:
        raise Conflict(_l("Only a course waiting for review can be published."))
    course.status, course.published_at = CourseStatus.PUBLISHED, now
    record_event(actor, "course.publish", course, union_id=course.scope_union_id)
    notify_instructors(course, "course.published", f"course.published:{course.id}",
                       _l("%(title)s is published"), now=now)


def send_back(course: Course, reason: str, *, actor, now: datetime) -> None:
    """Return a course waiting for review to its instructors as a draft, saying what to change."""
    _check_reviewer(actor, course)
    if course.status != CourseStatus.PENDING:
        raise Conflict(_l("Only a course waiting for review can be sent back."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Say what to change."), field="reason")
    course.status, course.review_note = CourseStatus.DRAFT, reason[:500]
    record_event(actor, "course.send_back", course, union_id=course.scope_union_id, reason=reason)
    notify_instructors(course, "course.sent_back", f"course.sent_back:{course.id}:{now.isoformat()}",
                       _l("%(title)s was sent back: %(reason)s"), now=now, reason=reason)


def can_decide_revision(user, revision: CourseRevision) -> bool:
    """Admins of the course's scope decide its revisions; moving the scope needs an admin of the
    new scope as well."""
    course = revision.course
    if not can_review(user, course):
        return False
    new_scope = proposed_scope(course, Held.load(revision.changes))
    return new_scope is None or can_manage_union(user, new_scope)


def decide_revision(revision: CourseRevision, approve: bool, *, actor, now: datetime, note: str = "") -> None:
    """Approve (the change replaces the live course, its sessions and lessons in this transaction;
    enrolled workers are told) or reject."""
    _check_reviewer(actor, revision.course)
    course = lock_course(revision.course_id)
    db.session.refresh(revision)
    if revision.status != RevisionStatus.PENDING:
        raise Conflict(_l("This change has already been decided."))
    held = Held.load(revision.changes)
    new_scope = proposed_scope(course, held)
    if new_scope is not None and not can_manage_union(actor, new_scope):
        raise NotAllowed(_l("Moving the course to %(union)s needs an administrator of that union."),
                         union=new_scope.name)
    if approve:
        _approve(course, revision, held, actor=actor, now=now, note=note)
    else:
        _reject(course, revision, actor=actor, now=now, note=note)


def _reject(course: Course, revision: CourseRevision, *, actor, now: datetime, note: str) -> None:
    close_revision(revision, RevisionStatus.REJECTED, actor=actor, now=now, note=note)
    record_event(actor, "course.revision.reject", course, union_id=course.scope_union_id, revision_id=revision.id)
    notify_instructors(course, "course.revision.decided", f"course.revision.decided:{revision.id}",
                       _l("The change to %(title)s was not approved"), now=now,
                       body=_l("Note: %(note)s") if revision.note else "", note=revision.note or "")


def _approve(course: Course, revision: CourseRevision, held: Held, *, actor, now: datetime, note: str) -> None:
    if own_work(actor, course, revision):
        raise NotAllowed(_l("You teach this course or proposed this change: another administrator approves it."))
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict(_l("Only a change to a published course can be approved."))
    apply_fields(course, validated(held.proposed_fields(), course))
    _apply_lessons(course, held, now=now)
    _apply_sessions(course, held, now=now)
    close_revision(revision, RevisionStatus.APPROVED, actor=actor, now=now, note=note)
    course.updated_at = now
    record_event(actor, "course.revision.approve", course, union_id=course.scope_union_id,
                 revision_id=revision.id, changes=revision.changes)
    notify_instructors(course, "course.revision.decided", f"course.revision.decided:{revision.id}",
                       _l("The change to %(title)s is approved and live"), now=now)
    course_changed.send(course, revision=revision, now=now)


def _apply_lessons(course: Course, held: Held, *, now: datetime) -> None:
    """Apply the held lesson operations to the live course (the caller holds its lock); operations
    on lessons that no longer exist are skipped."""
    if not (held.lesson_minutes or held.lesson_deletes or held.lesson_adds):
        return
    lessons = db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)
                                 .options(selectinload(Lesson.attachments)).order_by(Lesson.position)).all()
    kept = []
    for lesson in lessons:
        if lesson.id in held.lesson_deletes:
            db.session.delete(lesson)  # its attachments' files go after the commit
            continue
        if lesson.id in held.lesson_minutes:
            lesson.credit_minutes = held.lesson_minutes[lesson.id]
        kept.append(lesson)
    for position, lesson in enumerate(kept, start=1):
        lesson.position = position
    for position, data in enumerate(held.lesson_adds, start=len(kept) + 1):
        db.session.add(Lesson(course_id=course.id, position=position, created_at=now, **decode(data, LESSON_FIELDS)))
    db.session.flush()


def _apply_sessions(course: Course, held: Held, *, now: datetime) -> None:
    """Apply the held session operations to the live course; those on deleted sessions are skipped."""
    if held.session_updates or held.session_deletes:
        sessions = db.session.scalars(select(ClassSession).where(
            ClassSession.course_id == course.id,
            ClassSession.id.in_([*held.session_updates, *held.session_deletes]))).all()
        for session in sessions:
            if session.id in held.session_deletes:
                db.session.delete(session)  # its attendance rows go with it (ON DELETE CASCADE)
            else:
                session.change(decode(held.session_updates[session.id], SESSION_FIELDS), now=now)
    for data in held.session_adds:
        db.session.add(ClassSession(course_id=course.id, created_at=now, updated_at=now,
                                    **decode(data, SESSION_FIELDS)))
    db.session.flush()
