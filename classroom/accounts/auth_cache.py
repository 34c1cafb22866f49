"""The log-in cache's parts: a process's copies of recent sessions' users, and the Redis stamps they are
checked against (classroom/accounts/session_cache.py says how they are used)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from classroom.accounts.models import User

log = logging.getLogger("classroom.accounts.session_cache")
STAMP_SECONDS = 86400  # an idle person's stamp lapses; a lapsed stamp only means one reload


@dataclass(frozen=True)
class Snapshot:
    """A process's copy of one log-in session's user, and the stamps it was taken under."""

    user: User  # detached; never attached to a session, only merged into one
    unread: int | None
    stamps: tuple[bytes, bytes]
    until: float  # time.monotonic() deadline
    epoch: int  # the process's Redis connection epoch when the stamps were read


@dataclass(frozen=True)
class Shared:
    """What Redis holds for a credential every process may check (an API access token): whose it is (None
    until a process has loaded it once), the person's current stamps (None when one is missing), and its
    copy — ``kept``, what the credential's load keeps beside the person — when the copy was taken under
    those stamps on this Redis server's run (``current``)."""

    owner: int | None
    stamps: tuple[bytes, bytes] | None
    current: bool
    kept: Any = None
    count: int | None = None  # the rate limiter's count, when asked to make it


class Person:
    """Whom a credential speaks for: ``id`` at once; ``row``, the user in the request's session, made by
    ``load`` when first asked (a request that needs only whose credential it is never pays for it)."""

    __slots__ = ("id", "_load", "_row")

    def __init__(self, user_id: int, load: Callable[[], User] | None = None, row: User | None = None) -> None:
        self.id, self._load, self._row = user_id, load, row

    @property
    def row(self) -> User:
        if self._row is None:
            assert self._load is not None
            self._row = self._load()
        return self._row


# One round trip for a credential's shared copy: the copy, its owner and both of the owner's stamps (the
# owner's key is named by the owner found, so it cannot be a declared key: one Redis server, not a cluster).
# With a fourth key, the rate limiter's count of the request is made in the same trip (INCRBY ARGV[3], and EXPIRE
# ARGV[2] when the window opens: the limiter's own script, classroom.ratelimits.redis_counter).
_READ_SHARED = """
local copy = redis.call('GET', KEYS[1])
local owner = redis.call('GET', KEYS[2])
local person = owner and redis.call('GET', ARGV[1] .. owner)
local count = (KEYS[4] and redis.call('INCRBY', KEYS[4], ARGV[3])) or false  -- (a nil would end the reply)
if count == tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[4], ARGV[2]) end
return {copy, owner, redis.call('GET', KEYS[3]), person, count}
"""


