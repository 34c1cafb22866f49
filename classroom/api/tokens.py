"""A worker's devices: a short-lived access token and a rotating refresh token per signed-in app.

A refresh token is exchanged once for the next pair. Shown a second time (stolen and replayed, or the
app's copy and a thief's), it revokes its device: every access and refresh token of that family is
refused at its next use. Tokens are random and stored as their SHA-256 only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Select, bindparam, delete, select, update
from sqlalchemy.orm import joinedload

from classroom.accounts.auth_cache import Person
from classroom.accounts.models import User
from classroom.accounts.shared_copies import copied_user
from classroom.api.models import ApiDevice, ApiToken
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.extensions import db
from classroom.tokens import token_hash

ACCESS, REFRESH = "access", "refresh"
ACCESS_PREFIX, REFRESH_PREFIX = "wca_", "wcr_"  # recognizable by secret scanners, and by us
COPY_PREFIX = "api:"  # an access token's key among the log-in cache's copies
LOGOUT, BY_USER, REUSED, CLOSED = "logout", "user", "reuse", "closed"


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh pair for a device (the secrets exist only here and in the answer)."""

    device: ApiDevice
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def new_secret(prefix: str) -> str:
    """A random token of 256 bits, with its kind's prefix."""
    return prefix + secrets.token_urlsafe(32)


def open_device(user: User, name: str, *, ip: str | None, now: datetime) -> IssuedTokens:
    """A new device signed in for ``user`` (after the log-in check), with its first pair of tokens."""
    device = ApiDevice(user_id=user.id, name=name.strip()[:100] or "?", ip=ip, created_at=now, last_used_at=now)
    db.session.add(device)
    db.session.flush()
    record_event(user, "api.sign_in", device)
    return _issue(device, now)


def _issue(device: ApiDevice, now: datetime) -> IssuedTokens:
    access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
    config = current_app.config
    access_expires = now + timedelta(seconds=config["API_ACCESS_TOKEN_SECONDS"])
    refresh_expires = now + timedelta(days=config["API_REFRESH_TOKEN_DAYS"])
    db.session.add_all([
        ApiToken(device_id=device.id, kind=ACCESS, token_hash=token_hash(access), created_at=now,
                 expires_at=access_expires),
        ApiToken(device_id=device.id, kind=REFRESH, token_hash=token_hash(refresh), created_at=now,
                 expires_at=refresh_expires),
    ])
    return IssuedTokens(device, access, refresh, access_expires, refresh_expires)


def rotate(refresh_secret: str, *, now: datetime) -> IssuedTokens | None:
    """The next pair for a refresh token shown for the first time; None when it is unknown, expired or
    revoked, or when it was used before, which revokes its whole device (the caller commits that)."""
    begin_write(db.session)
    row = db.session.execute(
        select(ApiToken, ApiDevice).join(ApiDevice, ApiDevice.id == ApiToken.device_id)
        .where(ApiToken.token_hash == token_hash(refresh_secret), ApiToken.kind == REFRESH)
    ).first()
    if row is None or row.ApiDevice.revoked_at is not None or row.ApiToken.expires_at <= now:
        return None
    token, device = row
    claimed = cast(CursorResult[Any], db.session.execute(  # conditional: of two uses at once, one rotates
        update(ApiToken).where(ApiToken.id == token.id, ApiToken.used_at.is_(None)).values(used_at=now)
        .execution_options(auth_users=())  # a refresh token marked used changes nobody's copy: restamp no one
    )).rowcount
    if not claimed:
        revoke_device(device, reason=REUSED, now=now)
        record_event(None, "api.refresh_reused", device, user_id=device.user_id)
        return None
    if not device.user.is_active:
        return None
    device.last_used_at = now
    return _issue(device, now)


def revoke_device(device: ApiDevice, *, reason: str, now: datetime) -> None:
    """End a device: its tokens are refused from now on."""
    if device.revoked_at is None:
        device.revoked_at, device.revoked_reason = now, reason


def signed_in(access_secret: str, *, now: datetime) -> tuple[ApiDevice, User] | None:
    """The live device and active person an access token belongs to, in one query; else None."""
    row = _signed_in_row(access_secret, now)
    return (row.ApiDevice, row.User) if row is not None else None


def _signed_in_row(access_secret: str, now: datetime) -> Any:
    return db.session.execute(_signed_in_statement(), {"token_hash": token_hash(access_secret), "now": now}
                              ).unique().first()


