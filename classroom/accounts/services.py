"""Accounts: registration, authentication, log-in sessions, passwords and profiles."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from classroom.accounts.models import WORKER_GROUPS, Consent, LoginSession, User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.i18n import valid_timezone
from classroom.notifications.models import Notification
from classroom.personal_data import is_mobile, normalize_identifier, normalize_mobile
from classroom.security import hash_password, password_needs_rehash, verify_password
from classroom.tokens import token_hash
from classroom.unions.memberships import apply_for_membership
from classroom.unions.models import TradeUnion

PRIVACY_NOTICE = "privacy_notice"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The passwords too common to allow (a bundled list, read once)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_password_rules(password: str, *, mobile: str | None = None) -> None:
    """Long enough, not too long (argon2 input stays bounded), not a common password."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    max_length = current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) < min_length:
        raise Invalid(_l("Use at least %(count)d characters."), field="password", count=min_length)
    if len(password) > max_length:
        raise Invalid(_l("Use at most %(count)d characters."), field="password", count=max_length)
    lowered = password.lower()
    if lowered in common_passwords() or (mobile and mobile in password) or len(set(password)) < 3:
        raise Invalid(_l("This password is too easy to guess; choose another."), field="password")


def register_user(*, real_name: str, mobile: str, password: str, union: TradeUnion | None, consent_version: str,
                  locale: str, now: datetime) -> User:
    """Create an account, record the privacy consent and apply to the chosen grassroots union."""
    mobile = normalize_mobile(mobile)
    if not is_mobile(mobile):
        raise Invalid(_l("Enter an 11-digit mainland mobile number."), field="mobile")
    check_password_rules(password, mobile=mobile)
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
        raise Conflict(_l("This mobile number is already registered. Log in instead."))
    user = User(real_name=real_name.strip(), mobile=mobile, password_hash=hash_password(password),
                locale=locale, created_at=now)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # registered meanwhile (the caller rolls back)
        raise Conflict(_l("This mobile number is already registered. Log in instead."), field="mobile") from None
    db.session.add(Consent(user_id=user.id, what=PRIVACY_NOTICE, version=consent_version, given_at=now))
    apply_for_membership(user, union, now=now)
    return user


def find_by_identifier(identifier: str) -> User | None:
    """The account with this mobile number or email address, or None."""
    value = normalize_identifier(identifier)
    if not value:
        return None
    return db.session.scalar(select(User).where(or_(User.mobile == value, User.email == value)))


def authenticate(identifier: str, password: str, *, now: datetime) -> User | None:
    """The user with this mobile or email and password, or None; the same work either way."""
    user = find_by_identifier(identifier)
    stored = user.password_hash if user is not None else None
    if not verify_password(stored, password) or user is None or stored is None or not user.is_active:
        return None
    if password_needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


def start_login_session(user: User, *, ip: str | None, user_agent: str | None, now: datetime) -> str:
    """Open a server-side log-in session; returns its token (kept only in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=token_hash(token), created_at=now,
                                last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:200]))
    user.login_token = token
    return token


def load_login_session(token: str, *, now: datetime, touch_after: timedelta) -> tuple[User, datetime, bool] | None:
    """(user, last seen, touched now) of a live log-in session, in one query with the user's roles
    and bell count; None when the session ended, is unknown or its user is disabled. The last-seen
    time moves on when it is older than ``touch_after`` (then ``touched``: the loader commits it)."""
    unread = (select(func.count()).select_from(Notification)
              .where(Notification.user_id == User.id, Notification.read_at.is_(None)).scalar_subquery())
    row = db.session.execute(
        select(LoginSession, User, unread).join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .options(joinedload(User.grants))  # the navigation shows roles and the bell on every page
    ).unique().first()
    if row is None or not row.User.is_active:
        return None
    login_session, user, unread_count = row
    last_seen_at, touched = login_session.last_seen_at, False
    if now - last_seen_at > touch_after:
        begin_write(db.session)  # on SQLite the read above ends and the write takes the lock first
        login_session.last_seen_at = last_seen_at = now
        touched = True
    user.unread_count = unread_count
    user.login_token = token
    return user, last_seen_at, touched


def end_login_session(token: str, *, user_id: int, now: datetime) -> None:
    """Log out: the log-in session of this token ends."""
    db.session.execute(
        update(LoginSession).where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(auth_users=(user_id,))
    )


def end_other_sessions(user: User, *, keep_token: str | None, now: datetime) -> int:
    """End every log-in session of the person but ``keep_token``'s; returns how many ended."""
    statement = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    if keep_token:
        statement = statement.where(LoginSession.token_hash != token_hash(keep_token))
    ended = db.session.execute(statement.values(revoked_at=now).execution_options(auth_users=(user.id,)))
    return cast(CursorResult[Any], ended).rowcount


def change_password(user: User, current: str, new: str, *, keep_token: str | None, now: datetime) -> None:
    """Change a password after checking the current one; every other session ends."""
    if not verify_password(user.password_hash, current):
        raise Invalid(_l("The current password is not right."), field="current")
    set_password(user, new, keep_token=keep_token, now=now)


def set_password(user: User, new: str, *, keep_token: str | None, now: datetime) -> None:
    """Set a new password; every session but ``keep_token``'s ends."""
    check_password_rules(new, mobile=user.mobile)
    user.password_hash = hash_password(new)
    end_other_sessions(user, keep_token=keep_token, now=now)


# What a person may change about themselves. Not the skill level: a verified skill-level certificate
# (courses.certificates.skills) or the union's member import sets it, since competitions trust it.
PROFILE_FIELDS = ("employer", "trade", "years_in_trade", "birth_year", "worker_group", "locale", "timezone",
                  "email")


def update_profile(user: User, *, languages: list[str], now: datetime, **fields: Any) -> None:
    """Change profile fields; the email, when given, must be free."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise Invalid(_l("Unknown profile field."))
    if fields.get("worker_group") and fields["worker_group"] not in WORKER_GROUPS:
        raise Invalid(_l("Unknown worker group."))
    if fields.get("birth_year") is not None and not 1930 <= fields["birth_year"] <= now.year - 14:
        raise Invalid(_l("Enter a birth year between 1930 and %(year)d."), year=now.year - 14)
    if "locale" in fields and fields["locale"] not in languages:
        raise Invalid(_l("Unknown language."))
    if "timezone" in fields and not valid_timezone(fields["timezone"]):
        raise Invalid(_l("Unknown timezone."))
    email = (fields.get("email") or "").strip().lower() or None
    if "email" in fields:
        taken = email and db.session.scalar(select(User.id).where(User.email == email, User.id != user.id))
        if taken:
            raise Conflict(_l("This email address belongs to another account."), field="email")
        fields["email"] = email
    for name, value in fields.items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)


def set_account_active(user: User, active: bool, *, actor: Any, now: datetime) -> None:
    """Enable or disable an account; a disabled person is logged out everywhere at once."""
    if actor.id == user.id:
        raise Conflict(_l("You cannot disable your own account."))
    user.is_active = active
    if not active:
        end_other_sessions(user, keep_token=None, now=now)
    record_event(actor, "account.enable" if active else "account.disable", user)
