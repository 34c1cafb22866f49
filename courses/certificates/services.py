"""Certificates: issued on completion exactly once, looked up, revoked, reissued and backfilled."""

from __future__ import annotations

import calendar
import hashlib
import logging
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.personal_data import mask_name
from classroom.timefmt import zone
from classroom.unions.services import membership_union_at
from courses.catalog.models import Course
from courses.certificates import kinds, signing
from courses.certificates.models import Certificate, CertificateKind, CertificateStatus, SigningKey
from courses.certificates.serials import allocate_seq, format_serial
from courses.enrollment.models import Enrollment, EnrollmentStatus

logger = logging.getLogger(__name__)
DOCUMENT_VERSION = 1
REASON_MAX = 500


class _IssuedMeanwhile(Exception):
    """Another transaction issued this enrollment's certificate while we waited for a serial."""


# ---- the material fields ---------------------------------------------------------------------------

def local_zone():
    return zone(current_app.config["DEFAULT_TIMEZONE"])


def add_months(moment: datetime, months: int) -> datetime:
    """The same local day and time ``months`` later (the 31st becomes the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def expiry_for(course: Course, issued_at: datetime) -> datetime | None:
    if not course.certificate_months:
        return None
    tz = local_zone()
    return add_months(issued_at.astimezone(tz), course.certificate_months).astimezone(issued_at.tzinfo)


def hours_text(minutes: int) -> str:
    """Minutes as 学时 for the document: "2", "1.5" (no locale, so the signature never depends on one)."""
    return f"{round(minutes / current_app.config['MINUTES_PER_CREDIT_HOUR'], 1):g}"


def holder_digest(token: str, name: str) -> str:
    """Binds the full name without showing it: whoever holds the certificate (its QR token) and reads
    the name on it can recompute this; the serial alone is not enough to guess the masked characters."""
    return "sha256:" + hashlib.sha256(f"{token}:{name}".encode()).hexdigest()


def snapshot_for(enrollment: Enrollment) -> dict:
    course = enrollment.course
    return {"holder_name": enrollment.user.real_name, "course_title": course.title,
            "minutes": course.credit_minutes, "level": course.target_level, "issuer": course.host_union.name,
            "instructors": [person.real_name for person in course.instructors], "studio": course.studio}


def build_document(*, serial: str, kind: str, snapshot: dict, token: str, issued_at: datetime,
                   expires_at: datetime | None) -> dict:
    """The signed fields, exactly what /verify shows (the holder's name masked)."""
    tz = local_zone()
    return {
        "v": DOCUMENT_VERSION, "kind": kind, "serial": serial,
        "holder": mask_name(snapshot["holder_name"]), "holder_digest": holder_digest(token, snapshot["holder_name"]),
        "course": snapshot["course_title"], "minutes": snapshot["minutes"], "hours": hours_text(snapshot["minutes"]),
        "level": snapshot["level"], "issuer": snapshot["issuer"], "instructors": snapshot["instructors"],
        "issued_on": issued_at.astimezone(tz).date().isoformat(),
        "expires_on": expires_at.astimezone(tz).date().isoformat() if expires_at else None,
    }


# ---- issuing -----------------------------------------------------------------------------------------

def current_certificate(enrollment_id: int) -> Certificate | None:
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
            return _issue_new(enrollment, key, now=now, issued_at=issued_at or now)
    except (IntegrityError, _IssuedMeanwhile):
        certificate = current_certificate(enrollment.id)
        if certificate is None:
            raise
        return certificate


def _issue_new(enrollment: Enrollment, key: SigningKey, *, now: datetime, issued_at: datetime,
               replaces: Certificate | None = None) -> Certificate:
    year = issued_at.astimezone(local_zone()).year
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


# ---- award certificates (competitions) -----------------------------------------------------------

def build_award_document(*, serial: str, snapshot: dict, token: str, issued_at: datetime) -> dict:
    """The signed fields of an award certificate (获奖证书): the competition, the event, the award."""
    return {
        "v": DOCUMENT_VERSION, "kind": CertificateKind.AWARD, "serial": serial,
        "holder": mask_name(snapshot["holder_name"]), "holder_digest": holder_digest(token, snapshot["holder_name"]),
        "course": snapshot["course_title"], "minutes": 0, "hours": "", "level": None, "issuer": snapshot["issuer"],
        "instructors": [], "competition": snapshot["competition_title"], "event": snapshot["event"],
        "year": snapshot["year"], "rank": snapshot["rank"], "award": snapshot["award_text"],
        "honor_title": snapshot.get("honor_title"), "team": snapshot.get("team"),
        "issued_on": issued_at.astimezone(local_zone()).date().isoformat(), "expires_on": None,
    }


def current_award(entry_id: int, user_id: int) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(
        Certificate.competition_entry_id == entry_id, Certificate.user_id == user_id,
        Certificate.status != CertificateStatus.SUPERSEDED))


