"""One trip to Redis for an API request with an access token, when the rate limiter counts on the log-in
cache's own Redis server (production's set-up): the request is counted in the round trip that reads the
token's shared copy, and the count is the limiter's — the same key, window and RateLimit headers, refused
beyond the limit. On another server, or when that trip fails, the limiter counts on its own, once."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.api_support import bearer, problem, sign_in
from tests.conftest import auth_cache_settings, redis_url_or_skip
from tests.helpers import sql_statements
from tests.test_session_cache import second_process


def settings(limit: str = "50 per minute", store: str | None = None) -> dict:
    return auth_cache_settings(RATELIMIT_STORAGE_URL=store or redis_url_or_skip(), API_RATE_LIMIT=limit,
                               RATELIMIT_KEY_PREFIX=f"test-trip:{uuid.uuid4().hex}")


@pytest.fixture
def limit() -> str:
    return "50 per minute"


@pytest.fixture
def app_config(limit):
    return settings(limit)


@pytest.fixture
def worker(make_user, tree):
    return make_user("一趟", union=tree.a1)


def other_database(url: str) -> str:
    """The same Redis server, another database number."""
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) + 1) % 16}"


class Commands:
    """Every command any redis-py client sends meanwhile."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[str] = []
        original = redis.client.Redis.execute_command

        def spy(client, *args, **options):
            self.sent.append(str(args[0]).upper())
            return original(client, *args, **options)

        monkeypatch.setattr(redis.client.Redis, "execute_command", spy)


def counter(app, token: str) -> tuple[int, int]:
    """(the limiter's count of the token's requests in Redis, its seconds to live)."""
    store = redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URL"])
    keys = [key for key in store.scan_iter(f"*{app.config['RATELIMIT_KEY_PREFIX']}*") if b"api-credential" in key]
    assert len(keys) == 1, keys
    return int(store.get(keys[0])), store.ttl(keys[0])


def warm(app, token: str):
    """A process that has served the token from its shared copy (and copied the person's row): its client."""
    client = second_process(app).test_client()
    for _ in range(3):  # whose token it is learnt, the copy shared, the row copied from it
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    return client


def test_a_warm_token_s_request_makes_one_trip_to_redis_and_none_to_the_database(app, client, worker, monkeypatch):
    token = sign_in(client, worker)["access_token"]
    replay = warm(app, token)
    before, _ttl = counter(app, token)
    commands = Commands(monkeypatch)
    with sql_statements(replay.application) as seen:
        answer = replay.get("/api/v1/me", headers=bearer(token))
    monkeypatch.undo()
    assert answer.status_code == 200
    assert commands.sent == ["EVALSHA"], commands.sent
    assert seen == [], seen  # whose token it is, and the person's row, were this process's copies
    count, ttl = counter(app, token)
    assert count == before + 1
    assert answer.headers["RateLimit-Limit"] == "50"
    assert int(answer.headers["RateLimit-Remaining"]) == 50 - count
    assert 0 < ttl <= 60 and abs(int(answer.headers["RateLimit-Reset"]) - ttl) <= 2


def test_the_first_request_opens_the_limiter_s_window(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200
    count, ttl = counter(app, token)
    assert count == 1 and 0 < ttl <= 60  # the window's expiry was set with its first count
    assert answer.headers["RateLimit-Remaining"] == "49"


@pytest.mark.parametrize("limit", ["3 per minute"])
def test_beyond_the_limit_the_request_is_refused(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    replay = warm(app, token)  # three requests
    refused = replay.get("/api/v1/me", headers=bearer(token))
    problem(refused, 429, "too-many-requests")
    assert refused.headers["RateLimit-Remaining"] == "0" and 0 < int(refused.headers["Retry-After"]) <= 60
    assert counter(app, token)[0] == 4


def test_a_limiter_on_another_redis_database_counts_on_its_own(app, client, worker, monkeypatch):
    token = sign_in(client, worker)["access_token"]
    other = second_process(app, RATELIMIT_STORAGE_URL=other_database(redis_url_or_skip()))
    replay = other.test_client()
    for _ in range(2):
        assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
    commands = Commands(monkeypatch)
    answer = replay.get("/api/v1/me", headers=bearer(token))
    monkeypatch.undo()
    assert answer.status_code == 200
    assert commands.sent == ["EVALSHA", "EVALSHA"], commands.sent  # the limiter's count, the token's copy
    count, _ttl = counter(other, token)
    assert count == 3 and answer.headers["RateLimit-Remaining"] == "47"


def test_when_the_shared_trip_fails_the_limiter_counts_once_and_the_database_answers(app, client, worker,
                                                                                     monkeypatch):
    token = sign_in(client, worker)["access_token"]
    replay = warm(app, token)
    before, _ttl = counter(app, token)
    cache = replay.application.extensions["auth_cache"]
    read = cache._read_shared

    def failing(*, keys, args, client):
        if len(keys) == 4:  # the trip that would count too
            raise redis.ConnectionError("lost on the way")
        return read(keys=keys, args=args, client=client)

    monkeypatch.setattr(cache, "_read_shared", failing)
    answer = replay.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json()["real_name"] == "一趟"
    assert counter(app, token)[0] == before + 1


def test_an_api_key_is_counted_by_the_limiter_alone(app, client, worker, monkeypatch):
    """Only access tokens have a shared copy: any other credential is counted as before."""
    commands = Commands(monkeypatch)
    answer = client.get("/api/v1/me", headers=bearer("wck_not-a-real-key"))
    monkeypatch.undo()
    problem(answer, 401, "invalid-token")
    assert commands.sent.count("EVALSHA") == 1 and "GET" not in commands.sent, commands.sent
