"""Password recovery: SMS codes (once, expiring, limited tries), email links, admin-issued links,
identical answers for unknown accounts, rate limits, other sessions ending."""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from classroom.accounts import jobs, recovery, recovery_views
from classroom.accounts.models import PasswordReset
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from tests.concurrency import run_at_once
from tests.factories import PASSWORD, login_client
from tests.helpers import same_page
from tests.markup import input_value

NEW_PASSWORD = "Fresh-Start-2026"


class RecordingSMS:
    sent: list[tuple[str, str]] = []

    def __init__(self, config) -> None:
        pass

    def send(self, mobile: str, text: str) -> None:
        RecordingSMS.sent.append((mobile, text))


class RecordingMail:
    sent: list = []

    def __init__(self, config) -> None:
        pass

    def send(self, message) -> None:
        RecordingMail.sent.append(message)


@pytest.fixture
def app_config():
    RecordingSMS.sent.clear()
    RecordingMail.sent.clear()
    return {"SMS_BACKEND": "tests.test_recovery.RecordingSMS", "MAIL_BACKEND": "tests.test_recovery.RecordingMail"}


class SlowSMS:
    """A gateway that takes its time: each text waits until the test opens the gate (or DELAY s)."""

    DELAY = 10.0
    gate = threading.Event()
    sent: list[tuple[str, str]] = []

    def __init__(self, config) -> None:
        pass

    def send(self, mobile: str, text: str) -> None:
        SlowSMS.gate.wait(SlowSMS.DELAY)
        SlowSMS.sent.append((mobile, text))


def forgot(client, identifier: str, ip: str = "10.0.0.1", *, wait: bool = True):
    """Ask for a code or link; by default wait until the background sender has handled it."""
    response = client.post("/auth/forgot", data={"identifier": identifier}, environ_base={"REMOTE_ADDR": ip})
    if wait:
        assert jobs.wait_for_deliveries(), "the background sender did not finish"
    return response


def clock(monkeypatch, now) -> None:
    """The recovery pages' clock reads ``now``."""
    monkeypatch.setattr(recovery_views, "utcnow", lambda: now)


def enter_code(client, mobile: str, code: str, password: str = NEW_PASSWORD, ip: str = "10.0.0.1"):
    return client.post("/auth/reset", data={"mobile": mobile, "code": code, "password": password,
                                            "confirm": password}, environ_base={"REMOTE_ADDR": ip})


def last_code() -> str:
    return re.search(r"\b(\d{6})\b", RecordingSMS.sent[-1][1]).group(1)


def can_log_in(app, mobile: str, password: str) -> bool:
    return app.test_client().post("/auth/login", data={"identifier": mobile, "password": password}).status_code == 302


def test_a_code_works_once_and_ends_the_other_sessions(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    other_device = login_client(app, user)
    response = forgot(client, "+86 " + user.mobile)
    assert response.status_code == 302 and response.location == "/auth/reset"
    [(mobile, text)] = RecordingSMS.sent
    code = last_code()
    assert mobile == user.mobile and "15 minutes" in text
    stored = db.session.scalar(select(PasswordReset))
    assert stored.code_hash and code not in stored.code_hash
    page = client.get("/auth/reset").get_data(as_text=True)
    assert input_value(page, "mobile") == user.mobile and "If an account has this mobile number" in page
    assert enter_code(client, user.mobile, code).status_code == 302
    assert client.get("/me").status_code == 200
    assert other_device.get("/me").status_code == 302
    assert can_log_in(app, user.mobile, NEW_PASSWORD) and not can_log_in(app, user.mobile, PASSWORD)
    again = enter_code(app.test_client(), user.mobile, code, "Another-Pass-2027")
    assert "The code is not right" in again.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.actor_id == user.id)) == "password.reset"
    assert db.session.scalar(select(Notification.kind)) == "account.password_reset"


