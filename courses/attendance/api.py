"""Attendance through the API, as /checkin and /me/badge serve it: checking in with the code shown in class
(present, or late after the grace period; checking in again changes nothing, and Idempotency-Key is honoured),
limited per person together with the page; and the worker's personal badge for today (what its QR code holds)."""

from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import select

from classroom.api.boundary import rate_key
from classroom.api.door import idempotent, run
from classroom.api.principal import bearer_secret, current_person
from classroom.api.schemas import instant, text, whole_number
from classroom.api.spec import ApiBlueprint
from classroom.api.tokens import caller
from classroom.database import utcnow
from classroom.extensions import db, limiter
from classroom.forms import MAX_INT
from classroom.timefmt import local_date
from courses.attendance import checkin as checkins
from courses.attendance.models import ATTENDANCE_LABELS, Attendance, AttendanceStatus

bp = ApiBlueprint("api_attendance", __name__, url_prefix="/api/v1/attendance",
                  description="Checking in to a class with its code, and the worker's personal badge.")
CHECKIN_SCOPE = "attendance.checkin"  # the page's endpoint: its per-person budget of tries is shared
CHECKIN_LIMIT = "10 per minute"  # as the page's


class CheckinSchema(Schema):
    code = text(20, required=True, metadata={"description": "The 6-digit code shown in class."})
    session_id = whole_number(1, MAX_INT, load_default=None, allow_none=True, metadata={
        "description": "The class (from the QR code); without it, any class of the worker open for check-in."})


class CheckedInSchema(Schema):
    session_id = fields.Integer(required=True)
    course_id = fields.Integer(required=True)
    course_title = fields.String(required=True)
    starts_at = instant(required=True)
    ends_at = instant(required=True)
    venue_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in AttendanceStatus]})
    status_label = fields.String(required=True)
    recorded_at = instant(required=True)


class BadgeSchema(Schema):
    qr_text = fields.String(required=True, metadata={"description": "What the badge's QR code holds."})
    typed = fields.String(required=True, metadata={"description": "Shown under the QR code, for typing by hand."})
    valid_on = fields.Date(required=True, metadata={"description": "The platform's date it is valid on."})


def checkin_key() -> str:
    """Whose tries a check-in counts against: the person of the token (as on the page), else the credential."""
    secret = bearer_secret()
    found = caller(secret, now=utcnow()) if secret else None
    return f"checkin:{found.person.id}" if found is not None else rate_key()


@bp.route("/checkins", methods=["POST"])
@limiter.shared_limit(CHECKIN_LIMIT, CHECKIN_SCOPE, key_func=checkin_key, methods=["POST"], override_defaults=False)
@bp.auth(person=True)
@idempotent
@bp.problems(409)
@bp.arguments(CheckinSchema)
@bp.response(200, CheckedInSchema)
def check_in(data: dict):
    """Check in with the code shown in class: present, or late after the grace period. A worker already checked
    in stays as recorded. 409 when no class of theirs is open for check-in, 422 for a wrong or expired code."""
    person = current_person()
    session = run(lambda: checkins.check_in(person, data["code"], now=utcnow(), session_id=data["session_id"]))
    row = db.session.scalars(select(Attendance).where(Attendance.session_id == session.id,
                                                      Attendance.user_id == person.id)).one()
    return {"session_id": session.id, "course_id": session.course_id, "course_title": session.course.title,
            "starts_at": session.starts_at, "ends_at": session.ends_at, "venue_name": session.venue_name,
            "status": row.status, "status_label": str(ATTENDANCE_LABELS[AttendanceStatus(row.status)]),
            "recorded_at": row.recorded_at}


@bp.route("/badge")
@bp.auth(person=True)
@bp.etag
@bp.response(200, BadgeSchema)
def badge():
    """The worker's badge for today: an instructor scans its QR code (or types its code) to mark them present."""
    person, today = current_person(), local_date(utcnow())
    return {"qr_text": checkins.badge_text(person.id, today), "typed": checkins.badge_typed(person.id, today),
            "valid_on": today}
