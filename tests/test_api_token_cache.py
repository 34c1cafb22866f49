"""An API access token through the Redis-checked log-in cache: a repeat call reads nothing of the token from
the database, and every change that ends or changes what the token may do — a sign-out, a device revoked
on the web, an account disabled or closed, a role granted — is seen by every process at its next call; a
copy never outlives its token nor the device's next last-used touch."""

from __future__ import annotations

import json
import time

import pytest
import redis
from sqlalchemy import select

from classroom import create_app
from classroom.accounts.models import Role, User
from classroom.accounts.services import set_account_active
from classroom.api.models import ApiDevice
from classroom.api.tokens import erase_devices
from classroom.database import utcnow
from classroom.extensions import db
from classroom.tokens import token_hash
from classroom.unions.roles import grant_role, revoke_role
from tests.api_support import bearer, problem, sign_in
from tests.conftest import auth_cache_settings, redis_url_or_skip
from tests.factories import login_client
from tests.helpers import sql_statements
from tests.test_api_drills import bank, exam  # noqa: F401 - fixtures
from tests.test_session_cache import second_process


def settings(**extra) -> dict:
    """The log-in cache on Redis, and the rate limiter's counts on the same server (as production runs them):
    a token's request is counted in the round trip that reads its copy (tests/test_api_redis_trip.py)."""
    return auth_cache_settings(RATELIMIT_STORAGE_URL=redis_url_or_skip(), **extra)  # (counts keyed per token)


@pytest.fixture
def extra() -> dict:
    """Settings a test adds (parametrized: made when the test runs, so that without Redis it skips)."""
    return {}


@pytest.fixture
def app_config(extra):
    return settings(**extra)


@pytest.fixture
def worker(make_user, tree):
    return make_user("令牌缓存", union=tree.a1)


def warm(app, token: str):
    """Another process (another gunicorn worker) that has served the token from its copy: its client."""
    other = second_process(app)
    other.config["API_TOKEN_TOUCH_SECONDS"] = app.config["API_TOKEN_TOUCH_SECONDS"]
    client = other.test_client()
    for _ in range(2):  # the first call learns whose token it is, the second keeps the copy
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with sql_statements(other) as seen:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert not any("api_token" in statement or "api_device" in statement for statement in seen), seen
    return other, client


