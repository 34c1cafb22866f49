"""People: users, their role grants, consents and log-in sessions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL, JSON, ForeignKey, Index, SmallInteger, String, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classroom.database import utcnow
from classroom.extensions import Model

SKILL_LEVELS = {
    5: _l("Level 5 · Junior worker"),
    4: _l("Level 4 · Intermediate worker"),
    3: _l("Level 3 · Senior worker"),
    2: _l("Level 2 · Technician"),
    1: _l("Level 1 · Senior technician"),
}

WORKER_GROUPS = {
    "truck_driver": _l("Truck driver"),
    "courier": _l("Courier"),
    "caregiver": _l("Caregiver"),
    "domestic": _l("Domestic worker"),
    "mall_info": _l("Mall information worker"),
    "food_delivery": _l("Food delivery rider"),
    "realty_agent": _l("Real-estate agent"),
    "security_guard": _l("Security guard"),
    "ride_hailing": _l("Ride-hailing driver"),
    "migrant": _l("Migrant worker"),
}


class Role(enum.StrEnum):
    INSTRUCTOR = "instructor"
    UNION_ADMIN = "union_admin"
    SITE_ADMIN = "site_admin"


ROLE_LABELS = {
    Role.INSTRUCTOR: _l("Instructor"),
    Role.UNION_ADMIN: _l("Union administrator"),
    Role.SITE_ADMIN: _l("Site administrator"),
}


def _trigram_index(column: str) -> Index:
    """A trigram GIN index (pg_trgm) for ILIKE searches, made on PostgreSQL only (SQLite scans)."""
    return Index(f"ix_user_{column}_trgm", column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")


def _prefix_index(column: str) -> Index:
    """A btree over (column, id) in byte order, made on PostgreSQL only: a search by a name's or mobile's
    first characters reads the matching people's ids from the index alone (classroom.unions.queries)."""
    return Index(f"ix_user_{column}_prefix", column, "id",
                 postgresql_ops={column: "text_pattern_ops"}).ddl_if(dialect="postgresql")


TRIGRAM_EXTENSION = DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql")


class User(Model):
    __tablename__ = "user"
    # the admins' search by name or mobile (classroom.unions.queries.person_matches)
    __table_args__ = (_trigram_index("real_name"), _trigram_index("mobile"), _prefix_index("real_name"),
                      _prefix_index("mobile"))

    id: Mapped[int] = mapped_column(primary_key=True)
    real_name: Mapped[str] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(11), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    employer: Mapped[str | None] = mapped_column(String(100))
    trade: Mapped[str | None] = mapped_column(String(50), index=True)
    skill_level: Mapped[int | None] = mapped_column(SmallInteger)
    years_in_trade: Mapped[int | None] = mapped_column(SmallInteger)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    worker_group: Mapped[str | None] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    timezone: Mapped[str] = mapped_column(String(50), default="Asia/Shanghai")
    notification_prefs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    care_mode: Mapped[bool] = mapped_column(default=False, server_default=false())  # 关怀模式 (classroom.care)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="RoleGrant.user_id"
    )

    # Flask-Login protocol; the session id is the log-in session's token, not the user id.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """Flask-Login's id: the log-in session's token."""
        return self.login_token

    login_token = ""  # this request's log-in session token (not a column)
    unread_count = cast("int | None", None)  # unread notifications, loaded with the log-in session (not a column)

    def has_role(self, role: str) -> bool:
        """Whether the person holds ``role`` anywhere."""
        return any(grant.role == role for grant in self.grants)

    @property
    def is_site_admin(self) -> bool:
        """Whether the person administers the whole site."""
        return self.has_role(Role.SITE_ADMIN)

    @property
    def skill_level_label(self) -> str:
        """The skill level's name, or ""."""
        return str(SKILL_LEVELS.get(self.skill_level, "")) if self.skill_level else ""

    @property
    def worker_group_label(self) -> str:
        """The worker group's name, or ""."""
        return str(WORKER_GROUPS.get(self.worker_group, "")) if self.worker_group else ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.mobile}>"


class RoleGrant(Model):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "union_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    union = relationship("TradeUnion", lazy="joined")

    @property
    def role_label(self) -> str:
        """The role's name."""
        return str(ROLE_LABELS.get(Role(self.role), self.role))

    def __repr__(self) -> str:
        return f"<RoleGrant {self.role} user={self.user_id} union={self.union_id}>"


class Consent(Model):
    """A consent a person gave (what, which version, when) and its withdrawal."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_user_what", "user_id", "what"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    what: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Consent {self.what}@{self.version} user={self.user_id}>"


class LoginSession(Model):
    """One signed-in browser. Its token (hashed here) is the session's user id for Flask-Login,
    so logging out, a password change or disabling the user ends it on the server."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} user={self.user_id}>"


class Invitation(Model):
    """A single-use link that lets an imported person set a password. Only the SHA-256 hash of
    the token is stored; the raw token exists in the link handed out and in the SMS."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<Invitation {self.id} user={self.user_id}>"


class PasswordReset(Model):
    """One password-reset grant: a 6-digit code sent by SMS (stored as a keyed hash, with a
    count of wrong tries) or a link token (email, or issued by a union admin; SHA-256 hash).
    Single use and short-lived."""

    __tablename__ = "password_reset"
    __table_args__ = (Index("ix_password_reset_user_channel", "user_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))  # sms / email / admin
    code_hash: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<PasswordReset {self.id} {self.channel} user={self.user_id}>"


def attach_trigram_extension() -> None:
    """create_all() (the tests' schema) makes pg_trgm before the user table's indexes; the migration does too."""
    if not event.contains(User.__table__, "before_create", TRIGRAM_EXTENSION):
        event.listen(User.__table__, "before_create", TRIGRAM_EXTENSION)
