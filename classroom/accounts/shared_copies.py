"""API access tokens through the log-in cache: a copy in Redis that every process shares.

A phone's token is seen by whichever process its request reaches; a copy kept per process would be loaded
by each of them, and lapse in each. So a token's copy — whose it is and what its load keeps beside them (its
device) — lives in Redis beside the stamps (classroom/accounts/session_cache.py), read with them in one
round trip, and taken under the same rules: its stamps read before the database load it is made from, only
from a load that opens the request's first transaction, never current under other stamps nor after the
Redis server restarted (its run id), never longer than ``AUTH_CACHE_SECONDS`` nor past the token's expiry
or its device's next last-used touch. A copy is signed with a key of the app's secret (whoever can only
write to Redis, or another deployment sharing it, cannot make a token stand for anyone). The person's row is
copied per process, only when a request asks. A process that cannot write a stamp drops its own copies and
trusts no shared one for ``AUTH_CACHE_SECONDS``; other processes' shared copies live out that bound, as their
own copies always did (the change is unannounced to them all alike).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from flask import current_app, g
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from classroom.accounts.auth_cache import AuthCache, Person, Snapshot
from classroom.accounts.models import User
from classroom.accounts.session_cache import attach, cache_for, detached_copy
from classroom.extensions import db


def copied_user(key: str, *, copy_until: Callable[[], tuple[User, Any, datetime, datetime] | None],
                now: datetime) -> tuple[Person, Any] | None:
    """(the person, what was kept beside them) for an API access token
    (``key``: its hash, prefixed): its copy in Redis, shared by every process, when Redis says nothing of the
    person changed since; else ``copy_until()``'s answer — (user, what to keep: JSON, the moment the copy
    must lapse: the token's expiry or its next last-used touch, the token's expiry), or None when the token is
    refused. Only whose token it is comes from the copy: the person's row joins the request's session when
    asked for (``Person.row``: this process's copy of it, else one query), so a request that needs no more
    (saving an answer) pays for neither, and a token seen first by one process is current in all of them."""
    cache = cache_for(current_app)
    if cache is None:
        found = copy_until()
        return (Person(found[0].id, row=found[0]), found[1]) if found else None
    fresh = _no_transaction()  # as in session_user: only a first load may be copied
    read = g.pop(READ_AHEAD, None)  # the copy and the epoch before it, read before the load
    epoch, shared = read[1:] if read is not None and read[0] == key else (cache.epoch, cache.shared(key))
    if shared is not None and shared.current and shared.owner is not None and shared.stamps is not None:
        row = partial(_row, cache, key, shared.owner, shared.stamps, epoch if fresh else None)
        return Person(shared.owner, row), shared.kept
    owner = shared.owner if shared is not None else None
    stamps = shared.stamps if shared is not None else None
    if stamps is None and owner is not None:
        stamps = cache.ensure_stamps(owner)
    found = copy_until()
    if found is None:
        cache.unshare(key)
        return None
    user, kept, until, expires = found
    left = min(cache.seconds, (until - now).total_seconds())
    if stamps is not None and fresh and user.id == owner and left > 0 and epoch == cache.epoch:
        cache.share(key, user.id, kept, stamps, left)
    elif shared is not None and owner is None:
        cache.share_owner(key, user.id, (expires - now).total_seconds())
    return Person(user.id, row=user), kept


READ_AHEAD = "classroom_shared_copy_read"  # on ``g``: (key, the cache's epoch before, Shared) read with the count


def read_with_count(key: str, counter: Callable[[Any], str | None], seconds: int, cost: int) -> int | None:
    """Read the credential ``key``'s shared copy now, for ``copied_user`` later in this request, and make the
    rate limiter's count of the request in the same round trip (``counter``: the limiter's key given the log-in
    cache's Redis client, None unless it counts on that server; ``seconds``: its window): the count, or None
    when there is no log-in cache, the limiter counts elsewhere or Redis did not answer (the caller then counts
    as usual, and ``copied_user`` reads the copy itself)."""
    g.pop(READ_AHEAD, None)  # (an app context may outlive a request: none but this request's is taken)
    cache = cache_for(current_app)
    target = counter(cache.redis) if cache is not None else None
    if cache is None or target is None:
        return None
    epoch = cache.epoch
    shared = cache.shared(key, (target, seconds, cost))
    if shared is None or shared.count is None:
        return None
    setattr(g, READ_AHEAD, (key, epoch, shared))
    return shared.count


def _row(cache: AuthCache, key: str, user_id: int, stamps: tuple[bytes, bytes], epoch: int | None) -> User:
    """The person of a shared copy, in the request's session: this process's copy of the row when taken
    under the same stamps, else loaded (with the role grants) and copied when the stamps were read before
    the request's first transaction (``epoch`` given) and this load opens it."""
    snapshot = cache.get(key)
    if snapshot is not None and snapshot.user.id == user_id and snapshot.stamps == stamps \
            and snapshot.epoch == cache.epoch and time.monotonic() < snapshot.until:
        return _attached(snapshot)
    first = _no_transaction()  # (else the session may hold rows this request changed)
    user = db.session.execute(select(User).options(joinedload(User.grants)).where(User.id == user_id)
                              ).unique().scalar_one()
    if epoch is not None and first and epoch == cache.epoch:
        cache.put(key, Snapshot(detached_copy(user), user.unread_count, stamps, time.monotonic() + cache.seconds,
                                epoch))
    return user


def _attached(snapshot: Snapshot) -> User:
    """The copy (found current when the credential was checked) in the request's session; loaded instead
    when the session holds one of the user's role grants, which a merge must not overwrite."""
    session = db.session()
    return attach(snapshot, session, None) or session.get_one(User, snapshot.user.id)


def _no_transaction() -> bool:
    """Whether the request's session has no transaction open (asked without making the session)."""
    return not (db.session.registry.has() and db.session().in_transaction())
