"""/api/v1/review: the course review queue of a union administrator's token, as on /review: the courses and
the changes to published courses waiting in their scope; publish or send back a course, approve or reject a
change. Four eyes hold here too: an administrator who teaches a course (or proposed the change) leaves
publishing and approving to another (``may_publish`` / ``may_approve`` say so; trying answers 403)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from classroom.api.door import deny, run
from classroom.api.pagination import cursor_page
from classroom.api.problems import Problem
from classroom.api.reach import require_admin_person
from classroom.api.schemas import CursorArgs, instant, page_of, text
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog import review
from courses.catalog.api import CourseSchema, HostSchema
from courses.catalog.models import Course, CourseRevision, RevisionStatus
from courses.catalog.permissions import can_review
from courses.catalog.queries import (
    REVIEW_ORDER,
    REVISION_ORDER,
    courses_to_review,
    review_key,
    revisions_waiting,
    taught_among,
)
from courses.catalog.revisions import Held

bp = ApiBlueprint("api_review", __name__, url_prefix="/api/v1/review",
                  description="Course review: what waits for a union administrator of the course's scope.")


class ReviewedCourseSchema(CourseSchema):
    scope_union = fields.Nested(HostSchema, required=True, metadata={"description": "Who may see the course."})
    submitted_at = instant(required=True, allow_none=True)
    status = fields.String(required=True)


class CourseItemSchema(Schema):
    course = fields.Nested(ReviewedCourseSchema, required=True)
    may_publish = fields.Boolean(required=True, metadata={
        "description": "False when the caller teaches it: another administrator of its scope publishes it."})


class RevisionChangesSchema(Schema):
    course_fields = fields.List(fields.String(), required=True, data_key="fields",
                                metadata={"description": "The course fields changed."})
    sessions = fields.Integer(required=True, metadata={"description": "Class sessions added, changed or removed."})
    lessons = fields.Integer(required=True, metadata={"description": "Lessons added, re-timed or removed."})


class RevisedCourseSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)


class RevisionItemSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in RevisionStatus]})
    course = fields.Nested(RevisedCourseSchema, required=True)
    submitted_at = instant(required=True)
    changes = fields.Nested(RevisionChangesSchema, required=True)
    may_approve = fields.Boolean(required=True, metadata={
        "description": "False when the caller teaches the course or proposed the change, or the change moves "
                       "the course to a scope the caller does not administer."})


class SendBackSchema(Schema):
    reason = text(500, required=True, metadata={"description": "What to change (the instructors read it)."})


class ReviewNoteSchema(Schema):
    note = text(500, load_default="", metadata={"description": "For the instructors (optional)."})


@bp.route("/courses")
@bp.auth(person=True)
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(CourseItemSchema, "ReviewCoursePage"))
def courses(args: dict):
    """The courses waiting for review in the caller's scope, the longest waiting first."""
    user = require_admin_person()
    page = cursor_page(courses_to_review(user), _order(REVIEW_ORDER), review_key, limit=args["limit"],
                       cursor=args.get("cursor"), descending=False)
    taught = taught_among(user, {course.id for course in page.items})
    return {"items": [{"course": course, "may_publish": course.id not in taught} for course in page.items],
            "next_cursor": page.next_cursor}


@bp.route("/courses/<int:course_id>/publish", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, CourseItemSchema)
def publish(course_id: int):
    """Publish a course waiting for review (403 for one the caller teaches; 409 when it no longer waits)."""
    user, course = _reviewable(course_id)
    run(lambda: review.publish(course, actor=user, now=utcnow()))
    return {"course": course, "may_publish": False}


@bp.route("/courses/<int:course_id>/send-back", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.arguments(SendBackSchema)
@bp.response(200, CourseItemSchema)
def send_back(data: dict, course_id: int):
    """Return a course waiting for review to its instructors as a draft, saying what to change."""
    user, course = _reviewable(course_id)
    run(lambda: review.send_back(course, data["reason"], actor=user, now=utcnow()))
    return {"course": course, "may_publish": False}


@bp.route("/revisions")
@bp.auth(person=True)
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(RevisionItemSchema, "ReviewRevisionPage"))
def revisions(args: dict):
    """The changes to published courses waiting in the caller's scope, the longest waiting first."""
    user = require_admin_person()
    page = cursor_page(revisions_waiting(user), _order(REVISION_ORDER), review_key, limit=args["limit"],
                       cursor=args.get("cursor"), descending=False)
    taught = taught_among(user, {revision.course_id for revision in page.items})
    return {"items": [_revision(user, revision, taught) for revision in page.items], "next_cursor": page.next_cursor}


@bp.route("/revisions/<int:revision_id>/<any(approve, reject):decision>", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.arguments(ReviewNoteSchema)
@bp.response(200, RevisionItemSchema)
def decide(data: dict, revision_id: int, decision: str):
    """Approve a change (it replaces the live course) or reject it; 403 for the caller's own work."""
    user = require_admin_person()
    revision = db.session.get(CourseRevision, revision_id)
    if revision is None:
        raise Problem("not-found")
    _reviewable(revision.course_id, user)
    run(lambda: review.decide_revision(revision, decision == "approve", actor=user, now=utcnow(), note=data["note"]))
    return _revision(user, revision, taught_among(user, {revision.course_id}))


def _reviewable(course_id: int, user: Any = None) -> tuple[Any, Course]:
    """(the administrator, the course) when the course lies in their scope; else an audited 404."""
    user = user or require_admin_person()
    course = db.session.get(Course, course_id)
    if course is None or not can_review(user, course):
        deny("Course", course_id)
    return user, course


def _revision(user: Any, revision: CourseRevision, taught: set[int]) -> dict:
    held = Held.load(revision.changes)
    own = revision.course_id in taught or revision.submitted_by_id == user.id
    return {"id": revision.id, "status": revision.status, "course": revision.course,
            "submitted_at": revision.submitted_at,
            "changes": {"course_fields": sorted(held.proposed_fields()),
                        "sessions": len(held.session_adds) + len(held.session_updates) + len(held.session_deletes),
                        "lessons": len(held.lesson_adds) + len(held.lesson_minutes) + len(held.lesson_deletes)},
            "may_approve": revision.status == RevisionStatus.PENDING and not own
            and review.can_decide_revision(user, revision)}


def _order(columns: tuple[InstrumentedAttribute, ...]) -> list[ColumnElement]:
    return [column.expression for column in columns]