def test_a_repeat_call_reads_nothing_of_its_token(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    assert replay.get("/api/v1/me", headers=bearer(token)).get_json()["real_name"] == "令牌缓存"


def test_a_sign_out_in_one_process_is_refused_in_every_other(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    problem(replay.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")


def test_a_device_revoked_on_the_web_is_refused_at_once(app, client, worker):
    tokens = sign_in(client, worker)
    _other, replay = warm(app, tokens["access_token"])
    browser = login_client(app, worker)
    assert browser.post(f"/me/devices/{tokens['device_id']}/revoke").status_code == 302
    problem(replay.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")


def test_a_disabled_account_is_refused_at_once(app, client, worker, make_admin, tree):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    set_account_active(worker, False, actor=make_admin(tree.city), now=utcnow())
    db.session.commit()
    problem(replay.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")


def test_a_closed_account_s_devices_are_refused_at_once(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    erase_devices(worker, utcnow())
    db.session.commit()
    problem(replay.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")


def test_a_role_granted_is_seen_at_the_next_call(app, client, worker, site_admin, tree):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    applications = f"/api/v1/unions/{tree.a1.id}/applications"
    assert replay.get(applications, headers=bearer(token)).status_code == 403  # not an administrator
    grant_role(db.session.get(User, worker.id), Role.UNION_ADMIN, tree.a1, actor=site_admin)
    db.session.commit()
    assert replay.get(applications, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("extra", [{"API_ACCESS_TOKEN_SECONDS": 3}])
def test_a_copy_never_outlives_its_token(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    time.sleep(3.1)
    problem(replay.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")


@pytest.mark.parametrize("extra", [{"API_TOKEN_TOUCH_SECONDS": 3}])
def test_the_device_s_last_use_is_still_recorded(app, client, worker):
    tokens = sign_in(client, worker)
    _other, replay = warm(app, tokens["access_token"])
    used = db.session.scalar(select(ApiDevice.last_used_at).where(ApiDevice.id == tokens["device_id"]))
    time.sleep(3.1)  # the copy lapses when the touch is due: the database answers, and the use is written
    assert replay.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    db.session.rollback()  # (a new transaction: SQLite's would still see the rows as they were)
    assert db.session.scalar(select(ApiDevice.last_used_at).where(ApiDevice.id == tokens["device_id"])) > used



def test_a_call_that_needs_only_whose_token_it_is_leaves_the_person_out_of_the_session(app, client, worker,
                                                                                       monkeypatch):
    """From the copy, a request learns whose token it is without merging the person into its session; the
    row joins it when an endpoint reads it (``Person.row``): the same person, still without a query."""
    from classroom.accounts import session_cache, shared_copies
    from classroom.api.door import authenticate

    token = sign_in(client, worker)["access_token"]
    other, _replay = warm(app, token)
    merged, worker_id = [], worker.id
    attach = session_cache.attach
    monkeypatch.setattr(shared_copies, "attach", lambda *args: merged.append(1) or attach(*args))
    with other.test_request_context("/api/v1/me", headers=bearer(token)), sql_statements(other) as seen:
        principal = authenticate(person=True)
        assert principal.person_id == worker_id and merged == []
        assert not any(isinstance(held, User) for held in db.session.identity_map.values())
        row = principal.user
        assert merged == [1] and row in db.session and row.id == worker_id and row is principal.user
    assert seen == []


def token_reads(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "api_token" in statement or "api_device" in statement]


def test_a_process_that_never_saw_the_token_serves_it_from_the_shared_copy(app, client, worker):
    """A token loaded in one process is current in every other (phones reach whichever worker is free): a
    new process reads nothing of the token, and nothing of the person when the endpoint does not ask."""
    token = sign_in(client, worker)["access_token"]
    warm(app, token)
    newcomer = second_process(app).test_client()
    with sql_statements(newcomer.application) as seen:
        assert newcomer.get("/api/v1/me", headers=bearer(token)).get_json()["real_name"] == "令牌缓存"
    assert token_reads(seen) == [] and len(seen) == 1 and "role_grant" in seen[0], seen  # the row and its grants
    with sql_statements(newcomer.application) as seen:  # the row is now this process's copy
        assert newcomer.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert seen == []


def test_the_shared_copy_keeps_whose_token_and_its_device_not_the_secret(app, client, worker):
    tokens = sign_in(client, worker)
    warm(app, tokens["access_token"])
    cache = app.extensions["auth_cache"]
    copies = [key for key in cache.redis.scan_iter(cache.prefix + "c:*")
              if key.decode().endswith(token_hash(tokens["access_token"]))]
    assert len(copies) == 1
    signature, _, body = cache.redis.get(copies[0]).decode().partition(".")
    assert len(signature) == 64  # HMAC-SHA256, keyed by the app's secret
    kept = json.loads(body)
    assert kept["user"] == worker.id and kept["kept"] == tokens["device_id"]
    assert tokens["access_token"] not in json.dumps(kept)
    assert 0 < cache.redis.pttl(copies[0]) <= app.config["AUTH_CACHE_SECONDS"] * 1000


@pytest.mark.parametrize("extra", [{"API_ACCESS_TOKEN_SECONDS": 5}])
def test_the_shared_copy_lives_no_longer_than_its_token(app, client, worker):
    tokens = sign_in(client, worker)
    warm(app, tokens["access_token"])
    cache = app.extensions["auth_cache"]
    assert 0 < cache.redis.pttl(f"{cache.prefix}c:api:{token_hash(tokens['access_token'])}") <= 5000


def test_a_restarted_redis_server_s_copies_are_not_current(app, client, worker):
    """A Redis server that restarted may have brought back from disk a copy older than the stamps a change
    wrote since: a copy taken on another run of the server is never served."""
    token = sign_in(client, worker)["access_token"]
    warm(app, token)
    newcomer = second_process(app)
    replay = newcomer.test_client()
    assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200  # connected: knows the run id
    newcomer.extensions["auth_cache"].run_id = "a-later-run"  # as if its connection reached a restarted server
    with sql_statements(newcomer) as seen:
        assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert token_reads(seen), seen


def test_a_refused_token_s_shared_copy_is_removed(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    problem(replay.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")
    cache = app.extensions["auth_cache"]
    assert not cache.redis.exists(f"{cache.prefix}c:api:{token_hash(token)}")


def test_without_redis_the_database_answers_every_call(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    other = second_process(app)
    other.extensions["auth_cache"].redis = redis.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens
    replay = other.test_client()
    for _ in range(3):
        with sql_statements(other) as seen:
            assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
        assert token_reads(seen), seen


def test_saving_an_answer_from_the_shared_copy_is_the_upsert_alone(app, client, worker, exam, monkeypatch):  # noqa: F811
    """The hot path of an online round: whose token it is comes from Redis, and on PostgreSQL the answer
    commits by itself (``write_alone``): the request sends the upsert alone and makes no ORM session."""
    headers = bearer(sign_in(client, worker)["access_token"])
    paper = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers).get_json()
    number = next(item["number"] for item in paper["questions"] if item["kind"] == "single")
    url = f"/api/v1/drill-attempts/{paper['id']}/answers/{number}"
    for choice in (1, 2):  # the first loads the token and learns whose it is, the second copies it
        assert client.put(url, json={"choices": [choice]}, headers=headers).status_code == 200
    made = []
    registry = db.session.registry
    make = registry.createfunc
    monkeypatch.setattr(registry, "createfunc", lambda: made.append(1) or make())
    with sql_statements(app) as seen:
        assert client.put(url, json={"choices": [3]}, headers=headers).status_code == 200
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO drill_mock_answer"), seen
    if db.engine.dialect.name == "postgresql":
        assert made == []


def test_a_role_taken_away_is_seen_at_every_later_call(app, client, worker, site_admin, tree):
    """The person's row copied in a process is checked against the stamps at every call, not only the call
    that loads the token."""
    grant = grant_role(db.session.get(User, worker.id), Role.UNION_ADMIN, tree.a1, actor=site_admin)
    db.session.commit()
    token = sign_in(client, worker)["access_token"]
    _other, replay = warm(app, token)
    applications = f"/api/v1/unions/{tree.a1.id}/applications"
    for _ in range(3):
        assert replay.get(applications, headers=bearer(token)).status_code == 200
    revoke_role(db.session.get(type(grant), grant.id), actor=site_admin)
    db.session.commit()
    for _ in range(3):
        assert replay.get(applications, headers=bearer(token)).status_code == 403


def forge(app, token: str, user_id: int, signature: str = "0" * 64) -> None:
    """Write a shared copy for ``token`` as someone who can reach Redis but does not hold the app's secret."""
    cache = app.extensions["auth_cache"]
    key = "api:" + token_hash(token)
    everyone, person = cache.ensure_stamps(user_id)
    body = json.dumps({"user": user_id, "kept": 1, "stamps": [everyone.decode(), person.decode()],
                       "run": cache.run_id}, separators=(",", ":"))
    cache.redis.set(f"{cache.prefix}o:{key}", user_id)
    cache.redis.set(f"{cache.prefix}c:{key}", f"{signature}.{body}")


def test_a_copy_written_to_redis_without_the_app_s_secret_is_no_token(app, client, worker):
    forge(app, "wca_made-up", worker.id)
    problem(client.get("/api/v1/me", headers=bearer("wca_made-up")), 401, "invalid-token")
    cache = app.extensions["auth_cache"]
    cache.redis.set(f"{cache.prefix}c:api:{token_hash('wca_made-up')}", "not a copy at all")
    problem(client.get("/api/v1/me", headers=bearer("wca_made-up")), 401, "invalid-token")


def test_another_deployment_sharing_the_redis_does_not_take_this_one_s_copies(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    warm(app, token)
    keep = ("DATABASE_URL", "AUTH_CACHE_URL", "AUTH_CACHE_PREFIX", "WTF_CSRF_ENABLED", "UPLOAD_FOLDER", "SERVER_NAME")
    elsewhere = create_app("testing", SECRET_KEY="another deployment", **{name: app.config[name] for name in keep})
    with sql_statements(elsewhere) as seen:
        assert elsewhere.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert token_reads(seen), seen  # its own database answered (here the same one), not this one's copy


def test_after_a_stamp_it_could_not_write_a_process_trusts_no_shared_copy(app, client, worker):
    token = sign_in(client, worker)["access_token"]
    other, replay = warm(app, token)
    cache = other.extensions["auth_cache"]
    real = cache.redis
    cache.redis = redis.Redis(port=1, socket_connect_timeout=0.2)
    cache.bump([worker.id])  # fails: this process's copies go, and the shared ones are not trusted here
    cache.redis = real
    with sql_statements(other) as seen:
        assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert token_reads(seen), seen


def test_someone_else_s_refresh_leaves_every_copy_current(app, client, worker, make_user, tree):
    """Marking a refresh token used changes nobody's rights: it restamps no one (it restamped everyone, so
    every refresh anywhere made every copy on the platform load again)."""
    token = sign_in(client, worker)["access_token"]
    other, replay = warm(app, token)
    someone = sign_in(client, make_user("别人", union=tree.a1))
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": someone["refresh_token"]}).status_code == 200
    with sql_statements(other) as seen:
        assert replay.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert seen == [], seen
