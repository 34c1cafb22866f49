"""Revoking a certificate (final, with a reason) and reissuing one (a new serial and token, the old one
marked superseded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.notifications.services import notify
from courses.certificates import kinds, signing
from courses.certificates.issuance import issue_new
from courses.certificates.models import Certificate, CertificateKind, CertificateStatus
from courses.enrollment.models import Enrollment, EnrollmentStatus

REASON_MAX = 500


def _leave_valid(certificate: Certificate, **values: Any) -> bool:
    """Change a valid certificate's row to ``values`` in one conditional update; False when it was not valid
    (revoked or reissued meanwhile)."""
    changed = db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.status == CertificateStatus.VALID)
        .values(**values).returning(Certificate.id).execution_options(synchronize_session=False)
    ).first()
    return changed is not None


def revoke(certificate: Certificate, reason: str, *, actor: User, now: datetime) -> Certificate:
    """Revoke with a reason (for the holder and the admins; verifiers see only that and when). Final."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give the reason: the holder is told it."), field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(_l("Keep the reason under %(count)d characters."), field="reason", count=REASON_MAX)
    if not _leave_valid(certificate, status=CertificateStatus.REVOKED, revoked_at=now, revoked_reason=reason,
                        revoked_by_id=actor.id):
        raise Conflict(_l("Only a valid certificate can be revoked."))
    db.session.refresh(certificate)
    record_event(actor, "certificate.revoked", certificate, union_id=certificate.union_id,
                 serial=certificate.serial, reason=reason)
    notify(certificate.user, "certificate.revoked", f"certificate.revoked:{certificate.id}",
           _l("Your certificate %(serial)s was revoked"), _l("Reason: %(reason)s"), link="/me/certificates",
           params={"serial": certificate.serial, "reason": reason}, now=now)
    return certificate


def reissue(certificate: Certificate, *, actor: User, now: datetime) -> Certificate:
    """A new serial and token with the current names and titles, the same validity; the old one is
    marked superseded."""
    if kinds.kind_of(certificate) != CertificateKind.COURSE:
        raise Conflict(_l("Only a course certificate can be reissued; an award certificate keeps its record."))
    enrollment = db.session.get(Enrollment, certificate.enrollment_id) if certificate.enrollment_id else None
    if enrollment is None or enrollment.status != EnrollmentStatus.COMPLETED:
        raise Conflict(_l("This certificate cannot be reissued: its course enrollment is gone."))
    key = signing.active_key(now=now)
    if not _leave_valid(certificate, status=CertificateStatus.SUPERSEDED, superseded_at=now):
        raise Conflict(_l("Only a valid certificate can be reissued."))
    replacement = issue_new(enrollment, key, now=now, issued_at=now, replaces=certificate)
    db.session.refresh(certificate)
    certificate.superseded_by_id = replacement.id
    record_event(actor, "certificate.reissued", certificate, union_id=certificate.union_id,
                 serial=certificate.serial, new_serial=replacement.serial)
    return replacement
