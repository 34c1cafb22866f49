"""Certificates: issued ones (signed, with a serial and a verification token), the per-year serial
counter, the signing keys, and skill-level certificates recorded from external issuers."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.accounts.models import SKILL_LEVELS
from classroom.database import utcnow
from classroom.extensions import Model


class CertificateKind(enum.StrEnum):
    COURSE = "course"  # 结业证书
    SKILL = "skill"  # 技能等级, reserved for a later issuer of our own
    AWARD = "award"  # 获奖证书, for competitions


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


# What a verifier sees: the stored status, with "expired" for a valid one past its date.
PUBLIC_STATUS_LABELS = {
    "valid": _l("Valid"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
    "superseded": _l("Replaced by a newer certificate"),
}


def level_label(level: int | None) -> str:
    """五级/初级工 … 一级/高级技师 in the reader's language; empty for none."""
    return str(SKILL_LEVELS.get(level, "")) if level else ""


class Certificate(Model):
    """One issued certificate. ``snapshot`` keeps the material fields as issued (later edits to the
    course or the person change nothing); ``document`` is what was signed and what /verify shows."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # One current certificate per enrollment; a reissue supersedes the old one first.
        Index("uq_certificate_enrollment_current", "enrollment_id", unique=True,
              sqlite_where=text("status != 'superseded'"), postgresql_where=text("status != 'superseded'")),
        # One current award certificate per person and competition entry.
        Index("uq_certificate_award_current", "competition_entry_id", "user_id", unique=True,
              sqlite_where=text("status != 'superseded'"), postgresql_where=text("status != 'superseded'")),
        Index("ix_certificate_user_issued", "user_id", "issued_at"),
        Index("ix_certificate_issued", "issued_at"),
        Index("ix_certificate_issued_id", "issued_at", "id"),  # the admins' list by keyset (LISTING_ORDER)
        Index("ix_certificate_course", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10), default=CertificateKind.COURSE)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id", ondelete="SET NULL"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    competition_id: Mapped[int | None]  # an award certificate's competition
    competition_entry_id: Mapped[int | None]  # and its entry
    union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id", ondelete="SET NULL"), index=True)
    issuer_union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id", ondelete="SET NULL"),
                                                        index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("signing_key.kid"))
    signature: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(12), default=CertificateStatus.VALID)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    superseded_at: Mapped[datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])
    course = relationship("Course")

    def public_status(self, now: datetime) -> str:
        """The status a verifier sees at ``now``: a valid certificate past its date is "expired"."""
        if self.status == CertificateStatus.VALID and self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return self.status

    def __repr__(self) -> str:
        return f"<Certificate {self.id} {self.serial} {self.status}>"


class CertificateCounter(Model):
    """The last serial number handed out in a year; one row per year, bumped atomically."""

    __tablename__ = "certificate_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<CertificateCounter {self.year}: {self.last_seq}>"


class SigningKey(Model):
    """An Ed25519 key pair; the private half encrypted with FERNET_KEY. Exactly one is active (it
    signs); retired ones stay published at /verify/keys so older signatures still verify."""

    __tablename__ = "signing_key"
    __table_args__ = (
        Index("uq_signing_key_active", "is_active", unique=True,
              sqlite_where=text("is_active"), postgresql_where=text("is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)  # RFC 7638 JWK thumbprint
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # 32 raw bytes
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {'active' if self.is_active else 'retired'}>"


class SkillCertificateStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"


SKILL_STATUS_LABELS = {
    SkillCertificateStatus.SUBMITTED: _l("Waiting for verification"),
    SkillCertificateStatus.VERIFIED: _l("Verified"),
    SkillCertificateStatus.REJECTED: _l("Rejected"),
}


class ExternalSkillCertificate(Model):
    """A 职业技能等级证书 issued by an outside evaluation body, recorded by the worker with a scan and
    checked by a union admin. Never shown as a certificate of this platform."""

    __tablename__ = "external_skill_certificate"
    __table_args__ = (
        Index("uq_external_skill_certificate_number", "number", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
        Index("ix_external_skill_certificate_union_status", "union_id", "status", "submitted_at"),
        Index("ix_external_skill_certificate_user", "user_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    union_id: Mapped[int | None] = mapped_column(ForeignKey("trade_union.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(22))
    occupation: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(SmallInteger)
    evaluation_body: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    scan_name: Mapped[str] = mapped_column(String(200))
    scan_stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    scan_content_type: Mapped[str] = mapped_column(String(100))
    scan_size: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=SkillCertificateStatus.SUBMITTED)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))

    user = relationship("User", foreign_keys=[user_id])
    union = relationship("TradeUnion")

    @property
    def status_label(self) -> str:
        """The decision's status in the reader's language."""
        return str(SKILL_STATUS_LABELS.get(SkillCertificateStatus(self.status), self.status))

    def __repr__(self) -> str:
        return f"<ExternalSkillCertificate {self.id} {self.number} {self.status}>"
