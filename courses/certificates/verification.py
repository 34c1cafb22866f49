"""Looking a certificate up as a verifier does (by serial or by its QR token), what anyone may know of it,
and whether its signature holds."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, or_, select

from classroom.domain import DomainError
from classroom.extensions import db
from courses.certificates import kinds, signing
from courses.certificates.models import Certificate, CertificateStatus
from courses.certificates.serials import parse_serial


def by_token(token: str | None) -> Certificate | None:
    """The certificate of a QR token; None for no token or one longer than any we make."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.token == token))


@dataclass(frozen=True)
class Standing:
    """What of a certificate may change after it was signed, read afresh on every look-up; the rest (the
    signed document, what a page shows of it) may be kept by a cache keyed by ``key``."""

    id: int
    status: str
    expires_at: datetime | None
    revoked_at: datetime | None
    superseded_at: datetime | None

    def public_status(self, now: datetime) -> str:
        """As ``Certificate.public_status``: a valid certificate past its date is "expired"."""
        if self.status == CertificateStatus.VALID and self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return self.status

    def key(self, now: datetime) -> Hashable:
        """Everything a public view of the certificate depends on that may change."""
        return self.id, self.public_status(now), self.revoked_at, self.superseded_at


def standing(text: str | None, *, as_token: bool = True) -> Standing | None:
    """The certificate a verifier names, in one indexed read of the columns that change: by its QR
    token (unless ``as_token`` is false), else by the serial the text spells (typed in any accepted form)."""
    wanted: dict[str, str] = {}
    if as_token and text and len(text) <= 64:
        wanted["token"] = text
    with contextlib.suppress(DomainError):  # not a serial's shape: the token alone
        wanted["serial"] = parse_serial(text)
    if not wanted:
        return None
    row = db.session.connection().execute(_lookup(*sorted(wanted)), wanted).first()
    return Standing(*row) if row is not None else None


@functools.cache
def _lookup(*by: str) -> Select:
    """The standing's read by token, by serial or by either (the token first), made once: a public page's
    statement is looked up on every request, built on none."""
    wanted = [getattr(Certificate, name) == bindparam(name) for name in ("token", "serial") if name in by]
    token_first = case((wanted[0], 0), else_=1) if len(wanted) > 1 else None
    return (select(Certificate.id, Certificate.status, Certificate.expires_at, Certificate.revoked_at,
                   Certificate.superseded_at).where(or_(*wanted)).order_by(token_first).limit(1))


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
