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
is read from the store as before. Registered as ``fixed-window-counted`` (RATELIMIT_STRATEGY)."""

from __future__ import annotations

import time

from flask import g, has_request_context
from limits import RateLimitItem
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from limits.util import WindowStats

NAME = "fixed-window-counted"
KEPT_WINDOWS = 10_000  # window ends remembered per process (bounded: forgotten all at once beyond it)


class CountedFixedWindow(FixedWindowRateLimiter):
    def __init__(self, storage) -> None:
        super().__init__(storage)
        self._ends: dict[str, float] = {}

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        count = self.storage.incr(key, item.get_expiry(), amount=cost)
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


def register() -> None:
    """Make the strategy known by name to Flask-Limiter (which looks strategies up in limits' table)."""
    STRATEGIES.setdefault(NAME, CountedFixedWindow)
