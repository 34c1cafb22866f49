"""Partner API keys: a union subtree and named scopes, created by an administrator of that union, shown
once, stored as their SHA-256, revocable; every use is audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.api.models import ApiKey
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.tokens import token_hash
from classroom.unions.models import TradeUnion

KEY_PREFIX = "wck_"
SCOPES = {
    "members:read": _l("Read the members of the union's subtree"),
    "hours:read": _l("Read training hours"),
    "courses:read": _l("Read the course catalogue"),
    "enrollments:write": _l("Enroll members in courses"),
    "competitions:read": _l("Read competitions and entries"),
    "applications:write": _l("Approve and reject membership applications"),
}


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its secret, which is shown this once."""

    key: ApiKey
    secret: str


def create_key(union: TradeUnion, *, name: str, scopes: list[str], actor: User, now: datetime) -> CreatedKey:
    """A key for ``union``'s subtree with these scopes (the caller checked that ``actor`` manages it)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid(_l("Name the key (at most 100 characters)."), field="name")
    if not scopes or not set(scopes) <= set(SCOPES):
        raise Invalid(_l("Choose at least one scope."), field="scopes")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(union_id=union.id, name=name, prefix=secret[:12], key_hash=token_hash(secret),
                 scopes=sorted(set(scopes)), created_by_id=actor.id, created_at=now)
    db.session.add(key)
    db.session.flush()
    record_event(actor, "api_key.create", key, union_id=union.id, name=name, scopes=key.scopes)
    return CreatedKey(key, secret)


def revoke_key(key: ApiKey, *, actor: User, now: datetime) -> None:
    """Revoke a key: its next use is refused."""
    if key.revoked_at is not None:
        raise Conflict(_l("This key is already revoked."))
    key.revoked_at, key.revoked_by_id = now, actor.id
    record_event(actor, "api_key.revoke", key, union_id=key.union_id)


def key_by_secret(secret: str) -> ApiKey | None:
    """The live key with this secret, with its union; None when unknown or revoked."""
    return db.session.scalar(select(ApiKey).options(joinedload(ApiKey.union))
                             .where(ApiKey.key_hash == token_hash(secret), ApiKey.revoked_at.is_(None)))


def record_use(key: ApiKey, *, method: str, path: str, now: datetime) -> None:
    """Audit one request made with ``key``."""
    key.last_used_at = now
    record_event(None, "api_key.use", key, union_id=key.union_id, method=method, path=path[:200])


def keys_of(union: TradeUnion) -> Select:
    """SELECT of the keys of ``union`` (live first, then newest)."""
    return (select(ApiKey).where(ApiKey.union_id == union.id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc()))


def key_of(union: TradeUnion, key_id: int) -> ApiKey | None:
    """The key ``key_id`` when it belongs to ``union``."""
    return db.session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.union_id == union.id))
