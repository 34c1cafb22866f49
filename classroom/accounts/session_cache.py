"""Who is logged in, remembered by each process between requests and checked with Redis on each.

Without ``AUTH_CACHE_URL`` every request loads its log-in session, roles and bell count from the
database. With it, a process keeps a detached copy of each recent session's user and asks Redis
one question per request (one MGET): have this person's records, or everyone's, changed since the
copy was taken?

* Every commit that touches a person's account, roles, log-in sessions or notifications writes a
  new random stamp for that person (after the commit, so a reader never caches the old rows
  under the new stamp); a bulk statement on those tables that does not say whose rows it changed
  writes a new stamp for everyone. The session's own events find ORM changes and DML statements;
  a statement that hides its write inside a SELECT (a data-modifying CTE) calls
  :func:`changed_everyone` itself.
* The stamps are read *before* the database load that a copy is made from, and a missing stamp
  (Redis restarted, a key evicted) never matches a copy: either way the next request reloads.
* So a logged-out, disabled or demoted person is refused at their next request, as without the
  cache. If Redis cannot be reached the database answers, and a copy never lives longer than
  ``AUTH_CACHE_SECONDS`` nor past the session's next last-seen touch.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from classroom.accounts.models import LoginSession, RoleGrant, User
from classroom.accounts.services import hash_token, load_login_session
from classroom.extensions import db
from classroom.health import HEALTH_CHECKS
from classroom.notifications.models import Notification

log = logging.getLogger(__name__)

WATCHED_TABLES = frozenset({"user", "role_grant", "login_session", "notification"})
CHANGED = "auth_cache.changed"  # session.info: ids of people whose records this transaction changed
EVERYONE = "auth_cache.everyone"
STAMP_SECONDS = 86400  # an idle person's stamp lapses; a lapsed stamp only means one reload


@dataclass(frozen=True)
class Snapshot:
    user: User  # detached; never attached to a session, only merged into one
    unread: int | None
    stamps: tuple[bytes, bytes]
    until: float  # time.monotonic() deadline


class AuthCache:
    """The per-process copies and the Redis stamps they are checked against."""

    def __init__(self, url: str, *, prefix: str, seconds: float, max_entries: int = 10000) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._warned_at = float("-inf")
        self.prefix = prefix
        self.seconds = seconds
        self.max_entries = max_entries
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._owners: OrderedDict[str, int] = OrderedDict()  # token hash -> user id (never changes)
        self._lock = threading.Lock()

    # ---- stamps in Redis ----
    def _keys(self, user_id: int) -> tuple[str, str]:
        return self.prefix + "all", f"{self.prefix}u:{user_id}"

    def stamps(self, user_id: int) -> tuple[bytes, bytes] | None:
        """The current stamps (everyone's, this person's); None when one is missing or Redis is away."""
        try:
            found = self.redis.mget(self._keys(user_id))
        except redis.RedisError:
            self._unreachable()
            return None
        return (found[0], found[1]) if found[0] and found[1] else None

    def _unreachable(self) -> None:
        """Say so in the log once a minute, not on every request."""
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning("auth cache: Redis unreachable; log-ins are loaded from the database", exc_info=True)

    def ensure_stamps(self, user_id: int) -> tuple[bytes, bytes] | None:
        """The current stamps, first creating any that is missing."""
        everyone, person = self._keys(user_id)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(everyone, secrets.token_hex(8), nx=True, ex=STAMP_SECONDS)
            pipe.set(person, secrets.token_hex(8), nx=True, ex=STAMP_SECONDS)
            pipe.mget(everyone, person)
            found = pipe.execute()[-1]
        except redis.RedisError:
            self._unreachable()
            return None
        return (found[0], found[1]) if found[0] and found[1] else None

    def bump(self, user_ids, everyone: bool = False) -> None:
        """New stamps for these people (or everyone): their copies in every process are stale."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            if everyone:
                pipe.set(self.prefix + "all", secrets.token_hex(8), ex=STAMP_SECONDS)
            for user_id in user_ids:
                pipe.set(f"{self.prefix}u:{user_id}", secrets.token_hex(8), ex=STAMP_SECONDS)
            pipe.execute()
        except redis.RedisError:
            log.error("auth cache: could not mark %s changed; copies may live up to %s s",
                      "everyone" if everyone else sorted(user_ids), self.seconds, exc_info=True)

    # ---- copies in this process ----
    def get(self, token_hash: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(token_hash)

    def owner(self, token_hash: str) -> int | None:
        with self._lock:
            return self._owners.get(token_hash)

    def put(self, token_hash: str, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshots[token_hash] = snapshot
            self._snapshots.move_to_end(token_hash)
            while len(self._snapshots) > self.max_entries:
                self._snapshots.popitem(last=False)

    def set_owner(self, token_hash: str, user_id: int) -> None:
        with self._lock:
            self._owners[token_hash] = user_id
            self._owners.move_to_end(token_hash)
            while len(self._owners) > self.max_entries:
                self._owners.popitem(last=False)

    def forget(self, token_hash: str) -> None:
        with self._lock:
            self._snapshots.pop(token_hash, None)
            self._owners.pop(token_hash, None)

    def reachable(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

    def clear(self) -> None:
        with self._lock:
            self._snapshots.clear()
            self._owners.clear()


def init_app(app: Flask) -> None:
    url = app.config.get("AUTH_CACHE_URL")
    app.extensions["auth_cache"] = AuthCache(
        url, prefix=app.config["AUTH_CACHE_PREFIX"], seconds=float(app.config["AUTH_CACHE_SECONDS"]),
        max_entries=int(app.config["AUTH_CACHE_ENTRIES"])) if url else None


def cache_for(app: Flask) -> AuthCache | None:
    return app.extensions.get("auth_cache")


def _health() -> dict:
    """/healthz: "off", "ok", or "unreachable" (then the database answers: slower, still correct)."""
    cache = cache_for(current_app)
    return {"auth_cache": "off" if cache is None else "ok" if cache.reachable() else "unreachable"}


HEALTH_CHECKS.append(_health)


# ---- loading the user of a request -------------------------------------------------------------------

def session_user(token: str, *, now: datetime, touch_after: timedelta) -> User | None:
    """The user of this log-in token for this request: this process's copy when Redis says
    nothing changed, else the database's answer (None: ended, unknown or disabled)."""
    cache = cache_for(current_app)
    if cache is None:
        found = load_login_session(token, now=now, touch_after=touch_after)
        return found[0] if found else None
    key = hash_token(token)
    snapshot = cache.get(key)
    if snapshot is not None and time.monotonic() < snapshot.until and cache.stamps(snapshot.user.id) == snapshot.stamps:
        return _attach(snapshot, db.session, token)
    owner = snapshot.user.id if snapshot is not None else cache.owner(key)
    stamps = cache.ensure_stamps(owner) if owner is not None else None  # read before the load
    found = load_login_session(token, now=now, touch_after=touch_after)
    if found is None:
        cache.forget(key)
        return None
    user, last_seen_at, touched = found
    cache.set_owner(key, user.id)
    if stamps is not None and user.id == owner and not touched:
        left = min(cache.seconds, (last_seen_at + touch_after - now).total_seconds())
        if left > 0:
            cache.put(key, Snapshot(_detached_copy(user), user.unread_count, stamps, time.monotonic() + left))
    return user


def session_started(token: str, user_id: int) -> None:
    """A log-in session was just opened here: its first request may already be served from a copy."""
    cache = cache_for(current_app)
    if cache is not None:
        cache.set_owner(hash_token(token), user_id)


def _attach(snapshot: Snapshot, session: Session, token: str) -> User:
    user = session.merge(snapshot.user, load=False)
    user.unread_count = snapshot.unread
    user.login_token = token
    return user


def _copy(obj):
    """A detached copy of a loaded row: its loaded columns, as if freshly read, without a session."""
    state = inspect(obj)
    copy = state.mapper.class_manager.new_instance()
    for attribute in state.mapper.column_attrs:
        if attribute.key in state.dict:
            set_committed_value(copy, attribute.key, state.dict[attribute.key])
    return copy


def _detached_copy(user: User) -> User:
    """The user with their roles and the roles' unions, as detached copies that many threads may
    merge at once (nobody holds or changes them)."""
    grants = []
    for grant in user.grants:
        copy = _copy(grant)
        if grant.union is not None:
            union = _copy(grant.union)
            make_transient_to_detached(union)
            set_committed_value(copy, "union", union)
        make_transient_to_detached(copy)
        grants.append(copy)
    copy = _copy(user)
    set_committed_value(copy, "grants", grants)
    make_transient_to_detached(copy)
    return copy


# ---- noticing changes ---------------------------------------------------------------------------------

def changed(session: Session, *user_ids: int) -> None:
    """These people's records change in this transaction (stamped anew when it commits)."""
    session.info.setdefault(CHANGED, set()).update(user_ids)


def changed_everyone(session: Session) -> None:
    """Records of people not named change in this transaction (everyone is stamped anew)."""
    session.info[EVERYONE] = True


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    ids = set()
    for obj in chain(session.new, session.deleted):
        owner = _row_owner(obj)
        if owner is not None:
            ids.add(owner)
    for obj in session.dirty:
        if isinstance(obj, LoginSession) and not inspect(obj).attrs.revoked_at.history.has_changes() \
                and not inspect(obj).attrs.user_id.history.has_changes():
            continue  # the every-few-minutes last-seen touch does not change who may use the session
        owner = _row_owner(obj)
        if owner is not None:
            ids.add(owner)
    if ids:
        changed(session, *ids)


def _row_owner(obj) -> int | None:
    if isinstance(obj, User):
        return obj.id
    if isinstance(obj, (RoleGrant, LoginSession, Notification)):
        return obj.user_id
    return None


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) not in WATCHED_TABLES:
        return
    named = state.execution_options.get("auth_users")
    if named is None:
        changed_everyone(state.session)
    else:
        changed(state.session, *named)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(CHANGED, None)
    everyone = session.info.pop(EVERYONE, False)
    if (ids or everyone) and has_app_context():
        cache = cache_for(current_app)
        if cache is not None:
            cache.bump(ids or (), everyone)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop(EVERYONE, None)
