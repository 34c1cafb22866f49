"""The object a certificate page's URL names, with its access check: the holder's own, or one an admin
manages; anyone else gets a 404 (the attempt audited by ``scope.deny``)."""

from __future__ import annotations

from typing import NoReturn

from flask_login import current_user

from classroom.extensions import db
from classroom.unions import scope
from courses.certificates import queries, skills
from courses.certificates.models import Certificate, CertificateStatus, ExternalSkillCertificate


def denied(object_type: str, object_id: int) -> NoReturn:
    """Answer 404, like an id that does not exist, and record the attempt."""
    scope.deny(current_user, object_type, object_id)


def own_certificate(certificate_id: int) -> Certificate | None:
    """The reader's own valid certificate, else None."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != current_user.id or certificate.status != CertificateStatus.VALID:
        return None
    return certificate


def own_certificate_or_404(certificate_id: int) -> Certificate:
    """The reader's own valid certificate (what a holder may share), else 404."""
    return own_certificate(certificate_id) or denied("Certificate", certificate_id)


def managed_or_404(certificate_id: int) -> Certificate:
    """A certificate the admin manages, else 404."""
    return queries.managed_certificate(current_user, certificate_id) or denied("Certificate", certificate_id)


def readable_certificate(certificate_id: int) -> tuple[Certificate, bool]:
    """The certificate and whether an admin (not its holder) reads it; 404 (audited) otherwise."""
    certificate = own_certificate(certificate_id)
    if certificate is not None:
        return certificate, False
    managed = queries.managed_certificate(current_user, certificate_id) if scope.is_union_admin(current_user) else None
    return managed or denied("Certificate", certificate_id), True


def managed_skill_record_or_404(record_id: int) -> ExternalSkillCertificate:
    """A recorded skill-level certificate of the admin's scope, else 404."""
    return skills.managed_record(current_user, record_id) or denied("ExternalSkillCertificate", record_id)


def readable_scan_or_404(record_id: int) -> ExternalSkillCertificate:
    """A recorded skill-level certificate whose scan the reader may download: their own, or one in the
    admin's scope; else 404."""
    row = db.session.get(ExternalSkillCertificate, record_id)
    if row is not None and row.user_id == current_user.id:
        return row
    managed = skills.managed_record(current_user, record_id) if scope.is_union_admin(current_user) else None
    return managed or denied("ExternalSkillCertificate", record_id)