@cache
def _signed_in_statement() -> Select:
    """(device, person with their role grants, expiry) of a live access token, made once: the log-in cache
    reads it whenever a process has no current copy of the token's person, and the copy keeps the grants
    (loaded in the same round trip, not by a second query)."""
    return (select(ApiDevice, User, ApiToken.expires_at).join(ApiToken, ApiToken.device_id == ApiDevice.id)
            .join(User, User.id == ApiDevice.user_id).options(joinedload(User.grants))
            .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.kind == ACCESS,
                   ApiToken.expires_at > bindparam("now"), ApiDevice.revoked_at.is_(None),
                   User.is_active.is_(True)))


@dataclass(frozen=True)
class Caller:
    """Whom an access token speaks for: its device and person (``person.id`` at once, ``user`` — the row in
    the request's session — when first read), and whether the device's last use is due to be recorded (at
    most every API_TOKEN_TOUCH_SECONDS)."""

    device_id: int
    person: Person
    touch_due: bool

    @property
    def user(self) -> User:
        return self.person.row


def caller(access_secret: str, *, now: datetime) -> Caller | None:
    """The caller of an access token, or None when it is unknown, expired or revoked, or its person is
    disabled. With the log-in cache on (AUTH_CACHE_URL) the token's copy lives in Redis for every process,
    read with the person's stamps instead of asking the database (classroom.accounts.shared_copies): a
    device signed out or revoked, a person disabled or their roles
    changed is refused or seen at the next request; a copy never outlives the token nor the device's next
    last-used touch."""
    touch_after = timedelta(seconds=current_app.config["API_TOKEN_TOUCH_SECONDS"])
    touch_due = False

    def load() -> tuple[User, int, datetime, datetime] | None:
        nonlocal touch_due
        row = _signed_in_row(access_secret, now)
        if row is None:
            return None
        device, user, expires_at = row
        touch_due = now - device.last_used_at > touch_after  # (then the copy lapses at once: none is kept)
        return user, device.id, min(expires_at, device.last_used_at + touch_after), expires_at

    found = copied_user(copy_key(access_secret), copy_until=load, now=now)
    if found is None:
        return None
    person, device_id = found
    return Caller(device_id, person, touch_due)


def copy_key(access_secret: str) -> str:
    """An access token's key among the log-in cache's copies."""
    return COPY_PREFIX + token_hash(access_secret)


def touch_device(device_id: int, *, now: datetime) -> None:
    """Record that a device was used now (written at most every API_TOKEN_TOUCH_SECONDS; it changes nobody's
    rights, so no copy of the log-in cache is made stale by it)."""
    db.session.execute(update(ApiDevice).where(ApiDevice.id == device_id).values(last_used_at=now)
                       .execution_options(auth_users=()))


def active_devices(user: User) -> Select:
    """SELECT of the person's devices that are still signed in, last used first."""
    return (select(ApiDevice).where(ApiDevice.user_id == user.id, ApiDevice.revoked_at.is_(None))
            .order_by(ApiDevice.last_used_at.desc(), ApiDevice.id.desc()))


def device_section(user: User) -> list[dict]:
    """The personal-data download's part: the person's signed-in devices."""
    devices = db.session.scalars(select(ApiDevice).where(ApiDevice.user_id == user.id).order_by(ApiDevice.id))
    return [{"name": device.name, "created_at": device.created_at.isoformat(),
             "last_used_at": device.last_used_at.isoformat(),
             "revoked_at": device.revoked_at.isoformat() if device.revoked_at else None} for device in devices]


def erase_devices(user: User, now: datetime) -> None:
    """Closing an account: every device is revoked and its tokens deleted."""
    db.session.execute(update(ApiDevice).where(ApiDevice.user_id == user.id, ApiDevice.revoked_at.is_(None))
                       .values(revoked_at=now, revoked_reason=CLOSED).execution_options(auth_users=(user.id,)))
    db.session.execute(delete(ApiToken).where(ApiToken.device_id.in_(
        select(ApiDevice.id).where(ApiDevice.user_id == user.id))).execution_options(auth_users=(user.id,)))


def sign_out(device_id: int, user_id: int, *, reason: str = LOGOUT, now: datetime) -> None:
    """End the device ``device_id`` of ``user_id`` (its tokens are refused from now on, in every process)."""
    db.session.execute(update(ApiDevice).where(ApiDevice.id == device_id, ApiDevice.user_id == user_id,
                                               ApiDevice.revoked_at.is_(None))
                       .values(revoked_at=now, revoked_reason=reason).execution_options(auth_users=(user_id,)))


def purge_expired(*, now: datetime) -> int:
    """Delete tokens a day past their expiry (refused since; a device's history stays)."""
    statement = delete(ApiToken).where(ApiToken.expires_at < now - timedelta(days=1)).execution_options(
        auth_users=())  # refused since they expired; no copy outlives its token
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount
