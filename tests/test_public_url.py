# ruff: noqa: F811 - the shared fixtures are imported from tests.test_certificates
"""The public address: every absolute link the platform prints (PDFs and their QR codes, Open Badges, the
calendar feed, emails, reset links) is on PUBLIC_BASE_URL; production refuses to start without a real one;
development without it links to the request's own root."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import jwt
import pytest

from classroom import create_app
from classroom.http import DEVELOPMENT_BASE_URL, public_url
from classroom.notifications.jobs import dispatch
from classroom.notifications.services import notify
from config import ConfigurationError
from courses.certificates import badges
from courses.enrollment.services import enroll
from tests.factories import login_client
from tests.pdfs import pdf_text, qr_codes
from tests.test_certificates import certified, course_for_certificates  # noqa: F401
from tests.test_hours import TODAY, credit
from tests.test_recovery import forgot

SITE = "https://xuetang.example.cn"
URL = re.compile(r"https?://[^\s\"'<>\\)]+")
STANDARD_CONTEXTS = {badges.VC_CONTEXT, badges.OB_CONTEXT}  # vocabularies named by the standard, not links


class RecordingMail:
    sent: list = []

    def __init__(self, config) -> None:
        pass

    def send(self, message) -> None:
        RecordingMail.sent.append(message)


@pytest.fixture
def app_config():
    RecordingMail.sent.clear()
    return {"PUBLIC_BASE_URL": SITE, "MAIL_BACKEND": "tests.test_public_url.RecordingMail"}


def assert_on_site(text: str, *, at_least: int = 1) -> list[str]:
    """Every URL in ``text`` is on the public site (and there are some); no loopback name appears at all."""
    urls = [url for url in URL.findall(text) if url not in STANDARD_CONTEXTS]
    assert len(urls) >= at_least, text
    assert {urlsplit(url).netloc for url in urls} == {"xuetang.example.cn"}, urls
    assert all(url.startswith(SITE + "/") or url == SITE for url in urls), urls
    for loopback in ("127.0.0.1", "localhost", "0.0.0.0", "[::1]"):  # noqa: S104
        assert loopback not in text
    return urls


# ---- every document and message on the configured site -----------------------------------------------

def test_certificate_pdf_prints_and_encodes_the_public_address(app, certified):
    worker, _course, certificate = certified
    body = login_client(app, worker).get(f"/certificates/{certificate.id}/pdf").data
    assert qr_codes(body) == [f"{SITE}/verify/{certificate.token}"]
    assert assert_on_site(pdf_text(body)) == [f"{SITE}/verify"]


def test_transcript_pdf_links_to_the_public_verify_page(app, tree, make_user):
    worker = make_user("张小明", union=tree.a1)
    credit(worker, 90)
    body = login_client(app, worker).get(f"/me/hours/{TODAY.year}.pdf").data
    [url] = qr_codes(body)
    assert url.startswith(f"{SITE}/hours/verify/")
    assert app.test_client().get(url.removeprefix(SITE)).status_code == 200
    assert "127.0.0.1" not in pdf_text(body) and "localhost" not in pdf_text(body)


def test_open_badge_ids_issuer_and_keys_are_on_the_site(app, client, certified):
    worker, _course, certificate = certified
    token = login_client(app, worker).get(f"/certificates/{certificate.id}/badge.jwt").data.decode()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["id"] == f"{SITE}/verify/{certificate.token}"
    assert claims["issuer"]["id"] == f"{SITE}/verify/issuer"
    assert claims["credentialSubject"]["achievement"]["id"].startswith(f"{SITE}/verify/achievements/")
    assert_on_site(json.dumps(claims, ensure_ascii=False), at_least=3)
    issuer = client.get("/verify/issuer").get_data(as_text=True)
    assert_on_site(issuer, at_least=3)
    assert_on_site(client.get(f"/verify/{certificate.token}?format=json").get_data(as_text=True))
    assert f"{SITE}/verify/keys" in client.get("/verify").get_data(as_text=True)


def test_calendar_link_and_feed_are_on_the_site(app, make_course, make_user, tree):
    worker = make_user("学员", union=tree.a1)
    course = make_course("带班课", lessons=0, sessions=2)
    enroll(worker, course, now=datetime.now(UTC))
    from classroom.extensions import db

    db.session.commit()
    page = login_client(app, worker).get("/me/calendar").get_data(as_text=True)
    feed_url = next(url for url in URL.findall(page) if url.endswith(".ics"))
    assert feed_url.startswith(f"{SITE}/me/calendar/")
    feed = app.test_client().get(feed_url.removeprefix(SITE)).get_data(as_text=True)
    urls = assert_on_site(feed.replace("\r\n ", ""), at_least=2)  # iCalendar folds long lines
    assert set(urls) == {f"{SITE}/courses/{course.id}"}


def test_an_email_sent_by_the_outbox_outside_a_request_links_to_the_site(app, make_user):
    person = make_user(email="zhang@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    notify(person, "course.announcement", "announce:1", "通知", "正文", now=datetime.now(UTC))
    from classroom.extensions import db

    db.session.commit()
    assert dispatch(now=datetime.now(UTC))["sent"] == 1
    [message] = RecordingMail.sent
    for part in ("plain", "html"):  # the notification's link, the settings, the one-click opt-out, the site
        urls = assert_on_site(message.get_body((part,)).get_content(), at_least=3)
        assert f"{SITE}/me/notifications" in urls and f"{SITE}/me/notifications/settings" in urls
    assert message["List-Unsubscribe"].startswith(f"<{SITE}/unsubscribe/")
    assert message["Message-ID"].endswith("@xuetang.example.cn>")


def test_a_password_reset_link_is_on_the_site(app, client, tree, make_user):
    make_user(union=tree.a1, email="li@example.cn")
    forgot(client, "li@example.cn")
    [message] = RecordingMail.sent
    [link] = assert_on_site(message.get_body(("plain",)).get_content())
    assert link.startswith(f"{SITE}/auth/reset/")


def test_the_helper_takes_a_path_or_an_endpoint_inside_and_outside_a_request(app):
    assert public_url("/verify") == public_url("certificates.verify.index") == f"{SITE}/verify"
    with app.test_request_context("/", base_url="http://192.168.1.20:5050"):
        assert public_url("hours.verify", token="t") == f"{SITE}/hours/verify/t"  # configuration wins


# ---- production refuses a missing or unreachable address -------------------------------------------------

@pytest.fixture
def production_env(monkeypatch, database_url):
    for name, value in (("SECRET_KEY", "s"), ("DATABASE_URL", database_url), ("LOOKUP_HASH_KEY", "k"),
                        ("FERNET_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="),
                        ("CERTIFICATE_SIGNING_KEY", "unused: the app refuses first")):
        monkeypatch.setenv(f"CLASSROOM_{name}", value)
    monkeypatch.delenv("CLASSROOM_PUBLIC_BASE_URL", raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_the_public_address(production_env):
    with pytest.raises(ConfigurationError, match="Production needs these settings: CLASSROOM_PUBLIC_BASE_URL$"):
        create_app("production")


@pytest.mark.parametrize("value", ["http://127.0.0.1:5000", "http://localhost", "https://localhost:8443/",
                                   "https://127.1", "https://[::1]", "https://0.0.0.0", "https://app.localhost"])
def test_production_refuses_a_loopback_address(production_env, value):
    production_env.setenv("CLASSROOM_PUBLIC_BASE_URL", value)
    with pytest.raises(ConfigurationError, match="CLASSROOM_PUBLIC_BASE_URL=.*loopback"):
        create_app("production")


@pytest.mark.parametrize(("value", "reason"), [("http://xuetang.example.cn", "https://"),
                                               ("xuetang.example.cn", "absolute"), ("/classroom", "absolute"),
                                               ("ftp://xuetang.example.cn", "absolute"),
                                               ("https://xuetang.example.cn/?a=1", "absolute")])
def test_production_refuses_plain_http_and_what_is_not_a_url(production_env, value, reason):
    production_env.setenv("CLASSROOM_PUBLIC_BASE_URL", value)
    with pytest.raises(ConfigurationError, match=f"CLASSROOM_PUBLIC_BASE_URL=.*{re.escape(reason)}"):
        create_app("production")


def test_production_uses_the_setting_and_never_guesses(production_env):
    from config import _new_signing_key_pem

    production_env.setenv("CLASSROOM_CERTIFICATE_SIGNING_KEY", _new_signing_key_pem())
    production_env.setenv("CLASSROOM_PUBLIC_BASE_URL", SITE + "/")
    app = create_app("production")
    assert app.test_client().get("/verify/issuer", base_url="https://evil.example").json["url"] == SITE
    app.config["PUBLIC_BASE_URL"] = None  # not possible through the settings; and still no guess
    with app.app_context(), pytest.raises(ConfigurationError, match="CLASSROOM_PUBLIC_BASE_URL"):
        public_url("/verify")


# ---- development: the serving address ---------------------------------------------------------------------

@pytest.fixture
def development_app(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSROOM_INSTANCE_PATH", str(tmp_path))
    for name in ("PUBLIC_BASE_URL", "DATABASE_URL", "SECRET_KEY", "PROXY_COUNT"):
        monkeypatch.delenv(f"CLASSROOM_{name}", raising=False)
    return lambda **settings: create_app("development", **settings)


def test_development_links_to_the_address_the_request_came_to(development_app):
    app = development_app()
    assert app.config["PUBLIC_BASE_URL"] is None
    issuer = app.test_client().get("/verify/issuer", base_url="http://192.168.1.20:5050").json
    assert issuer["id"] == "http://192.168.1.20:5050/verify/issuer" and issuer["url"] == "http://192.168.1.20:5050"


def test_behind_a_proxy_the_forwarded_address_counts(development_app):
    app = development_app(PROXY_COUNT=1)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "xuetang.example.cn"}
    assert app.test_client().get("/verify/issuer", headers=headers).json["id"] == f"{SITE}/verify/issuer"


def test_development_outside_a_request_warns_and_uses_the_make_run_default(development_app, caplog):
    app = development_app()
    with app.app_context(), caplog.at_level(logging.WARNING, logger="classroom.http"):
        assert public_url("/verify") == public_url("/verify") == f"{DEVELOPMENT_BASE_URL}/verify"
    assert [r.getMessage() for r in caplog.records].count(
        f"CLASSROOM_PUBLIC_BASE_URL is not set: links made outside a request use {DEVELOPMENT_BASE_URL}") == 1


def test_what_make_run_passes_is_used_outside_a_request(development_app, monkeypatch):
    monkeypatch.setenv("CLASSROOM_PUBLIC_BASE_URL", "http://127.0.0.1:5077")
    app = development_app()
    with app.app_context():
        assert public_url("hours.verify", token="t") == "http://127.0.0.1:5077/hours/verify/t"


def test_a_malformed_address_is_refused_in_development_too(development_app):
    with pytest.raises(ConfigurationError, match="CLASSROOM_PUBLIC_BASE_URL=127.0.0.1:5000"):
        development_app(PUBLIC_BASE_URL="127.0.0.1:5000")