def issue_award(user, *, competition_id: int, entry_id: int, snapshot: dict, issuer_union_id: int,
                now: datetime) -> Certificate:
    """The award certificate of one person for one competition entry, issued once (no expiry)."""
    existing = current_award(entry_id, user.id)
    if existing is not None:
        return existing
    key = signing.active_key(now=now)
    snapshot = {**snapshot, "course_title": f"{snapshot['competition_title']}（{snapshot['event']}）",
                "minutes": 0, "level": None, "instructors": []}
    try:
        with db.session.begin_nested():
            year = now.astimezone(local_zone()).year
            seq = allocate_seq(year)
            token = secrets.token_urlsafe(24)
            serial = format_serial(current_app.config["CERTIFICATE_SERIAL_PREFIX"], year, seq)
            document = build_award_document(serial=serial, snapshot=snapshot, token=token, issued_at=now)
            certificate = Certificate(
                serial=serial, year=year, seq=seq, kind=CertificateKind.AWARD, user_id=user.id,
                competition_id=competition_id, competition_entry_id=entry_id, union_id=membership_union_at(user.id),
                issuer_union_id=issuer_union_id, snapshot=snapshot, document=document, token=token,
                key_id=key.kid, signature=signing.sign(key, document), status=CertificateStatus.VALID,
                issued_at=now, expires_at=None)
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        certificate = current_award(entry_id, user.id)
        if certificate is None:
            raise
        return certificate
    record_event(None, "certificate.issued", certificate, union_id=certificate.union_id, serial=serial,
                 competition_entry_id=entry_id)
    notify(user, "certificate.issued", f"certificate.issued:{certificate.id}",
           _l("Your award certificate for %(course)s is ready"), _l("Certificate number %(serial)s"),
           link="/me/certificates", params={"course": snapshot["course_title"], "serial": serial}, now=now)
    return certificate


def on_enrollment_completed(enrollment: Enrollment, *, now: datetime, **_) -> None:
    """Issue inside the completing transaction. A failure never undoes the completion: it is logged,
    and `flask certificates backfill` issues what is missing."""
    try:
        with db.session.begin_nested():
            issue_for_enrollment(enrollment, now=now)
    except Exception:
        logger.exception("no certificate issued for enrollment %s", enrollment.id)


def backfill(*, now: datetime, batch: int = 200) -> int:
    """Certificates for completed enrollments that have none (completed before this feature), dated
    at their completion. Safe to run again: it only picks what is still missing."""
    missing = db.session.scalars(
        select(Enrollment.id).where(Enrollment.status == EnrollmentStatus.COMPLETED,
                                    ~exists().where(Certificate.enrollment_id == Enrollment.id))
        .order_by(Enrollment.completed_at, Enrollment.id)
    ).all()
    issued = 0
    for start in range(0, len(missing), batch):
        begin_write(db.session)
        enrollments = db.session.scalars(
            select(Enrollment).where(Enrollment.id.in_(missing[start:start + batch]))
            .options(selectinload(Enrollment.user), selectinload(Enrollment.course).selectinload(Course.instructors),
                     selectinload(Enrollment.course).selectinload(Course.host_union))
            .order_by(Enrollment.completed_at, Enrollment.id)
        ).all()
        for enrollment in enrollments:
            issued += _backfill_one(enrollment, now=now)
        db.session.commit()
    return issued


