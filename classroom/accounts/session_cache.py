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
import time
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from classroom.accounts.auth_cache import AuthCache, Snapshot
from classroom.accounts.models import LoginSession, RoleGrant, User
from classroom.accounts.services import load_login_session
from classroom.api.models import ApiDevice
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.tokens import token_hash

log = logging.getLogger(__name__)

WATCHED_TABLES = frozenset({"user", "role_grant", "login_session", "notification", "api_device", "api_token"})
CHANGED = "auth_cache.changed"  # session.info: ids of people whose records this transaction changed
EVERYONE = "auth_cache.everyone"


def init_app(app: Flask) -> None:
    """The cache when ``AUTH_CACHE_URL`` is set (and only then the session listeners that stamp changes),
    and its line in /healthz."""
    url = app.config.get("AUTH_CACHE_URL")
    app.extensions["auth_cache"] = AuthCache(
        url, prefix=app.config["AUTH_CACHE_PREFIX"], seconds=float(app.config["AUTH_CACHE_SECONDS"]),
        max_entries=int(app.config["AUTH_CACHE_ENTRIES"]), secret=app.config["SECRET_KEY"]) if url else None
    app.extensions["classroom"].health_checks.append(_health)
    if url:
        _listen()


def cache_for(app: Flask) -> AuthCache | None:
    """The app's log-in cache, or None when it is off."""
    return app.extensions.get("auth_cache")


def _health() -> dict:
    """/healthz: "off", "ok", or "unreachable" (then the database answers: slower, still correct)."""
    cache = cache_for(current_app)
    return {"auth_cache": "off" if cache is None else "ok" if cache.reachable() else "unreachable"}



# ---- loading the user of a request -------------------------------------------------------------------

def session_user(token: str, *, now: datetime, touch_after: timedelta) -> tuple[User, bool] | None:
    """(the user of this log-in token for this request, whether its last-seen time was moved on: the
    caller commits that): this process's copy when Redis says nothing changed, else the database's
    answer (None: ended, unknown or disabled)."""
    cache = cache_for(current_app)
    if cache is None:
        found = load_login_session(token, now=now, touch_after=touch_after)
        return (found[0], found[2]) if found else None
    key = token_hash(token)
    snapshot = cache.get(key)
    if snapshot is not None and time.monotonic() < snapshot.until \
            and cache.stamps(snapshot.user.id) == snapshot.stamps and snapshot.epoch == cache.epoch:
        attached = attach(snapshot, db.session(), token)
        if attached is not None:
            return attached, False
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
            cache.put(key, Snapshot(detached_copy(user), user.unread_count, stamps, time.monotonic() + left, epoch))
    return user, touched


def session_started(token: str, user_id: int) -> None:
    """A log-in session was just opened here: its first request may already be served from a copy."""
    cache = cache_for(current_app)
    if cache is not None:
        cache.set_owner(token_hash(token), user_id)


def attach(snapshot: Snapshot, session: Session, token: str | None) -> User | None:
    """The copy in this request's session, without a query. A user this session already holds is
    taken as it is (merging would overwrite what the request loaded or changed); None when the
    session holds one of the user's role grants (then the database answers)."""
    if any(_held(session, grant) is not None for grant in snapshot.user.grants):
        return None
    held = _held(session, snapshot.user)
    user = held if held is not None else session.merge(snapshot.user, load=False)
    if held is None:
        _own_json(user)
        user.unread_count = snapshot.unread
    if token is not None:
        user.login_token = token
    return user


def _held(session: Session, copy: Any) -> Any:
    """The row of ``copy``'s identity that ``session`` already holds, or None."""
    key = inspect(copy).key
    return session.identity_map.get(key) if key is not None else None


def _own_json(obj: Any) -> None:
    """Give the merged row its own JSON values: merge copies references, and a dict changed in
    place by one request must not change the copy every other request starts from."""
    state = inspect(obj)
    for attribute in state.mapper.column_attrs:
        value = state.dict.get(attribute.key)
        if isinstance(value, dict | list):
            set_committed_value(obj, attribute.key, copying.deepcopy(value))


def _copy(obj: Any) -> Any:
    """A detached copy of a loaded row: its loaded columns (JSON values copied), as if freshly read."""
    state = inspect(obj)
    duplicate = state.mapper.class_manager.new_instance()
    for attribute in state.mapper.column_attrs:
        if attribute.key in state.dict:
            set_committed_value(duplicate, attribute.key, copying.deepcopy(state.dict[attribute.key]))
    make_transient_to_detached(duplicate)
    return duplicate


def detached_copy(user: User) -> User:
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
    if isinstance(obj, (RoleGrant, LoginSession, Notification, ApiDevice)):
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
