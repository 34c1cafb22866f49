"""A small in-process cache with a time to live, for rendered fragments that many people share.

Each gunicorn worker keeps its own, bounded (the least recently used entry goes first). Either entries
are short-lived, so workers never disagree for long, or their keys carry the version of what they were
made from (a certificate's status, a course's outline version), so a change is seen at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

from flask import current_app

T = TypeVar("T")


class TTLCache:
    """Values by key, each kept for its time to live, the least recently used dropped past ``max_entries``."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get_or_set(self, key: Hashable, ttl: float, make: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``make()`` stored for ``ttl`` seconds (0 = no caching)."""
        if ttl <= 0:
            return make()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return cast(T, entry[1])  # what make() gave for this key
        value = make()
        with self._lock:
            self._entries[key] = (now + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


def app_cache(name: str, max_entries: int = 1024) -> TTLCache:
    """The current app's cache called ``name`` (made on first use): each app its own, so two apps in one
    process (the tests') never share entries."""
    caches = current_app.extensions.setdefault("ttl_caches", {})
    if name not in caches:
        caches[name] = TTLCache(max_entries)
    return caches[name]