def _backfill_one(enrollment: Enrollment, *, now: datetime) -> int:
    if current_certificate(enrollment.id) is not None:  # a completion (or another backfill) was quicker
        return 0
    issue_for_enrollment(enrollment, now=now, issued_at=enrollment.completed_at or now)
    return 1


# ---- looking up ------------------------------------------------------------------------------------

def by_serial(serial: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial))


def by_token(token: str | None) -> Certificate | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.token == token))


def public_record(certificate: Certificate, *, now: datetime) -> dict:
    """What anyone may know: the signed document, its signature and the status, and beside them the
    facts of its kind as read from that document (kind, title; course and hours, or competition, event
    and award)."""
    return {
        **kinds.public_fields(certificate),
        "serial": certificate.serial,
        "status": certificate.public_status(now),
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "superseded_at": certificate.superseded_at.isoformat() if certificate.superseded_at else None,
        "certificate": certificate.document,
        "signature": certificate.signature,
        "alg": signing.ALGORITHM,
        "key_id": certificate.key_id,
        "canonicalization": signing.CANONICALIZATION,
    }


def signature_holds(certificate: Certificate) -> bool:
    key = signing.key_by_kid(certificate.key_id)
    return key is not None and signing.verify(signing.public_key_of(key), certificate.document,
                                              certificate.signature)


# ---- revoking and reissuing ------------------------------------------------------------------------

def revoke(certificate: Certificate, reason: str, *, actor, now: datetime) -> Certificate:
    """Revoke with a reason (for the holder and the admins; verifiers see only that and when). Final."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give the reason: the holder is told it."), field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(_l("Keep the reason under %(count)d characters."), field="reason", count=REASON_MAX)
    changed = db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.status == CertificateStatus.VALID)
        .values(status=CertificateStatus.REVOKED, revoked_at=now, revoked_reason=reason, revoked_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise Conflict(_l("Only a valid certificate can be revoked."))
    db.session.refresh(certificate)
    record_event(actor, "certificate.revoked", certificate, union_id=certificate.union_id,
                 serial=certificate.serial, reason=reason)
    notify(certificate.user, "certificate.revoked", f"certificate.revoked:{certificate.id}",
           _l("Your certificate %(serial)s was revoked"), _l("Reason: %(reason)s"), link="/me/certificates",
           params={"serial": certificate.serial, "reason": reason}, now=now)
    return certificate


def reissue(certificate: Certificate, *, actor, now: datetime) -> Certificate:
    """A new serial and token with the current names and titles, the same validity; the old one is
    marked superseded."""
    if kinds.kind_of(certificate) != CertificateKind.COURSE:
        raise Conflict(_l("Only a course certificate can be reissued; an award certificate keeps its record."))
    enrollment = db.session.get(Enrollment, certificate.enrollment_id) if certificate.enrollment_id else None
    if enrollment is None or enrollment.status != EnrollmentStatus.COMPLETED:
        raise Conflict(_l("This certificate cannot be reissued: its course enrollment is gone."))
    key = signing.active_key(now=now)
    changed = db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.status == CertificateStatus.VALID)
        .values(status=CertificateStatus.SUPERSEDED, superseded_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise Conflict(_l("Only a valid certificate can be reissued."))
    replacement = _issue_new(enrollment, key, now=now, issued_at=now, replaces=certificate)
    db.session.refresh(certificate)
    certificate.superseded_by_id = replacement.id
    record_event(actor, "certificate.reissued", certificate, union_id=certificate.union_id,
                 serial=certificate.serial, new_serial=replacement.serial)
    return replacement
