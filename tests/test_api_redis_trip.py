"""One trip to Redis for an API request with an access token, when the rate limiter counts on the log-in
cache's own Redis server and database (production's set-up): the request is counted in the round trip that
reads the token's shared copy, and the count is the limiter's — the same key, window and RateLimit headers,
refused beyond the limit. On another database, for any other credential, or when that trip fails, the
limiter counts on its own, once."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from classroom.extensions import limiter
from classroom.tokens import token_hash
from tests.api_support import bearer, problem, sign_in
from tests.conftest import redis_url_or_skip
from tests.helpers import redis_commands, sql_statements
from tests.test_api_token_cache import settings, warm
from tests.test_session_cache import second_process


@pytest.fixture
def limit() -> str:
    return "50 per minute"


@pytest.fixture
def app_config(limit):
    return settings(API_RATE_LIMIT=limit)


@pytest.fixture
def worker(make_user, tree):
    return make_user("一趟", union=tree.a1)


def another_database(url: str) -> str:
    """The same Redis server, another database number (never the test's own)."""
    parts = urlsplit(url)
    number = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{number - 1 if number else 1}"))


def limiter_key(app, token: str) -> bytes:
    """The limiter's key of the token's API requests (each test's token is its own: so is the key)."""
    store = redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URL"])
    keys = list(store.scan_iter(f"*api-credential:{token_hash(token)[:32]}*"))
    assert len(keys) == 1, keys
    return keys[0]


def counter(app, token: str) -> tuple[int, int]:
    """(the limiter's count of the token's requests in Redis, its seconds to live)."""
    store = redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URL"])
    key = limiter_key(app, token)
    return int(store.get(key)), store.ttl(key)


def scripts(app) -> dict[str, str]:
    """Which script a SHA names: the log-in cache's read of a shared copy, or the limiter's own count."""
    with app.app_context():
        return {app.extensions["auth_cache"]._read_shared.sha: "copy", limiter.limiter.storage.lua_incr_expire.sha:
                "limiter"}


def trips(named: dict[str, str], sent: list[tuple]) -> list[str]:
    """The commands sent, a script named by what it is."""
    return [named.get(command[1], command[1]) if command[0] == "EVALSHA" else command[0] for command in sent]


def test_a_warm_token_s_request_makes_one_trip_to_redis_and_none_to_the_database(app, client, worker, monkeypatch):
    token = sign_in(client, worker)["access_token"]
    other, replay = warm(app, token)
    before, _ttl = counter(app, token)
    with redis_commands(monkeypatch) as sent, sql_statements(other) as seen:
        answer = replay.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200
    assert trips(scripts(other), sent) == ["copy"], sent
    assert seen == [], seen  # whose token it is, and the person's row, were this process's copies
    count, ttl = counter(app, token)
    assert count == before + 1
    assert answer.headers["RateLimit-Limit"] == "50"
    assert int(answer.headers["RateLimit-Remaining"]) == 50 - count
    assert 0 < ttl <= 60 and abs(int(answer.headers["RateLimit-Reset"]) - ttl) <= 2


def test_the_first_request_opens_the_limiter_s_window_and_later_ones_keep_its_end(app, client, worker, monkeypatch):
    token = sign_in(client, worker)["access_token"]
    with redis_commands(monkeypatch) as sent:
        answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200 and "limiter" not in trips(scripts(app), sent), sent
    count, ttl = counter(app, token)
    assert count == 1 and 0 < ttl <= 60  # the window's expiry was set with its first count
    assert answer.headers["RateLimit-Remaining"] == "49"
    store = redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URL"])
    store.expire(limiter_key(app, token), 20)  # as if 40 s of the window had gone
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert counter(app, token)[0] == 2 and 0 < store.ttl(limiter_key(app, token)) <= 20  # a fixed window: its end stays


@pytest.mark.parametrize("limit", ["4 per minute"])
def test_beyond_the_limit_the_request_is_refused(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)  # three requests
    assert replay.get("/api/v1/me", headers=bearer(token)).headers["RateLimit-Remaining"] == "0"
    refused = replay.get("/api/v1/me", headers=bearer(token))
    problem(refused, 429, "too-many-requests")
    assert refused.headers["RateLimit-Remaining"] == "0" and 0 < int(refused.headers["Retry-After"]) <= 60
    assert counter(app, token)[0] == 5


def test_a_limiter_on_another_redis_database_counts_on_its_own(app, client, worker, monkeypatch):
    token = sign_in(client, worker)["access_token"]
    other = second_process(app, RATELIMIT_STORAGE_URL=another_database(redis_url_or_skip()))
    replay = other.test_client()
    for _ in range(2):
        assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with redis_commands(monkeypatch) as sent:
        answer = replay.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200
    assert trips(scripts(other), sent) == ["limiter", "copy"], sent
    count, _ttl = counter(other, token)
    assert count == 3 and answer.headers["RateLimit-Remaining"] == "47"
    redis.Redis.from_url(other.config["RATELIMIT_STORAGE_URL"]).delete(limiter_key(other, token))


def test_when_the_shared_trip_fails_the_limiter_counts_once_and_the_database_answers(app, client, worker,
                                                                                     monkeypatch):
    token = sign_in(client, worker)["access_token"]
    other, replay = warm(app, token)
    before, _ttl = counter(app, token)
    cache, named = other.extensions["auth_cache"], scripts(other)
    read = cache._read_shared

    def failing(*, keys, args, client):
        if len(keys) == 4:  # the trip that would count too
            raise redis.ConnectionError("lost on the way")
        return read(keys=keys, args=args, client=client)

    monkeypatch.setattr(cache, "_read_shared", failing)
    with redis_commands(monkeypatch) as sent:
        answer = replay.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json()["real_name"] == "一趟"
    assert trips(named, sent) == ["limiter", "copy"], sent  # counted by the limiter; the copy read again
    assert counter(app, token)[0] == before + 1


def test_the_log_in_cache_s_client_never_repeats_a_command(app):
    """A command that timed out may have run: repeated, the trip that counts would count the request again
    (redis-py repeats a failed command ten times by default)."""
    assert app.extensions["auth_cache"].redis.get_retry().get_retries() == 0


def test_an_api_key_is_counted_by_the_limiter_alone(app, client, worker, monkeypatch):
    """Only access tokens have a shared copy: any other credential is counted as before."""
    with redis_commands(monkeypatch) as sent:
        answer = client.get("/api/v1/me", headers=bearer(f"wck_{uuid.uuid4().hex}"))  # (a window of its own)
    problem(answer, 401, "invalid-token")
    assert trips(scripts(app), sent) == ["limiter"], sent
