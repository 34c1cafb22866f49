"""CSRF on every form, security headers on every response, safe cookies and limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import Consent
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.notifications.services import notify
from classroom.unions.models import Membership, TradeUnion
from courses.catalog.models import ClassSession, Lesson
from tests.factories import PASSWORD
from tests.helpers import changed_rows, database_rows


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


# RFC 8058: a mail client's one-click unsubscribe POST carries no CSRF token; its signed URL is the
# credential (a forged or foreign token changes nothing: tests/test_emails.py).
CSRF_EXEMPT = {"unsubscribe.one_click"}


def post_routes(app):
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/api/")
            and rule.endpoint not in CSRF_EXEMPT]


def html_routes(app):
    return [rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.rule.startswith(("/static", "/api/"))]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_form_route_refuses_a_post_without_csrf_token(app, client, tree, make_user, make_course, site_admin):
    applicant = make_user("申请人", union=tree.a1, status="applied")
    membership = db.session.scalar(select(Membership).where(Membership.user_id == applicant.id))
    course = make_course(lessons=2, sessions=1)
    lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id, Lesson.position == 1))
    session_id = db.session.scalar(select(ClassSession.id).where(ClassSession.course_id == course.id))
    notify(site_admin, "membership.approved", "csrf-test", "通知", now=utcnow())
    consent = Consent(user_id=site_admin.id, what="privacy_notice", version="2025-01", given_at=utcnow())
    db.session.add(consent)
    db.session.commit()
    notification_id = db.session.scalar(select(Notification.id).where(Notification.user_id == site_admin.id))
    # every id in a route names a real row a successful POST would change
    ids = {"union_id": tree.a1.id, "user_id": applicant.id, "membership_id": membership.id,
           "grant_id": site_admin.grants[0].id, "notification_id": notification_id, "course_id": course.id,
           "lesson_id": lesson.id, "position": 1, "session_id": session_id, "consent_id": consent.id}
    # log in with a token, as a browser would
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/auth/login", data={"identifier": site_admin.mobile, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    before = database_rows()
    routes = post_routes(app)
    assert len(routes) >= 12
    for rule in routes:
        url = concrete(rule, ids)
        response = client.post(url, data={"name": "x", "title": "x", "reason": "x", "mobile": "13911112222",
                                          "parent_id": tree.b1.id, "identifier": site_admin.mobile,
                                          "password": PASSWORD, "locale": "en", "timezone": "UTC"})
        assert response.status_code == 400, url
        assert "security token" in response.get_data(as_text=True), url
    after = database_rows()
    assert after == before, changed_rows(before, after)  # not a row added, removed or changed
    # the comparison sees a change to one column of one existing row
    db.session.get(Lesson, lesson.id).position = 9
    db.session.flush()
    assert changed_rows(before, database_rows()).keys() == {"lesson", "course"}  # (the course's content version)
    db.session.rollback()


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


def signing_pem() -> str:
    from config import _new_signing_key_pem

    return _new_signing_key_pem()


def test_production_cookies_are_secure_and_hsts_is_sent(database_url, monkeypatch):
    from classroom import create_app

    monkeypatch.setenv("CLASSROOM_SECRET_KEY", "prod-secret")
    monkeypatch.setenv("CLASSROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("CLASSROOM_FERNET_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    monkeypatch.setenv("CLASSROOM_LOOKUP_HASH_KEY", "k")
    monkeypatch.setenv("CLASSROOM_CERTIFICATE_SIGNING_KEY", signing_pem())
    monkeypatch.setenv("CLASSROOM_PUBLIC_BASE_URL", "https://xuetang.example.cn")
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


def test_log_in_spends_one_verification_whether_or_not_the_account_exists(app, tree, make_user, monkeypatch):
    """Unknown identifier, wrong password and disabled account: each log-in verifies exactly one
    argon2 hash made with the same parameters, and hashes nothing (the dummy hash is ready from
    the start, so not even the first unknown identifier costs a hash more)."""
    from argon2 import PasswordHasher

    user = make_user(union=tree.a1, email="li@example.cn")
    disabled = make_user(union=tree.a1, is_active=False)
    calls: list[tuple[str, str]] = []
    real_verify, real_hash = PasswordHasher.verify, PasswordHasher.hash

    def verify(self, stored, password):
        calls.append(("verify", stored.rsplit("$", 2)[0]))  # the algorithm and its parameters
        return real_verify(self, stored, password)

    def hash_(self, password, **kwargs):
        calls.append(("hash", ""))
        return real_hash(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    monkeypatch.setattr(PasswordHasher, "hash", hash_)
    seen = {}
    for case, identifier in [("unknown mobile", "13799998888"), ("unknown email", "nobody@example.cn"),
                             ("wrong password", user.mobile), ("wrong password, email", "li@example.cn"),
                             ("disabled", disabled.mobile)]:
        calls.clear()
        response = app.test_client().post("/auth/login", data={"identifier": identifier, "password": "Wrong-Pass-99"})
        assert response.status_code == 200 and "is not right" in response.get_data(as_text=True), case
        assert [kind for kind, _ in calls] == ["verify"], (case, calls)
        seen[case] = calls[0][1]
    assert len(set(seen.values())) == 1, seen  # the same argon2 parameters, so the same time


def frame_sources(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    [directive] = [part.strip() for part in policy.split(";") if part.strip().startswith("frame-src ")]
    return directive.split()[1:]


@pytest.mark.parametrize("app_config", [{"VIDEO_EMBED_HOSTS": ["player.bilibili.com", "video.example.cn"]}])
def test_frame_src_is_built_from_the_video_embed_hosts(app, client):
    assert frame_sources(client.get("/")) == ["'self'", "https://player.bilibili.com", "https://video.example.cn"]
    app.config["VIDEO_EMBED_HOSTS"] = ["media.example.org"]  # a changed setting shows at once
    assert frame_sources(client.get("/auth/login")) == ["'self'", "https://media.example.org"]
    app.config["VIDEO_EMBED_HOSTS"] = []
    assert frame_sources(client.get("/privacy")) == ["'self'"]


def test_the_default_hosts_and_a_bad_host(database_url):
    from classroom import create_app
    from classroom.security import content_security_policy

    default = create_app("testing", DATABASE_URL=database_url)
    assert frame_sources(default.test_client().get("/privacy")) == [
        "'self'", *(f"https://{host}" for host in default.config["VIDEO_EMBED_HOSTS"])]
    assert "frame-src 'self' https://a.example.cn https://b.example.cn;" in content_security_policy(
        "a.example.cn, b.example.cn")  # a comma-separated CLASSROOM_VIDEO_EMBED_HOSTS
    for bad in ("evil.cn; script-src *", "https://evil.cn", "evil.cn 'unsafe-inline'"):
        with pytest.raises(ValueError, match="VIDEO_EMBED_HOSTS"):
            create_app("testing", DATABASE_URL=database_url, VIDEO_EMBED_HOSTS=[bad])


TEXT_ATTRIBUTE = re.compile(r"""(?<![\w-])(aria-label|title|placeholder|alt)\s*=\s*("[^"]*"|'[^']*')""")


def test_labels_in_attributes_go_through_gettext():
    """aria-label, title, placeholder and alt carry words screen readers and users read: in the
    templates they come from _() (or data), never as literal text."""
    templates = Path(__file__).resolve().parents[1] / "templates"
    literal = []
    for path in sorted(templates.rglob("*.html")):
        for match in TEXT_ATTRIBUTE.finditer(path.read_text(encoding="utf-8")):
            text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", match.group(2)[1:-1])
            if re.search(r"[A-Za-z\u4e00-\u9fff]", text):
                literal.append(f"{path.relative_to(templates)}: {match.group(0)}")
    assert not literal, literal