@pytest.mark.parametrize("app_config", [{"SMS_BACKEND": "tests.test_recovery.SlowSMS"}])
def test_the_answer_never_waits_for_the_gateway_and_the_code_still_arrives(app, client, tree, make_user,
                                                                           monkeypatch):
    SlowSMS.gate.clear()
    SlowSMS.sent.clear()
    user = make_user(union=tree.a1)
    looked_up_in = []
    real_request_reset = recovery.request_reset

    def spy(identifier, **kwargs):
        looked_up_in.append(threading.current_thread().name)
        return real_request_reset(identifier, **kwargs)

    monkeypatch.setattr(recovery, "request_reset", spy)
    took = {}
    try:
        for identifier in (user.mobile, "13799998888"):  # an account, and none
            started = time.monotonic()
            response = forgot(client, identifier, wait=False)
            took[identifier] = time.monotonic() - started
            assert response.status_code == 302 and response.location == "/auth/reset"
        assert SlowSMS.sent == []  # the gateway is still busy: neither answer waited for it
        assert max(took.values()) < SlowSMS.DELAY / 2, took
    finally:
        SlowSMS.gate.set()
        assert jobs.wait_for_deliveries()
    # both requests did the same: handed the look-up to the background sender
    assert len(looked_up_in) == 2 and all(name.startswith("password-reset") for name in looked_up_in)
    [(mobile, text)] = SlowSMS.sent
    assert mobile == user.mobile
    code = re.search(r"\b(\d{6})\b", text).group(1)
    assert enter_code(client, user.mobile, code).status_code == 302
    assert can_log_in(app, user.mobile, NEW_PASSWORD)
    assert "The code is not right" in enter_code(app.test_client(), user.mobile, code).get_data(as_text=True)


def test_a_gateway_failure_changes_nothing_in_the_answer(app, client, tree, make_user, monkeypatch):
    user = make_user(union=tree.a1)

    def broken(self, mobile, text):
        raise ConnectionError("gateway down")

    monkeypatch.setattr(RecordingSMS, "send", broken)
    assert forgot(client, user.mobile).location == forgot(client, "13799998888").location == "/auth/reset"
    assert db.session.scalar(select(PasswordReset.user_id)) == user.id  # stored, then the text failed


