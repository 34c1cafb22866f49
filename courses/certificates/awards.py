"""Award certificates (获奖证书): one per person and competition entry, issued when the results are
published (the competitions feature calls ``issue_award``); they never expire."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.timefmt import platform_zone
from classroom.unions.memberships import membership_union_at
from courses.certificates import signing
from courses.certificates.documents import build_award_document
from courses.certificates.models import Certificate, CertificateKind, CertificateStatus, SigningKey
from courses.certificates.serials import allocate_seq, format_serial


def current_award(entry_id: int, user_id: int) -> Certificate | None:
    """The person's award certificate for the entry that is not superseded, if any."""
    return db.session.scalar(select(Certificate).where(
        Certificate.competition_entry_id == entry_id, Certificate.user_id == user_id,
        Certificate.status != CertificateStatus.SUPERSEDED))


def issue_award(user: User, *, competition_id: int, entry_id: int, snapshot: dict[str, Any], issuer_union_id: int,
                now: datetime) -> Certificate:
    """The award certificate of one person for one competition entry, issued once (no expiry)."""
    existing = current_award(entry_id, user.id)
    if existing is not None:
        return existing
    snapshot = {**snapshot, "course_title": f"{snapshot['competition_title']}（{snapshot['event']}）",
                "minutes": 0, "level": None, "instructors": []}
    key = signing.active_key(now=now)
    try:
        with db.session.begin_nested():
            certificate = _new_award(user, key, competition_id=competition_id, entry_id=entry_id, snapshot=snapshot,
                                     issuer_union_id=issuer_union_id, now=now)
    except IntegrityError:
        found = current_award(entry_id, user.id)
        if found is None:
            raise
        return found
    record_event(None, "certificate.issued", certificate, union_id=certificate.union_id, serial=certificate.serial,
                 competition_entry_id=entry_id)
    notify(user, "certificate.issued", f"certificate.issued:{certificate.id}",
           _l("Your award certificate for %(course)s is ready"), _l("Certificate number %(serial)s"),
           link="/me/certificates", params={"course": snapshot["course_title"], "serial": certificate.serial},
           now=now)
    return certificate


def _new_award(user: User, key: SigningKey, *, competition_id: int, entry_id: int, snapshot: dict[str, Any],
               issuer_union_id: int, now: datetime) -> Certificate:
    year = now.astimezone(platform_zone()).year
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
    return certificate
