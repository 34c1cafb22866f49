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
* The stamps are read *before* the database load that a copy is made from, and only a load that
  opens the request's first transaction is copied (a request that already read the database may
  hold rows older than the stamps). A missing stamp (a key evicted) never matches a copy. A new
  connection that reaches a restarted Redis (a new run id: it may have brought old stamps back
  from disk) drops every copy of the process.
* So a logged-out, disabled or demoted person is refused at their next request, as without the
  cache. If Redis cannot be reached the database answers; a process that cannot write a stamp
  drops its own copies and logs it, and a copy never lives longer than ``AUTH_CACHE_SECONDS``
  nor past the session's next last-seen touch: the bound for a change nobody announced.
* Only the user row and their role grants are copied, never the unions the grants name (a union
  renamed or moved must be read fresh). The copy is merged into each request's session without a
  query; JSON values are copied too, so no request can change what another one sees.
"""

from __future__ import annotations

import copy as copying
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
    epoch: int  # the process's Redis connection epoch when the stamps were read


class AuthCache:
    """The per-process copies and the Redis stamps they are checked against."""

    def __init__(self, url: str, *, prefix: str, seconds: float, max_entries: int = 10000) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                          redis_connect_func=self._connected)
        self._warned_at = float("-inf")
        self.epoch = 0  # moves on when Redis restarted or a stamp could not be written: older copies are dropped
        self.run_id: str | None = None  # of the Redis server the stamps live on
        self.prefix = prefix
        self.seconds = seconds
        self.max_entries = max_entries
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._owners: OrderedDict[str, int] = OrderedDict()  # token hash -> user id (never changes)
        self._lock = threading.Lock()

    def _connected(self, connection) -> None:
        """A new connection: if it reaches a restarted server (a new run id), that server may hold
        stamps older than our copies (loaded back from disk), so every copy is dropped."""
        connection.on_connect()
        connection.send_command("INFO", "server")
        info = connection.read_response()
        text = info.decode() if isinstance(info, bytes) else str(info)
        run_id = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("run_id:")),
                      None)
        with self._lock:
            if run_id is None or (self.run_id is not None and run_id != self.run_id):
                self._drop_copies()  # under the same lock: no thread may see the new id with old copies
            self.run_id = run_id

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
        return _both(found)

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
        return _both(found)

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
            self.clear()
            log.error("auth cache: could not mark %s changed; other processes' copies may live up to %s s",
                      "everyone" if everyone else sorted(user_ids), self.seconds, exc_info=True)

    # ---- copies in this process ----
    def get(self, token_hash: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(token_hash)

    def owner(self, token_hash: str) -> int | None:
        with self._lock:
            return self._owners.get(token_hash)

    def put(self, token_hash: str, snapshot: Snapshot) -> None:
        self._keep(self._snapshots, token_hash, snapshot)

    def set_owner(self, token_hash: str, user_id: int) -> None:
        self._keep(self._owners, token_hash, user_id)

    def _keep(self, entries: OrderedDict, key: str, value) -> None:
        """Store, most recent last; the least recently stored go beyond ``max_entries``."""
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > self.max_entries:
                entries.popitem(last=False)

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
        """Drop every copy (the owners stay: a token's owner never changes)."""
        with self._lock:
            self._drop_copies()

    def _drop_copies(self) -> None:  # the caller holds the lock
        self.epoch += 1
        self._snapshots.clear()


def _both(found: list) -> tuple[bytes, bytes] | None:
    """Everyone's and the person's stamps; None when either is missing (a missing stamp matches no copy)."""
    return (found[0], found[1]) if found[0] and found[1] else None


def init_app(app: Flask) -> None:
    """The cache when ``AUTH_CACHE_URL`` is set (and only then the session listeners that stamp changes),
    and its line in /healthz."""
    url = app.config.get("AUTH_CACHE_URL")
    app.extensions["auth_cache"] = AuthCache(
        url, prefix=app.config["AUTH_CACHE_PREFIX"], seconds=float(app.config["AUTH_CACHE_SECONDS"]),
        max_entries=int(app.config["AUTH_CACHE_ENTRIES"])) if url else None
    app.extensions["classroom"].health_checks.append(_health)
    if url:
        _listen()


def cache_for(app: Flask) -> AuthCache | None:
    return app.extensions.get("auth_cache")


def _health() -> dict:
    """/healthz: "off", "ok", or "unreachable" (then the database answers: slower, still correct)."""
    cache = cache_for(current_app)
    return {"auth_cache": "off" if cache is None else "ok" if cache.reachable() else "unreachable"}



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
    if snapshot is not None and time.monotonic() < snapshot.until \
            and cache.stamps(snapshot.user.id) == snapshot.stamps and snapshot.epoch == cache.epoch:
        user = _attach(snapshot, db.session, token)
        if user is not None:
            return user
    owner = snapshot.user.id if snapshot is not None else cache.owner(key)
    # Only a load that starts the request's first transaction reads rows at least as new as the
    # stamps read just before it (else this session may hold older rows, or an older snapshot).
    fresh = not db.session().in_transaction()
    epoch = cache.epoch
    stamps = cache.ensure_stamps(owner) if owner is not None else None  # read before the load
    found = load_login_session(token, now=now, touch_after=touch_after)
    if found is None:
        cache.forget(key)
        return None
    user, last_seen_at, touched = found
    cache.set_owner(key, user.id)
    if stamps is not None and fresh and user.id == owner and not touched:
        left = min(cache.seconds, (last_seen_at + touch_after - now).total_seconds())
        if left > 0:
            cache.put(key, Snapshot(_detached_copy(user), user.unread_count, stamps, time.monotonic() + left, epoch))
    return user


def session_started(token: str, user_id: int) -> None:
    """A log-in session was just opened here: its first request may already be served from a copy."""
    cache = cache_for(current_app)
    if cache is not None:
        cache.set_owner(hash_token(token), user_id)


def _attach(snapshot: Snapshot, session: Session, token: str) -> User | None:
    """The copy in this request's session, without a query. A user this session already holds is
    taken as it is (merging would overwrite what the request loaded or changed); None when the
    session holds one of the user's role grants (then the database answers)."""
    if any(inspect(grant).key in session.identity_map for grant in snapshot.user.grants):
        return None
    held = session.identity_map.get(inspect(snapshot.user).key)
    user = held if held is not None else session.merge(snapshot.user, load=False)
    if held is None:
        _own_json(user)
        user.unread_count = snapshot.unread
    user.login_token = token
    return user


def _own_json(obj) -> None:
    """Give the merged row its own JSON values: merge copies references, and a dict changed in
    place by one request must not change the copy every other request starts from."""
    state = inspect(obj)
    for attribute in state.mapper.column_attrs:
        value = state.dict.get(attribute.key)
        if isinstance(value, dict | list):
            set_committed_value(obj, attribute.key, copying.deepcopy(value))


def _copy(obj):
    """A detached copy of a loaded row: its loaded columns (JSON values copied), as if freshly read."""
    state = inspect(obj)
    duplicate = state.mapper.class_manager.new_instance()
    for attribute in state.mapper.column_attrs:
        if attribute.key in state.dict:
            set_committed_value(duplicate, attribute.key, copying.deepcopy(state.dict[attribute.key]))
    make_transient_to_detached(duplicate)
    return duplicate


def _detached_copy(user: User) -> User:
    """The user with their role grants, as detached copies that many threads may merge at once
    (nobody holds or changes them). A grant's union is left out: it loads fresh when asked for."""
    duplicate = _copy(user)
    set_committed_value(duplicate, "grants", [_copy(grant) for grant in user.grants])
    return duplicate


# ---- noticing changes ---------------------------------------------------------------------------------

def changed(session: Session, *user_ids: int) -> None:
    """These people's records change in this transaction (stamped anew when it commits)."""
    session.info.setdefault(CHANGED, set()).update(user_ids)


def changed_everyone(session: Session) -> None:
    """Records of people not named change in this transaction (everyone is stamped anew)."""
    session.info[EVERYONE] = True


def _listen() -> None:
    """Stamp the people whose records a commit changed (Session-wide listeners, attached once)."""
    for name, listener in (("after_flush", _after_flush), ("do_orm_execute", _on_execute),
                           ("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


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


def _after_commit(session: Session) -> None:
    ids = session.info.pop(CHANGED, None)
    everyone = session.info.pop(EVERYONE, False)
    if not (ids or everyone):
        return
    if not has_app_context():
        log.warning("auth cache: a commit outside an app context changed %s; no stamp written",
                    "everyone" if everyone else sorted(ids))
        return
    cache = cache_for(current_app)
    if cache is not None:
        cache.bump(ids or (), everyone)


def _after_transaction_end(session: Session, transaction) -> None:
    """The outermost transaction ended (a commit has stamped already): forget what it changed. A
    rolled-back savepoint forgets nothing: what the rest of the transaction changed still counts,
    and an extra stamp costs one reload."""
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
        session.info.pop(EVERYONE, None)
