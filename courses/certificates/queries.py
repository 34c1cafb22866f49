"""Which certificates an admin manages, the filters of their list, and a holder's own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import aliased

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import admin_paths, under
from courses.certificates.models import Certificate, CertificateStatus

STATUSES = ("valid", "expired", "revoked", "superseded")


@dataclass
class CertificateFilters:
    """The admins' list filters, read leniently from the query string (what does not parse is ignored)."""

    course: str = ""
    status: str = ""
    issued_from: date | None = None
    issued_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CertificateFilters:
        """The filters of a request's ?course=&status=&issued_from=&issued_to=."""
        status = args.get("status") or ""
        return cls(course=(args.get("course") or "").strip()[:100], status=status if status in STATUSES else "",
                   issued_from=_date(args.get("issued_from")), issued_to=_date(args.get("issued_to")))


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def in_scope(admin: User, statement: Select[Certificate] | None = None) -> Select[Certificate]:
    """Certificates an admin may manage: issued by a union of their subtree, or held by someone whose
    union (when it was issued) lies there. Site admins: all."""
    statement = statement if statement is not None else select(Certificate)
    paths = admin_paths(admin)
    if paths is None:
        return statement
    issuer, holder = aliased(TradeUnion), aliased(TradeUnion)
    return (statement.outerjoin(issuer, issuer.id == Certificate.issuer_union_id)
            .outerjoin(holder, holder.id == Certificate.union_id)
            .where(or_(under(paths, issuer.path), under(paths, holder.path))))


def managed_certificate(admin: User, certificate_id: int) -> Certificate | None:
    """One certificate the admin manages."""
    return db.session.scalar(in_scope(admin).where(Certificate.id == certificate_id))


LISTING_ORDER = (Certificate.issued_at, Certificate.id)  # newest first: keyset on ix_certificate_issued(_union)


def certificate_key(certificate: Certificate) -> tuple:
    """The sort key of a certificate in the admins' list (its cursor)."""
    return certificate.issued_at, certificate.id


def listing(admin: User, filters: CertificateFilters, *, now: datetime, tz: ZoneInfo) -> Select[Certificate]:
    """SELECT of the certificates in scope matching the filters, newest first."""
    statement = in_scope(admin)
    if filters.course:
        pattern = "%" + filters.course.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(Certificate.document["course"].as_string().ilike(pattern, escape="\\"))
    if filters.status:
        statement = statement.where(_status_clause(filters.status, now))
    if filters.issued_from:
        statement = statement.where(Certificate.issued_at >= datetime.combine(filters.issued_from, time(), tz))
    if filters.issued_to:
        statement = statement.where(
            Certificate.issued_at < datetime.combine(filters.issued_to + timedelta(days=1), time(), tz))
    return statement.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def _status_clause(status: str, now: datetime) -> ColumnElement[bool]:
    unexpired = or_(Certificate.expires_at.is_(None), Certificate.expires_at > now)
    if status == "valid":
        return and_(Certificate.status == CertificateStatus.VALID, unexpired)
    if status == "expired":
        return and_(Certificate.status == CertificateStatus.VALID, Certificate.expires_at <= now)
    return Certificate.status == status


def mine(user_id: int) -> Select[Certificate]:
    """SELECT of a holder's certificates, newest first."""
    return (select(Certificate).where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))


def latest_valid(user_id: int, *, limit: int) -> list[Certificate]:
    """A holder's newest valid certificates (the home page's panel)."""
    return list(db.session.scalars(mine(user_id).where(Certificate.status == CertificateStatus.VALID).limit(limit)))
