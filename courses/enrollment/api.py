"""Signing up through the API, as the course page does: enrolling (a seat, the waitlist, or waiting for approval;
Idempotency-Key honoured), the worker's sign-up with its waitlist position, and withdrawing. A worker reaches
only their own sign-ups; another's is a 404. The worker's courses with their progress: courses.study.api."""

from __future__ import annotations

from marshmallow import Schema, fields

from classroom.api.door import idempotent, owned, run
from classroom.api.principal import current_person
from classroom.api.problems import Problem
from classroom.api.schemas import instant, whole_number
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import MAX_INT
from courses.catalog.models import Course
from courses.enrollment import services as enrollment
from courses.enrollment.models import Enrollment, EnrollmentStatus

bp = ApiBlueprint("api_enrollments", __name__, url_prefix="/api/v1",
                  description="Signing up for courses: seats, the waitlist, approval, withdrawing.")


class EnrolledCourseSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_on = fields.Date(required=True, allow_none=True)
    ends_on = fields.Date(required=True, allow_none=True)


class EnrollmentSchema(Schema):
    id = fields.Integer(required=True)
    course = fields.Nested(EnrolledCourseSchema, required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in EnrollmentStatus]})
    status_label = fields.String(required=True, metadata={"description": "The status in the caller's language."})
    waitlist_position = fields.Method("position", required=True, allow_none=True, metadata={
        "type": "integer", "description": "1 for the first in line; null unless on the waitlist."})
    requested_at = instant(required=True)
    enrolled_at = instant(required=True, allow_none=True)
    completed_at = instant(required=True, allow_none=True)
    dropped_at = instant(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True, metadata={"description": "Why it was not approved."})

    def position(self, row: Enrollment) -> int | None:
        """The sign-up's place on the waitlist."""
        return enrollment.waitlist_position(row)


class NewEnrollmentSchema(Schema):
    course_id = whole_number(1, MAX_INT, required=True)


def own_enrollment(enrollment_id: int) -> Enrollment:
    """The caller's sign-up ``enrollment_id``; anyone else's is an audited 404."""
    return owned(Enrollment, enrollment_id, user_id=current_person().id)


@bp.route("/enrollments", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.problems(404, 409)
@bp.arguments(NewEnrollmentSchema)
@bp.response(201, EnrollmentSchema)
def create(data: dict):
    """Sign up for a course: a seat when one is free, else the waitlist; pending when the course needs approval.
    409 when already signed up or enrollment is closed; 404 for a course the worker may not see."""
    person = current_person()
    course = db.session.get(Course, data["course_id"])
    if course is None or not enrollment.can_access(person, course):
        raise Problem("not-found")
    return run(lambda: enrollment.enroll(person, course, now=utcnow()))


@bp.route("/enrollments/<int:enrollment_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, EnrollmentSchema)
def show(enrollment_id: int):
    """One of the worker's sign-ups, with its place on the waitlist."""
    return own_enrollment(enrollment_id)


@bp.route("/enrollments/<int:enrollment_id>/withdraw", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, EnrollmentSchema)
def withdraw(enrollment_id: int):
    """Leave the course (until it starts); a freed seat goes to the first on the waitlist."""
    row = own_enrollment(enrollment_id)
    run(lambda: enrollment.drop(row, now=utcnow()))
    return row


@bp.route("/courses/<int:course_id>/enrollment")
@bp.auth(person=True)
@bp.etag
@bp.response(200, EnrollmentSchema)
def of_course(course_id: int):
    """The worker's sign-up for this course; 404 when they never signed up."""
    row = enrollment.enrollment_of(current_person().id, course_id)
    if row is None:
        raise Problem("not-found")
    return row
