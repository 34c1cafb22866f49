"""Looking a certificate up as a verifier does (by serial or by its QR token), what anyone may know of it,
and whether its signature holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from classroom.extensions import db
from courses.certificates import kinds, signing
from courses.certificates.models import Certificate


def by_serial(serial: str) -> Certificate | None:
    """The certificate with this (normalised) serial."""
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial))


def by_token(token: str | None) -> Certificate | None:
    """The certificate of a QR token; None for no token or one longer than any we make."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.token == token))


def public_record(certificate: Certificate, *, now: datetime) -> dict[str, Any]:
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
    """The signature verifies with the published key it names."""
    key = signing.key_by_kid(certificate.key_id)
    return key is not None and signing.verify(signing.public_key_of(key), certificate.document,
                                              certificate.signature)
