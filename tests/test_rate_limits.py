"""Log-in rate limits: per identifier (whether or not an account exists) and per IP."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD
from tests.helpers import same_page


def attempts(client, identifier: str, count: int, password: str = "Wrong-Password-1", ip: str = "10.0.0.1"):
    results = []
    for _ in range(count):
        response = client.post("/auth/login", data={"identifier": identifier, "password": password},
                               environ_base={"REMOTE_ADDR": ip})
        results.append((response.status_code, response.get_data(as_text=True)))
    return results


def normalized(body: str, identifier: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', same_page(body).replace(identifier, "IDENTIFIER"))


def test_sixth_wrong_password_in_15_minutes_is_refused(client, make_user, tree):
    user = make_user(union=tree.a1)
    results = attempts(client, user.mobile, 6)
    assert [status for status, _ in results] == [200] * 5 + [429]
    assert "Too many failed log-ins for this account" in results[-1][1]
    # even the right password is refused now, from another address too
    again = client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert again.status_code == 429


def test_unregistered_mobile_gets_the_same_statuses_and_bodies(client, make_user, tree):
    user = make_user(union=tree.a1)
    registered = attempts(client, user.mobile, 6, ip="10.0.0.2")
    unregistered = attempts(client, "13700000000", 6, ip="10.0.0.3")
    assert [s for s, _ in registered] == [s for s, _ in unregistered] == [200] * 5 + [429]
    for (_, known), (_, unknown) in zip(registered, unregistered, strict=True):
        assert normalized(known, user.mobile) == normalized(unknown, "13700000000")


def test_identifier_is_normalized_before_counting(client, make_user, tree):
    user = make_user(union=tree.a1, mobile="13911112222")
    spellings = ["13911112222", "+86 139 1111 2222", "139-1111-2222", "8613911112222", " 13911112222 "]
    statuses = [s for spelling in spellings for s, _ in attempts(client, spelling, 1)]
    assert statuses == [200] * 5
    assert attempts(client, user.mobile, 1)[0][0] == 429


def test_successful_logins_do_not_count(client, make_user, tree):
    user = make_user(union=tree.a1)
    for _ in range(7):
        response = client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
        assert response.status_code == 302
        client.post("/auth/logout")


def test_a_factory_behind_one_address_logs_in_while_guessing_is_still_stopped(client, make_user, tree):
    """300 workers on one factory Wi-Fi (one public address) log in within a minute and all get in;
    6 wrong passwords for one account from that same address still end in 429."""
    workers = [make_user(f"工人{index}", union=tree.a1, mobile=f"1390000{index:04d}") for index in range(300)]
    factory = {"REMOTE_ADDR": "203.0.113.7"}
    for worker in workers:
        response = client.post("/auth/login", data={"identifier": worker.mobile, "password": PASSWORD},
                               environ_base=factory)
        assert response.status_code == 302, worker.mobile
        client.post("/auth/logout", environ_base=factory)
    guessed = attempts(client, workers[0].mobile, 6, ip="203.0.113.7")
    assert [status for status, _ in guessed] == [200] * 5 + [429]
    assert "Too many failed log-ins for this account" in guessed[-1][1]
    assert client.post("/auth/login", data={"identifier": workers[1].mobile, "password": PASSWORD},
                       environ_base=factory).status_code == 302  # the address itself is not locked out


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_IP": "10 per 15 minutes"}])
def test_per_ip_limit_across_identifiers(client):
    statuses = [attempts(client, f"1370000{index:04d}", 1, ip="10.1.1.1")[0][0] for index in range(11)]
    assert statuses == [200] * 10 + [429]
    assert attempts(client, "13700009999", 1, ip="10.1.1.2")[0][0] == 200


def test_limits_are_shared_through_redis(database_url):
    """With CLASSROOM_RATELIMIT_STORAGE_URL pointing at Redis, two app processes share counts."""
    import uuid

    import redis

    from classroom import create_app
    from tests.conftest import redis_url_or_skip

    url = redis_url_or_skip()
    # An identifier of this run's own (other tests and earlier runs share the Redis database, and
    # Flask-Limiter keeps the key prefix of the first app it served in this process, whichever test made it).
    identifier = f"137{uuid.uuid4().int % 10**8:08d}"
    store = redis.Redis.from_url(url)
    settings = {"DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URL": url,
                "RATELIMIT_KEY_PREFIX": f"test-limits-{uuid.uuid4().hex}"}
    first, second = create_app("testing", **settings), create_app("testing", **settings)
    statuses = []
    for app in (first, second, first, second, first, second):
        with app.app_context():
            response = app.test_client().post("/auth/login", data={"identifier": identifier, "password": "x"})
            statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429]
    keys = store.keys(f"*login-id:{identifier}*")
    assert keys, "the counts were not kept in Redis"
    store.delete(*keys)