class AuthCache:
    """The per-process copies and the Redis stamps they are checked against; for API access tokens, a copy
    in Redis that every process shares."""

    def __init__(self, url: str, *, prefix: str, seconds: float, secret: str, max_entries: int = 10000) -> None:
        # No command is repeated (redis-py repeats a failed one ten times): one that timed out may have run, and
        # the trip that counts a request for the rate limiter would count it again.
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                          retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
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
        self._read_shared = self.redis.register_script(_READ_SHARED)
        # A shared copy says whose a token is: it is signed with a key of the app's secret, so neither another
        # deployment sharing the Redis nor anyone who can only write to it can make a token stand for someone.
        self._signing_key = hmac.new(secret.encode(), b"classroom.auth_cache.shared", hashlib.sha256).digest()
        self._distrust_shared_until = float("-inf")  # after a stamp this process could not write

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
        """The current stamps, first creating any that is missing (read first: they mostly exist)."""
        everyone, person = self._keys(user_id)
        try:
            if (found := _both(self.redis.mget(everyone, person))) is not None:
                return found
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(everyone, secrets.token_hex(8), nx=True, ex=STAMP_SECONDS)
            pipe.set(person, secrets.token_hex(8), nx=True, ex=STAMP_SECONDS)
            pipe.mget(everyone, person)
            found = pipe.execute()[-1]
        except redis.RedisError:
            self._unreachable()
            return None
        return _both(found)

    def bump(self, user_ids: Iterable[int], everyone: bool = False) -> None:
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
            self._distrust_shared_until = time.monotonic() + self.seconds  # the copies the stamp would end
            log.error("auth cache: could not mark %s changed; other processes' copies may live up to %s s",
                      "everyone" if everyone else sorted(user_ids), self.seconds, exc_info=True)

    # ---- copies every process shares (API access tokens) ----
    def shared(self, key: str, count: tuple[str, int, int] | None = None) -> Shared | None:
        """The credential ``key``'s shared copy, owner and stamps, read at once; None when Redis is away. A copy
        is current when signed by this app, taken under the current stamps on this run of the Redis server,
        and this process has not failed to write a stamp since it could have been taken. ``count``: (a rate
        limiter's key on this server, its window's seconds, the cost) to count in the same round trip."""
        keys = [f"{self.prefix}c:{key}", f"{self.prefix}o:{key}", self.prefix + "all"]
        try:
            copy, owner, everyone, person, counted = self._read_shared(
                keys=[*keys, count[0]] if count else keys, args=[self.prefix + "u:", *(count[1:] if count else ())],
                client=self.redis)
        except redis.RedisError:
            self._unreachable()
            return None
        stamps, owner_id = _both([everyone, person]), _number(owner)  # (counted: None unless asked)
        if copy is None or stamps is None or owner_id is None or self.run_id is None \
                or time.monotonic() < self._distrust_shared_until:
            return Shared(owner_id, stamps, current=False, count=counted)
        taken = self._opened(key, copy)
        current = (taken is not None and taken.get("user") == owner_id and taken.get("run") == self.run_id
                   and taken.get("stamps") == [_text(stamp) for stamp in stamps])
        return Shared(owner_id, stamps, current, taken.get("kept") if current and taken else None, counted)

    def share(self, key: str, user_id: int, kept: Any, stamps: tuple[bytes, bytes], seconds: float) -> None:
        """Keep a copy of the credential for every process, valid under ``stamps`` for ``seconds`` at most
        (``kept``: JSON), signed, and taken under this server's run id: a restarted server's copies are never
        current (nor is any when the run id is unknown)."""
        if self.run_id is None:
            return
        body = json.dumps({"user": user_id, "kept": kept, "stamps": [_text(stamp) for stamp in stamps],
                           "run": self.run_id}, separators=(",", ":"))
        copy = self._signature(key, body) + "." + body
        self._quietly(lambda client: client.set(f"{self.prefix}c:{key}", copy, px=max(1, int(seconds * 1000))))

    def _signature(self, key: str, body: str) -> str:
        return hmac.new(self._signing_key, f"{key}\n{body}".encode(), hashlib.sha256).hexdigest()

    def _opened(self, key: str, copy: bytes | str) -> dict | None:
        """The body of a shared copy signed for ``key`` by this app; None for any other value."""
        signature, _, body = _text(copy).partition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(key, body).encode()):
            return None
        try:
            taken = json.loads(body)
        except ValueError:
            return None
        return taken if isinstance(taken, dict) else None

    def share_owner(self, key: str, user_id: int, seconds: float) -> None:
        """Tell every process whose credential ``key`` is (it never changes), for the ``seconds`` it lives."""
        self._quietly(lambda client: client.set(f"{self.prefix}o:{key}", user_id, ex=max(1, int(seconds) + 1)))

    def unshare(self, key: str) -> None:
        """The credential was refused: its shared copy goes (a stale one would not match its stamps anyway)."""
        self._quietly(lambda client: client.delete(f"{self.prefix}c:{key}"))

    def _quietly(self, write: Callable[[redis.Redis], Any]) -> None:
        try:
            write(self.redis)
        except redis.RedisError:
            self._unreachable()

    # ---- copies in this process ----
    def get(self, token_hash: str) -> Snapshot | None:
        """This process's copy for a log-in token's hash, if it has one."""
        with self._lock:
            return self._snapshots.get(token_hash)

    def owner(self, token_hash: str) -> int | None:
        """Whose log-in token this is, when this process has seen it."""
        with self._lock:
            return self._owners.get(token_hash)

    def put(self, token_hash: str, snapshot: Snapshot) -> None:
        """Keep a copy for the token."""
        self._keep(self._snapshots, token_hash, snapshot)

    def set_owner(self, token_hash: str, user_id: int) -> None:
        """Remember whose token this is (it never changes)."""
        self._keep(self._owners, token_hash, user_id)

    def _keep(self, entries: OrderedDict, key: str, value: object) -> None:
        """Store, most recent last; the least recently stored go beyond ``max_entries``."""
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > self.max_entries:
                entries.popitem(last=False)

    def forget(self, token_hash: str) -> None:
        """Drop the token's copy and owner (its session ended)."""
        with self._lock:
            self._snapshots.pop(token_hash, None)
            self._owners.pop(token_hash, None)

    def reachable(self) -> bool:
        """Whether Redis answers (for /healthz)."""
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


def _text(value: bytes | str) -> str:
    """A Redis reply as text (bytes unless the URL asked redis-py to decode them)."""
    return value.decode() if isinstance(value, bytes) else value


def _number(value: bytes | str | None) -> int | None:
    """A person's id as Redis holds it; None when missing or not a number."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _both(found: list) -> tuple[bytes, bytes] | None:
    """Everyone's and the person's stamps; None when either is missing (a missing stamp matches no copy)."""
    return (found[0], found[1]) if found[0] and found[1] else None