def test_a_code_expires_and_a_new_one_replaces_it(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(client, user.mobile)
    first = last_code()
    reset = db.session.scalar(select(PasswordReset))
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "The code is not right" in enter_code(client, user.mobile, first).get_data(as_text=True)
    assert can_log_in(app, user.mobile, PASSWORD)
    forgot(client, user.mobile)
    second = last_code()
    forgot(client, user.mobile)
    if last_code() != second:
        assert "The code is not right" in enter_code(client, user.mobile, second).get_data(as_text=True)
    assert enter_code(client, user.mobile, last_code()).status_code == 302


def test_refused_after_too_many_wrong_tries(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(client, user.mobile)
    code = last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(app.config["RESET_CODE_ATTEMPTS"]):
        assert "The code is not right" in enter_code(client, user.mobile, wrong).get_data(as_text=True)
    assert "The code is not right" in enter_code(client, user.mobile, code).get_data(as_text=True)
    assert can_log_in(app, user.mobile, PASSWORD)


def test_a_weak_password_does_not_spend_a_try(app, client, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(client, user.mobile)
    assert "too easy" in enter_code(client, user.mobile, last_code(), "password123").get_data(as_text=True)
    assert db.session.scalar(select(PasswordReset.attempts)) == 0
    assert enter_code(client, user.mobile, last_code()).status_code == 302


def test_parallel_guesses_cannot_exceed_the_limit(app, tree, make_user):
    user = make_user(union=tree.a1)
    forgot(app.test_client(), user.mobile)
    code = last_code()
    clients = [app.test_client() for _ in range(8)]
    wrongs = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 9)]
    mobile = user.mobile
    results = run_at_once(8, lambda i: enter_code(clients[i], mobile, wrongs[i], ip=f"10.2.0.{i}"))
    assert [getattr(result, "status_code", result) for result in results] == [200] * 8
    assert db.session.scalar(select(PasswordReset.attempts)) == app.config["RESET_CODE_ATTEMPTS"]
    assert "The code is not right" in enter_code(app.test_client(), user.mobile, code).get_data(as_text=True)


def normalized(body: str, identifier: str) -> str:
    # every form's CSRF token (the page's own and the header's care-mode switch) differs per session, and
    # the offline notice carries the second the page was drawn in
    return same_page(body).replace(identifier, "IDENTIFIER")


def test_registered_and_unregistered_mobiles_get_identical_answers(app, tree, make_user):
    user = make_user(union=tree.a1)
    answers = []
    for identifier in (user.mobile, "13799998888"):
        client = app.test_client()
        steps = [forgot(client, identifier, ip="10.3.0.1" if identifier == user.mobile else "10.3.0.2")]
        steps.append(client.get("/auth/reset"))
        steps.append(enter_code(client, identifier, "000000"))
        steps += [forgot(client, identifier, ip="10.3.0.9") for _ in range(5)]  # 6 in all: the last is refused
        answers.append([(r.status_code, r.location, normalized(r.get_data(as_text=True), identifier)) for r in steps])
    assert answers[0] == answers[1]
    assert [status for status, _, _ in answers[0]] == [302, 200, 200, 302, 302, 302, 302, 429]
    assert "Too many reset requests for this account" in answers[0][-1][2]
    assert len(RecordingSMS.sent) == 5  # only the registered number got texts


@pytest.fixture
def small_ip_limit(app_config):
    return {**app_config, "RESET_LIMIT_PER_IP": "3 per hour"}


def test_per_ip_limit_across_identifiers(tree, small_ip_limit, database_url):
    from classroom import create_app

    app = create_app("testing", DATABASE_URL=database_url, WTF_CSRF_ENABLED=False, **small_ip_limit)
    with app.app_context():
        client = app.test_client()
        statuses = [forgot(client, f"1370000000{n}", ip="10.4.0.1").status_code for n in range(4)]
        assert statuses == [302, 302, 302, 429]
        assert forgot(client, "13700000009", ip="10.4.0.2").status_code == 302
        db.session.remove()


def test_email_link_resets_once(app, client, tree, make_user):
    make_user(union=tree.a1, email="li@example.cn")
    assert forgot(client, "LI@example.cn").status_code == 302
    assert "If an account has this email address" in client.get("/auth/reset").get_data(as_text=True)
    [message] = RecordingMail.sent
    assert message["To"] == "li@example.cn"
    link = re.search(r"(/auth/reset/[\w-]+)", message.get_body(("plain",)).get_content()).group(1)
    page = app.test_client().get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and client.get("/me").status_code == 200
    assert app.test_client().get(link).status_code == 404
    assert can_log_in(app, "li@example.cn", NEW_PASSWORD)


def test_an_email_link_expires_after_the_configured_minutes(app, client, tree, make_user, monkeypatch):
    make_user(union=tree.a1, email="li@example.cn")
    forgot(client, "li@example.cn")
    link = re.search(r"(/auth/reset/[\w-]+)", RecordingMail.sent[-1].get_body(("plain",)).get_content()).group(1)
    stored = db.session.scalar(select(PasswordReset))
    assert stored.channel == "email"
    assert stored.expires_at - stored.created_at == timedelta(minutes=app.config["RESET_CODE_MINUTES"])
    clock(monkeypatch, stored.expires_at)
    assert app.test_client().get(link).status_code == 404
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert can_log_in(app, "li@example.cn", PASSWORD) and not can_log_in(app, "li@example.cn", NEW_PASSWORD)
    clock(monkeypatch, stored.expires_at - timedelta(seconds=1))  # a second earlier it still works
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_an_admin_issued_link_expires_after_a_day(app, tree, make_user, make_admin, monkeypatch):
    member = make_user("会员", union=tree.a1)
    admin = login_client(app, make_admin(tree.a1))
    page = admin.post(f"/unions/{tree.a1.id}/members/{member.id}/reset-link").get_data(as_text=True)
    link = re.search(r"(/auth/reset/[\w-]+)", page).group(1)
    stored = db.session.scalar(select(PasswordReset))
    assert stored.channel == "admin"
    assert stored.expires_at - stored.created_at == timedelta(hours=recovery.ADMIN_LINK_HOURS) == timedelta(hours=24)
    worker = app.test_client()
    clock(monkeypatch, stored.expires_at + timedelta(minutes=1))
    assert worker.get(link).status_code == 404
    assert worker.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert can_log_in(app, member.mobile, PASSWORD)
    clock(monkeypatch, stored.expires_at - timedelta(minutes=1))
    assert worker.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert can_log_in(app, member.mobile, NEW_PASSWORD)


def test_unknown_email_or_disabled_account_gets_nothing_and_the_same_answer(app, client, tree, make_user):
    make_user(union=tree.a1, email="li@example.cn")
    disabled = make_user(union=tree.a1, is_active=False)
    assert forgot(client, "nobody@example.cn").location == forgot(client, "li@example.cn").location
    assert forgot(client, disabled.mobile).status_code == 302
    assert len(RecordingMail.sent) == 1 and RecordingSMS.sent == []


def test_admin_issues_a_reset_link_for_a_member_in_scope(app, tree, make_user, make_admin):
    member = make_user("会员", union=tree.a1)
    member_device = login_client(app, member)
    admin = make_admin(tree.district_a)
    client = login_client(app, admin)
    response = client.post(f"/unions/{tree.district_a.id}/members/{member.id}/reset-link")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = re.search(r"(/auth/reset/[\w-]+)", response.get_data(as_text=True)).group(1)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset_link"))
    assert (event.actor_id, event.object_id, event.union_id) == (admin.id, member.id, tree.district_a.id)
    stored = db.session.scalar(select(PasswordReset))
    assert (stored.channel, stored.created_by_id) == ("admin", admin.id) and link.rsplit("/", 1)[1] != stored.token_hash
    worker = app.test_client()
    assert worker.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert member_device.get("/me").status_code == 302
    assert can_log_in(app, member.mobile, NEW_PASSWORD)


def test_reset_links_stay_within_the_admins_scope(app, tree, make_user, make_admin):
    member = make_user("会员", union=tree.a1)
    outsider = login_client(app, make_admin(tree.b1))
    assert outsider.post(f"/unions/{tree.b1.id}/members/{member.id}/reset-link").status_code == 404
    assert outsider.post(f"/unions/{tree.a1.id}/members/{member.id}/reset-link").status_code == 404
    worker = login_client(app, make_user("工人", union=tree.a1))
    assert worker.post(f"/unions/{tree.a1.id}/members/{member.id}/reset-link").status_code == 403
    assert db.session.scalar(select(PasswordReset)) is None
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scope.denied")).all()) == 2


def test_a_reset_link_never_hands_an_admin_more_than_they_manage(app, tree, make_user, make_admin):
    """A link gives its holder the account: a grassroots admin may not take over the site admin, a
    district admin or an instructor of another union who happen to be members of their union, nor an
    applicant who is not a member yet; a site admin may, and an instructor of their own union is fine."""
    from classroom.accounts.models import Role

    site_admin = make_user("平台管理员", union=tree.a1, role=(Role.SITE_ADMIN, tree.city))
    district_admin = make_user("区管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.district_a))
    peer_admin = make_user("同级管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.a1))
    teaches_elsewhere = make_user("外区教员", union=tree.a1, role=(Role.INSTRUCTOR, tree.b1))
    applicant = make_user("申请人", union=tree.a1, status="applied")
    teaches_here = make_user("本会教员", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1))
    grassroots = login_client(app, make_admin(tree.a1, "A1管理员"))
    for person in (site_admin, district_admin, peer_admin, teaches_elsewhere, applicant):
        page = grassroots.post(f"/unions/{tree.a1.id}/members/{person.id}/reset-link", follow_redirects=True)
        assert page.status_code == 200 and "Only a site administrator" in page.get_data(as_text=True), person
        assert "/auth/reset/" not in page.get_data(as_text=True)
    assert db.session.scalar(select(PasswordReset)) is None
    page = grassroots.post(f"/unions/{tree.a1.id}/members/{teaches_here.id}/reset-link").get_data(as_text=True)
    assert "/auth/reset/" in page
    boss = login_client(app, make_user("另一平台管理员", role=(Role.SITE_ADMIN, tree.city)))
    page = boss.post(f"/unions/{tree.a1.id}/members/{district_admin.id}/reset-link").get_data(as_text=True)
    assert "/auth/reset/" in page
    # A district admin may hand a link to a grassroots admin below them: a role they exercise anyway.
    below = make_user("基层管理员乙", union=tree.a1, role=(Role.UNION_ADMIN, tree.a1))
    district = login_client(app, make_admin(tree.district_a, "区管理员乙"))
    assert "/auth/reset/" in district.post(f"/unions/{tree.a1.id}/members/{below.id}/reset-link").get_data(
        as_text=True)
    assert {row.user_id for row in db.session.scalars(select(PasswordReset))} == {
        teaches_here.id, district_admin.id, below.id}


@pytest.fixture
def bare_app():
    """An app without a database of its own, for the adapters."""
    from classroom import create_app

    application = create_app("testing", DATABASE_URL="sqlite://")
    with application.app_context():
        yield application


def test_smtp_backend_delivers(bare_app, monkeypatch):
    from aiosmtpd.controller import Controller

    from classroom.mail import send_mail

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(bare_app.config, "MAIL_BACKEND", "smtp")
        monkeypatch.setitem(bare_app.config, "MAIL_PORT", port)
        assert send_mail("li@example.cn", "重置密码", "链接")
    finally:
        controller.stop()
    assert received and received[0].rcpt_tos == ["li@example.cn"]


def test_sms_log_backend_masks_the_mobile(bare_app, caplog, monkeypatch):
    from classroom.sms import send_sms

    monkeypatch.setitem(bare_app.config, "SMS_BACKEND", "log")
    with caplog.at_level("INFO", logger="classroom.sms"):
        assert send_sms("13912345678", "code 123456")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
