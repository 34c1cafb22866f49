"""The limiter's counted fixed window (classroom.ratelimits): the RateLimit headers it tells are the store's
truth, told without reading the store again after this request's own hit."""

from __future__ import annotations

import pytest
from flask import Flask
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from classroom.extensions import limiter
from classroom.ratelimits import CountedFixedWindow
from tests.api_support import bearer, sign_in
from tests.helpers import redis_commands

LIMIT = parse("5 per minute")


class CountingStorage(MemoryStorage):
    """Memory storage that counts the reads a strategy makes after its hit."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []
        self.counting = False

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.counting = True  # the memory store reads its own counter inside
        try:
            return super().incr(key, expiry, amount)
        finally:
            self.counting = False

    def get(self, key: str) -> int:
        if not self.counting:
            self.reads.append("get")
        return super().get(key)

    def get_expiry(self, key: str) -> float:
        self.reads.append("ttl")
        return super().get_expiry(key)


@pytest.fixture
def request_of():
    """A new request context each call (what Flask-Limiter's hooks run in)."""
    flask_app = Flask(__name__)
    return flask_app.test_request_context


def test_the_window_told_is_the_stores_own(request_of):
    storage = CountingStorage()
    ours, library = CountedFixedWindow(storage), FixedWindowRateLimiter(storage)
    for n in range(1, 8):
        with request_of():
            allowed = ours.hit(LIMIT, "caller")
            told = ours.get_window_stats(LIMIT, "caller")
            truth = library.get_window_stats(LIMIT, "caller")
        assert allowed == (n <= 5)
        assert told.remaining == truth.remaining == max(0, 5 - n)
        assert abs(told.reset_time - truth.reset_time) < 1.0  # the same end, from our clock and the store's


def test_a_window_this_process_opened_or_saw_is_not_read_again(request_of):
    storage = CountingStorage()
    elsewhere = CountedFixedWindow(storage)  # another process, same store
    with request_of():
        elsewhere.hit(LIMIT, "caller")  # it opened the window
        elsewhere.get_window_stats(LIMIT, "caller")
    assert storage.reads == []

    here = CountedFixedWindow(storage)
    with request_of():
        here.hit(LIMIT, "caller")
        first = here.get_window_stats(LIMIT, "caller")
    assert storage.reads == ["ttl"], "a window opened elsewhere is asked for its end once"
    with request_of():
        here.hit(LIMIT, "caller")
        second = here.get_window_stats(LIMIT, "caller")
    assert storage.reads == ["ttl"], "and then remembered"
    assert second.reset_time == first.reset_time and second.remaining == 2


def test_a_count_is_not_carried_into_another_request(request_of):
    storage = CountingStorage()
    ours = CountedFixedWindow(storage)
    with request_of():
        ours.hit(LIMIT, "caller")
    with request_of():  # only tested here (a deduct_when limit): the store answers
        assert ours.test(LIMIT, "caller")
        storage.reads.clear()
        told = ours.get_window_stats(LIMIT, "caller")
    assert told.remaining == 4 and sorted(storage.reads) == ["get", "ttl"]


def test_a_window_that_ended_is_asked_again(request_of, monkeypatch):
    storage = CountingStorage()
    ours = CountedFixedWindow(storage)
    with request_of():
        ours.hit(LIMIT, "caller")
    ours._ends["LIMITER/caller/5/1/minute"] = 0.0  # noqa: SLF001 - as if the remembered end had passed
    with request_of():
        ours.hit(LIMIT, "caller")
        told = ours.get_window_stats(LIMIT, "caller")
    assert storage.reads == ["ttl"] and told.remaining == 3


def test_the_apps_limiter_uses_it(app):
    assert isinstance(limiter.limiter, CountedFixedWindow)


def test_an_api_request_counts_with_one_call_to_redis(app, database_url, make_user, tree, monkeypatch):
    """On Redis, one API request talks to the limiter's store once (its hit): the headers come from it."""
    import redis

    from classroom import create_app
    from tests.conftest import redis_url_or_skip

    url = redis_url_or_skip()
    prefix = "test-ratelimits-one-call"
    store = redis.Redis.from_url(url)
    if stale := store.keys(f"*{prefix}*"):
        store.delete(*stale)
    worker = make_user("李工", union=tree.a1)
    served = create_app("testing", DATABASE_URL=database_url, RATELIMIT_STORAGE_URL=url,
                        API_RATE_LIMIT="50 per minute", RATELIMIT_KEY_PREFIX=prefix)
    client = served.test_client()
    token = sign_in(client, worker)["access_token"]
    client.get("/api/v1/me", headers=bearer(token))  # the window opened by this process
    with redis_commands(monkeypatch) as sent:
        answer = client.get("/api/v1/me", headers=bearer(token))
    commands = [command[0] for command in sent]
    try:
        assert answer.status_code == 200
        assert [c for c in commands if c in ("GET", "TTL", "PTTL", "EVALSHA", "EVAL", "INCRBY")] == ["EVALSHA"]
        key = next(k for k in store.keys(f"*{prefix}*") if b"api-credential" in k)
        assert int(answer.headers["RateLimit-Remaining"]) == 50 - int(store.get(key))
        assert abs(int(answer.headers["RateLimit-Reset"]) - store.ttl(key)) <= 2
    finally:
        store.delete(*store.keys(f"*{prefix}*"))
