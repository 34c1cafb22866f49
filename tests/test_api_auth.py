"""The API's credentials: a worker's devices (sign in, refresh, reuse detection, sign out, the devices page),
partner API keys (scopes, subtree, audit), and what the API never accepts (cookies, tokens in the address)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from classroom.api.models import ApiDevice, ApiKey, ApiToken
from classroom.api.tokens import device_section, erase_devices
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from tests.api_support import bearer, problem, sign_in
from tests.factories import PASSWORD, login_client


@pytest.fixture
def worker(make_user, tree):
    return make_user("李工", union=tree.a1)


def test_a_device_signs_in_and_reads_its_profile(client, worker, app):
    tokens = sign_in(client, worker, device="李工的手机")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == app.config["API_ACCESS_TOKEN_SECONDS"]
    assert tokens["access_token"].startswith("wca_") and tokens["refresh_token"].startswith("wcr_")
    response = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200 and response.get_json()["id"] == worker.id
    assert response.get_json()["language"] == "en" and response.headers["ETag"]
    assert "Set-Cookie" not in response.headers
    stored = db.session.scalars(select(ApiToken.token_hash)).all()  # only hashes are kept
    assert hashlib.sha256(tokens["access_token"].encode()).hexdigest() in stored
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored
    assert db.session.scalar(select(ApiDevice.name)) == "李工的手机"


def test_a_wrong_password_is_a_problem(client, worker):
    response = client.post("/api/v1/auth/token", json={"mobile": worker.mobile, "password": "wrong-password-1",
                                                       "device_name": "x"})
    problem(response, 401, "login-failed")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_IDENTIFIER": "3 per 15 minutes"}])
def test_failed_log_ins_count_at_both_doors(client, worker):
    for _ in range(2):
        client.post("/auth/login", data={"identifier": worker.mobile, "password": "wrong-password-1"})
    body = {"mobile": worker.mobile, "password": "wrong-password-1", "device_name": "x"}
    problem(client.post("/api/v1/auth/token", json=body), 401, "login-failed")
    refused = client.post("/api/v1/auth/token", json=dict(body, password=PASSWORD))
    assert "account" in problem(refused, 429, "too-many-requests")["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_refresh_rotates_and_reuse_revokes_the_whole_device(client, worker):
    first = sign_in(client, worker)
    other_device = sign_in(client, worker, device="平板")
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).get_json()
    assert second["access_token"] != first["access_token"] and second["device_id"] == first["device_id"]
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200
    # The first refresh token again (a thief's copy): refused, and the device's whole family with it.
    problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401,
            "invalid-token")
    for token in (first["access_token"], second["access_token"]):
        problem(client.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")
    problem(client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401,
            "invalid-token")
    assert client.get("/api/v1/me", headers=bearer(other_device["access_token"])).status_code == 200
    assert db.session.scalar(select(ApiDevice.revoked_reason).where(ApiDevice.id == first["device_id"])) == "reuse"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "api.refresh_reused")) == 1


def test_sign_out_ends_the_device(client, worker):
    tokens = sign_in(client, worker)
    response = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 204 and response.get_data() == b""
    problem(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")
    problem(client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401,
            "invalid-token")


@pytest.mark.parametrize("app_config", [{"API_ACCESS_TOKEN_SECONDS": 0}])
def test_an_expired_access_token_is_refused(client, worker):
    tokens = sign_in(client, worker)
    problem(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")


def test_a_disabled_account_s_tokens_are_refused(client, worker):
    tokens = sign_in(client, worker)
    worker.is_active = False
    db.session.commit()
    problem(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")
    problem(client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401,
            "invalid-token")


def test_credentials_are_taken_from_the_authorization_header_only(client, worker):
    token = sign_in(client, worker)["access_token"]
    problem(client.get(f"/api/v1/me?access_token={token}"), 400, "credentials-in-query")
    problem(client.get(f"/api/v1/me?token={token}", headers=bearer(token)), 400, "credentials-in-query")
    problem(client.get("/api/v1/me", headers={"Authorization": f"Token {token}"}), 401, "unauthorized")
    problem(client.get("/api/v1/me", headers=bearer("wca_not-a-token")), 401, "invalid-token")


def test_a_session_cookie_never_authenticates_the_api(app, worker):
    browser = login_client(app, worker)
    assert browser.get("/me").status_code == 200  # the cookie is good for the pages
    refused = browser.get("/api/v1/me")
    problem(refused, 401, "unauthorized")
    assert "Set-Cookie" not in browser.get("/api/v1/me?lang=zh_CN").headers
    token = sign_in(browser, worker)["access_token"]
    assert browser.get("/api/v1/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_csrf_never_applies_to_token_requests(client, worker):
    assert sign_in(client, worker)["access_token"]


def test_the_devices_page_lists_and_signs_out_a_device(app, worker, make_user, tree):
    tokens = sign_in(app.test_client(), worker, device="车间平板")
    browser = login_client(app, worker)
    page = browser.get("/me/devices")
    assert f'data-device="{tokens["device_id"]}"' in page.get_data(as_text=True) and "车间平板" in page.get_data(
        as_text=True)
    stranger = login_client(app, make_user("王五", union=tree.a2))
    assert stranger.post(f"/me/devices/{tokens['device_id']}/revoke").status_code == 404
    response = browser.post(f"/me/devices/{tokens['device_id']}/revoke")
    assert response.status_code == 302
    problem(app.test_client().get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")
    assert 'data-devices="none"' in browser.get("/me/devices").get_data(as_text=True)


@pytest.fixture
def district_admin(make_admin, tree):
    return make_admin(tree.district_a, "区管理员")


def create_key(browser, union, *scopes: str, name: str = "考勤系统") -> str:
    page = browser.post(f"/unions/{union.id}/api-keys", data={"name": name, "scopes": list(scopes)})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    start = html.index("data-key-secret>") + len("data-key-secret>")
    return html[start:html.index("<", start)]


def test_an_administrator_creates_a_key_shown_once_then_revokes_it(app, district_admin, tree):
    browser = login_client(app, district_admin)
    secret = create_key(browser, tree.district_a, "hours:read")
    key = db.session.scalar(select(ApiKey))
    assert secret.startswith("wck_") and key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.scopes == ["hours:read"] and secret not in browser.get(
        f"/unions/{tree.district_a.id}/api-keys").get_data(as_text=True)
    assert app.test_client().get(f"/api/v1/unions/{tree.a1.id}", headers=bearer(secret)).status_code == 200
    assert browser.post(f"/unions/{tree.district_a.id}/api-keys/{key.id}/revoke").status_code == 302
    problem(app.test_client().get(f"/api/v1/unions/{tree.a1.id}", headers=bearer(secret)), 401, "invalid-token")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "ApiKey")).all()
    assert sorted(actions) == ["api_key.create", "api_key.revoke", "api_key.use"]


def test_keys_are_an_administrator_s_of_that_union(app, make_admin, worker, tree):
    other = login_client(app, make_admin(tree.district_b, "西城管理员"))
    assert other.get(f"/unions/{tree.district_a.id}/api-keys").status_code == 404
    assert login_client(app, worker).get(f"/unions/{tree.district_a.id}/api-keys").status_code == 403
    empty = other.post(f"/unions/{tree.district_b.id}/api-keys", data={"name": "无权限", "scopes": []})
    assert "data-key-secret" not in empty.get_data(as_text=True) and db.session.scalar(select(ApiKey)) is None


def test_a_key_reads_its_subtree_with_its_scopes_and_nothing_else(app, district_admin, tree, make_course):
    secret = create_key(login_client(app, district_admin), tree.district_a, "hours:read")
    client, key = app.test_client(), bearer(secret)
    assert client.get(f"/api/v1/unions/{tree.a1.id}", headers=key).get_json()["name"] == tree.a1.name
    assert client.get(f"/api/v1/unions/{tree.district_a.id}", headers=key).status_code == 200
    for outside in (tree.b1, tree.district_b, tree.city):
        problem(client.get(f"/api/v1/unions/{outside.id}", headers=key), 404, "not-found")
    course = make_course(scope=tree.city)
    problem(client.get("/api/v1/courses", headers=key), 403, "insufficient-scope")
    problem(client.get(f"/api/v1/courses/{course.id}", headers=key), 403, "insufficient-scope")
    problem(client.get("/api/v1/me", headers=key), 403, "person-required")
    problem(client.patch("/api/v1/me", json={"trade": "电工"}, headers=dict(key, **{"If-Match": '"x"'})), 403,
            "person-required")
    problem(client.post("/api/v1/auth/logout", headers=key), 403, "person-required")
    uses = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "api_key.use"))
    assert uses == 10  # every request made with the key, refused ones too
    denied = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "scope.denied")).all()
    assert sorted(denied) == sorted([tree.b1.id, tree.district_b.id, tree.city.id])


def test_a_worker_token_reaches_the_unions_its_person_administers(client, district_admin, worker, tree):
    admin_token = sign_in(client, district_admin)["access_token"]
    assert client.get(f"/api/v1/unions/{tree.a2.id}", headers=bearer(admin_token)).status_code == 200
    problem(client.get(f"/api/v1/unions/{tree.b1.id}", headers=bearer(admin_token)), 404, "not-found")
    worker_token = sign_in(client, worker)["access_token"]
    problem(client.get(f"/api/v1/unions/{tree.a1.id}", headers=bearer(worker_token)), 404, "not-found")


def test_a_site_admin_manages_keys_of_any_union(app, site_admin, tree):
    browser = login_client(app, site_admin)
    secret = create_key(browser, tree.b1, "members:read", "courses:read", name="银泰人事系统")
    assert db.session.scalar(select(ApiKey.scopes)) == ["courses:read", "members:read"]
    assert app.test_client().get("/api/v1/courses", headers=bearer(secret)).status_code == 200


def test_devices_are_in_the_data_download_and_closed_with_the_account(client, worker):
    tokens = sign_in(client, worker, device="旧手机")
    assert [entry["name"] for entry in device_section(worker)] == ["旧手机"]
    erase_devices(worker, utcnow())
    db.session.commit()
    problem(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401, "invalid-token")
    assert device_section(worker)[0]["revoked_at"] is not None
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
