"""CSRF on every form, security headers on every response, safe cookies and limits."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from classroom.audit import AuditEvent
from classroom.extensions import db
from classroom.unions.models import Membership, TradeUnion
from tests.factories import PASSWORD


def concrete(rule, values: dict[str, int]) -> str:
    """A URL for a rule, with every <int:…> filled from ``values`` (1 by default)."""
    url = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        if hasattr(converter, "items"):  # <any(a, b):name>
            value = sorted(converter.items)[0]
        else:
            value = values.get(name, 1)
        url = re.sub(rf"<[^>]*{name}>", str(value), url)
    return url


def post_routes(app):
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/api/")]


def html_routes(app):
    return [rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.rule.startswith(("/static", "/api/"))]


def table_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name != "audit_event"}


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_form_route_refuses_a_post_without_csrf_token(app, client, tree, make_user, site_admin):
    applicant = make_user("申请人", union=tree.a1, status="applied")
    ids = {"union_id": tree.a1.id, "user_id": applicant.id, "membership_id": 1, "grant_id": 1,
           "notification_id": 1}
    # log in with a token, as a browser would
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/auth/login", data={"identifier": site_admin.mobile, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    before = table_counts()
    routes = post_routes(app)
    assert len(routes) >= 12
    for rule in routes:
        url = concrete(rule, ids)
        response = client.post(url, data={"name": "x", "reason": "x", "mobile": "13911112222",
                                          "identifier": site_admin.mobile, "password": PASSWORD})
        assert response.status_code == 400, url
        assert "security token" in response.get_data(as_text=True), url
    assert table_counts() == before
    assert db.session.get(Membership, 1).status == "applied"


SECURITY_HEADERS = {
    "Content-Security-Policy": "script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def assert_security_headers(response, url):
    for name, fragment in SECURITY_HEADERS.items():
        assert fragment in response.headers.get(name, ""), f"{url}: {name}"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_every_page_carries_the_security_headers(app, tree, make_user, site_admin):
    make_user("成员", union=tree.a1)
    ids = {"union_id": tree.a1.id, "user_id": site_admin.id}
    checked = 0
    for who in (None, site_admin):
        client = app.test_client()
        if who is not None:
            client.post("/auth/login", data={"identifier": who.mobile, "password": PASSWORD})
        for rule in html_routes(app):
            url = concrete(rule, ids)
            response = client.get(url)
            assert response.status_code < 500, url
            assert_security_headers(response, url)
            checked += 1
        for url in ("/no-such-page", "/static/css/app.css", "/auth/logout"):
            assert_security_headers(client.get(url), url)
    assert checked >= 20


def test_inline_scripts_are_absent(client, tree):
    for url in ("/", "/auth/login", "/auth/register", "/privacy"):
        html = client.get(url).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in tag, (url, tag)


def test_cookies_are_httponly_and_lax(client, make_user, tree):
    user = make_user(union=tree.a1)
    response = client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_hsts_is_sent(database_url, monkeypatch):
    from classroom import create_app

    monkeypatch.setenv("CLASSROOM_SECRET_KEY", "prod-secret")
    monkeypatch.setenv("CLASSROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("CLASSROOM_FERNET_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    monkeypatch.setenv("CLASSROOM_LOOKUP_HASH_KEY", "k")
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/privacy")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_oversized_request_gets_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/auth/login", data={"identifier": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "larger than allowed" in response.get_data(as_text=True)


def test_errors_are_generic_pages_without_internals(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM internals")

    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "SELECT" not in body and "Traceback" not in body
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(TradeUnion)) == 0


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["error"]["code"] == 404
    response = client.post("/healthz")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
