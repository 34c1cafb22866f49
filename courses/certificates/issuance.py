"""Course certificates: issued on completion exactly once, and backfilled for completions that have none."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from classroom.audit import record_event
from classroom.domain import Conflict
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.timefmt import platform_zone
from classroom.unions.memberships import membership_union_at
from courses.catalog.models import Course
from courses.certificates import signing
from courses.certificates.documents import build_document, expiry_for, snapshot_for
from courses.certificates.models import Certificate, CertificateKind, CertificateStatus, SigningKey
from courses.certificates.serials import allocate_seq, format_serial
from courses.enrollment.models import Enrollment, EnrollmentStatus

logger = logging.getLogger(__name__)


class _IssuedMeanwhile(Exception):
    """Another transaction issued this enrollment's certificate while we waited for a serial."""


def current_certificate(enrollment_id: int) -> Certificate | None:
    """The enrollment's certificate that is not superseded (valid or revoked), if any."""
    return db.session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment_id,
                                                       Certificate.status != CertificateStatus.SUPERSEDED))


def issue_for_enrollment(enrollment: Enrollment, *, now: datetime, issued_at: datetime | None = None) -> Certificate:
    """The enrollment's certificate, issued now (or dated ``issued_at``) unless it exists: exactly once,
    even when several transactions complete the same enrollment at once (a savepoint, the serial
    counter's lock and a unique index on the enrollment)."""
    existing = current_certificate(enrollment.id)
    if existing is not None:
        return existing
    if enrollment.status != EnrollmentStatus.COMPLETED:
        raise Conflict(_l("Only a completed course earns a certificate."))
    key = signing.active_key(now=now)
    try:
        with db.session.begin_nested():
            return issue_new(enrollment, key, now=now, issued_at=issued_at or now)
    except (IntegrityError, _IssuedMeanwhile):
        certificate = current_certificate(enrollment.id)
        if certificate is None:
            raise
        return certificate


def issue_new(enrollment: Enrollment, key: SigningKey, *, now: datetime, issued_at: datetime,
              replaces: Certificate | None = None) -> Certificate:
    """A new certificate for the enrollment (its next serial, a new token, signed by ``key``), keeping the
    validity of the one it ``replaces``; refused while the enrollment has a current one."""
    year = issued_at.astimezone(platform_zone()).year
    seq = allocate_seq(year)  # waits here while another transaction holds this year's counter
    if current_certificate(enrollment.id) is not None:
        raise _IssuedMeanwhile()
    course = enrollment.course
    token = secrets.token_urlsafe(24)  # 192 bits
    serial = format_serial(current_app.config["CERTIFICATE_SERIAL_PREFIX"], year, seq)
    snapshot = snapshot_for(enrollment)
    expires_at = replaces.expires_at if replaces is not None else expiry_for(course, issued_at)
    document = build_document(serial=serial, kind=CertificateKind.COURSE, snapshot=snapshot, token=token,
                              issued_at=issued_at, expires_at=expires_at)
    certificate = Certificate(
        serial=serial, year=year, seq=seq, kind=CertificateKind.COURSE, user_id=enrollment.user_id,
        enrollment_id=enrollment.id, course_id=course.id, union_id=membership_union_at(enrollment.user_id),
        issuer_union_id=course.host_union_id, snapshot=snapshot, document=document, token=token,
        key_id=key.kid, signature=signing.sign(key, document), status=CertificateStatus.VALID,
        issued_at=issued_at, expires_at=expires_at)
    db.session.add(certificate)
    db.session.flush()
    record_event(None, "certificate.issued", certificate, union_id=certificate.union_id, serial=serial,
                 enrollment_id=enrollment.id)
    notify(enrollment.user, "certificate.issued", f"certificate.issued:{certificate.id}",
           _l("Your certificate for %(course)s is ready"), _l("Certificate number %(serial)s"),
           link="/me/certificates", params={"course": course.title, "serial": serial}, now=now)
    return certificate


def on_enrollment_completed(enrollment: Enrollment, *, now: datetime, **_: object) -> None:
    """Issue inside the completing transaction. A failure never undoes the completion: it is logged,
    and `flask certificates backfill` issues what is missing."""
    try:
        with db.session.begin_nested():
            issue_for_enrollment(enrollment, now=now)
    except Exception:
        logger.exception("no certificate issued for enrollment %s", enrollment.id)


def missing() -> list[int]:
    """The completed enrollments without a certificate (completed before this feature, or whose issue
    failed), oldest completion first."""
    return list(db.session.scalars(
        select(Enrollment.id).where(Enrollment.status == EnrollmentStatus.COMPLETED,
                                    ~exists().where(Certificate.enrollment_id == Enrollment.id))
        .order_by(Enrollment.completed_at, Enrollment.id)
    ))


def backfill(enrollment_ids: list[int], *, now: datetime) -> int:
    """Certificates for these completed enrollments, dated at their completion, in the caller's transaction;
    how many were issued. Safe to repeat: an enrollment that has one meanwhile is skipped."""
    enrollments = db.session.scalars(
        select(Enrollment).where(Enrollment.id.in_(enrollment_ids))
        .options(selectinload(Enrollment.user), selectinload(Enrollment.course).selectinload(Course.instructors),
                 selectinload(Enrollment.course).selectinload(Course.host_union))
        .order_by(Enrollment.completed_at, Enrollment.id)
    ).all()
    issued = 0
    for enrollment in enrollments:
        if current_certificate(enrollment.id) is None:  # else a completion (or another backfill) was quicker
            issue_for_enrollment(enrollment, now=now, issued_at=enrollment.completed_at or now)
            issued += 1
    return issued
