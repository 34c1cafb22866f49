"""What a certificate says: the material fields kept at issue (the snapshot) and the signed document
built from them, for a course completion and for a competition award."""

from __future__ import annotations

import calendar
import hashlib
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import format_date

from classroom.personal_data import mask_name
from classroom.timefmt import local_date, platform_zone
from courses.catalog.models import Course
from courses.certificates.models import CertificateKind
from courses.enrollment.models import Enrollment

DOCUMENT_VERSION = 1


def add_months(moment: datetime, months: int) -> datetime:
    """The same local day and time ``months`` later (the 31st becomes the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def expiry_for(course: Course, issued_at: datetime) -> datetime | None:
    """When a certificate of ``course`` issued at ``issued_at`` expires (None: never), by the platform's calendar."""
    if not course.certificate_months:
        return None
    local = issued_at.astimezone(platform_zone())
    return add_months(local, course.certificate_months).astimezone(issued_at.tzinfo)


def hours_text(minutes: int) -> str:
    """Minutes as 学时 for the document: "2", "1.5" (no locale, so the signature never depends on one)."""
    return f"{round(minutes / current_app.config['MINUTES_PER_CREDIT_HOUR'], 1):g}"


def holder_digest(token: str, name: str) -> str:
    """Binds the full name without showing it: whoever holds the certificate (its QR token) and reads
    the name on it can recompute this; the serial alone is not enough to guess the masked characters."""
    return "sha256:" + hashlib.sha256(f"{token}:{name}".encode()).hexdigest()


def snapshot_for(enrollment: Enrollment) -> dict[str, Any]:
    """The material fields of a course certificate as they stand now (kept as issued, whatever changes later)."""
    course = enrollment.course
    return {"holder_name": enrollment.user.real_name, "course_title": course.title,
            "minutes": course.credit_minutes, "level": course.target_level, "issuer": course.host_union.name,
            "instructors": [person.real_name for person in course.instructors], "studio": course.studio}


def _holder(snapshot: dict[str, Any], token: str) -> dict[str, str]:
    name = snapshot["holder_name"]
    return {"holder": mask_name(name), "holder_digest": holder_digest(token, name)}


def build_document(*, serial: str, kind: str, snapshot: dict[str, Any], token: str, issued_at: datetime,
                   expires_at: datetime | None) -> dict[str, Any]:
    """The signed fields, exactly what /verify shows (the holder's name masked)."""
    return {
        "v": DOCUMENT_VERSION, "kind": kind, "serial": serial, **_holder(snapshot, token),
        "course": snapshot["course_title"], "minutes": snapshot["minutes"], "hours": hours_text(snapshot["minutes"]),
        "level": snapshot["level"], "issuer": snapshot["issuer"], "instructors": snapshot["instructors"],
        "issued_on": local_date(issued_at).isoformat(),
        "expires_on": local_date(expires_at).isoformat() if expires_at else None,
    }


def build_award_document(*, serial: str, snapshot: dict[str, Any], token: str, issued_at: datetime) -> dict[str, Any]:
    """The signed fields of an award certificate (获奖证书): the competition, the event, the award."""
    return {
        "v": DOCUMENT_VERSION, "kind": CertificateKind.AWARD, "serial": serial, **_holder(snapshot, token),
        "course": snapshot["course_title"], "minutes": 0, "hours": "", "level": None, "issuer": snapshot["issuer"],
        "instructors": [], "competition": snapshot["competition_title"], "event": snapshot["event"],
        "year": snapshot["year"], "rank": snapshot["rank"], "award": snapshot["award_text"],
        "honor_title": snapshot.get("honor_title"), "team": snapshot.get("team"),
        "issued_on": local_date(issued_at).isoformat(), "expires_on": None,
    }


def document_date(value: str | None, fmt: str = "medium") -> str:
    """A date kept as ISO text in a signed document ("2026-03-12"), shown in the current language."""
    return format_date(date.fromisoformat(value), fmt) if value else ""
