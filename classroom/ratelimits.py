"""The rate limiter's strategy: a fixed window that tells its own window without asking the store again.

Flask-Limiter's fixed window counts a request with one round trip (``INCRBY`` and, for a new window,
``EXPIRE``, in one script) and then forgets the count it got back; telling the RateLimit headers (the API
sends them on every answer) asked the store twice more, ``GET`` and ``TTL``. This strategy keeps what the
count returned for the rest of the request (in ``flask.g``) and each window's end per process:

- the count is the one this request's hit returned (as exact as the library's later ``GET``, which may
  already include other requests' hits);
- a window that this hit opened (the count equals the cost) ends ``expiry`` seconds from now, as the store
  was just told; a window seen before ends when it was seen to end (a fixed window never moves its end);
  any other window is asked for its ``TTL`` once, then remembered.

A limit only tested in this request (Flask-Limiter's ``deduct_when`` limits, counted after the answer)
is read from the store as before. Registered as ``fixed-window-counted`` (RATELIMIT_STRATEGY).

A count may also be made elsewhere on the store's own server, with a read the request needs anyway
(``redis_counter``, ``counted``: the API counts a token's request in the round trip that reads its copy)."""

from __future__ import annotations

import time
from typing import Any

from flask import g, has_request_context
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter, RateLimiter
from limits.util import WindowStats

NAME = "fixed-window-counted"
KEPT_WINDOWS = 10_000  # window ends remembered per process (bounded: forgotten all at once beyond it)


class CountedFixedWindow(FixedWindowRateLimiter):
    def __init__(self, storage) -> None:
        super().__init__(storage)
        self._ends: dict[str, float] = {}

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        return self._told(key, item, self.storage.incr(key, item.get_expiry(), amount=cost), cost)

    def counted(self, item: RateLimitItem, identifiers: tuple[str, ...], count: int, *, cost: int = 1) -> bool:
        """A hit whose increment of the store's key (``redis_counter``) answered ``count``: whether allowed."""
        return self._told(item.key_for(*identifiers), item, count, cost)

    def _told(self, key: str, item: RateLimitItem, count: int, cost: int) -> bool:
        if count == cost:  # this hit opened the window
            self._remember(key, time.time() + item.get_expiry())
        if has_request_context():
            g.setdefault("ratelimit_counts", {})[key] = count
        return count <= item.amount

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        key = item.key_for(*identifiers)
        count = g.get("ratelimit_counts", {}).get(key) if has_request_context() else None
        if count is None:
            return super().get_window_stats(item, *identifiers)
        end = self._ends.get(key)
        if end is None or end <= time.time():
            end = self._remember(key, self.storage.get_expiry(key))
        return WindowStats(end, max(0, item.amount - count))

    def _remember(self, key: str, end: float) -> float:
        if len(self._ends) >= KEPT_WINDOWS:
            self._ends.clear()
        self._ends[key] = end
        return end


SAME_SERVER = ("host", "port", "path", "db", "username")  # a redis-py connection's address and database


def redis_counter(strategy: RateLimiter, item: RateLimitItem, identifiers: tuple[str, ...],
                  beside: Any) -> str | None:
    """The Redis key a hit of ``item`` increments (``INCRBY`` by the cost, ``EXPIRE`` by ``item``'s expiry
    when the count equals the cost, as the store's own script does) when ``strategy`` is this module's on a
    Redis store whose server and database are those of the client ``beside``: the hit may then be counted in a
    round trip ``beside`` makes anyway and told with ``counted``. None otherwise."""
    storage = strategy.storage
    if not isinstance(strategy, CountedFixedWindow) or type(storage) is not RedisStorage:  # (not a cluster's)
        return None
    mine, theirs = storage.storage.connection_pool.connection_kwargs, beside.connection_pool.connection_kwargs
    if any(mine.get(name) != theirs.get(name) for name in SAME_SERVER):
        return None
    return storage.prefixed_key(item.key_for(*identifiers))


def register() -> None:
    """Make the strategy known by name to Flask-Limiter (which looks strategies up in limits' table)."""
    STRATEGIES.setdefault(NAME, CountedFixedWindow)
