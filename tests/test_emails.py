# ruff: noqa: F811 - the competition builders are imported from tests.test_competitions
"""Emails and text messages that read well: every email is multipart (text and HTML) with Date, a
Message-ID on the site's domain and a one-click unsubscribe (RFC 8058) for its kind and person; each kind
says what happened, to what, when, in the recipient's language and timezone; text messages fit one
segment. Captured from a real SMTP server (aiosmtpd on 127.0.0.1) through the outbox dispatcher."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask_babel import lazy_gettext as _l
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from classroom.extensions import db
from classroom.notifications import jobs as outbox_jobs
from classroom.notifications.jobs import dispatch
from classroom.notifications.models import Notification, NotificationPreference, OutboundMessage
from classroom.notifications.services import notify
from classroom.notifications.texts import sms_text
from classroom.notifications.unsubscribe import SALT, token_for
from classroom.sms import length
from courses.catalog.models import ClassSession
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.reminders import jobs as reminders
from tests.factories import login_client
from tests.helpers import assert_inert, xss_payloads
from tests.test_competitions import electrician, make_competition, make_event  # noqa: F401
from tests.test_recovery import RecordingSMS

SITE = "https://classroom.example.cn"
NOW = datetime(2026, 3, 12, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai, 06:00 in Berlin
QUIET = {"notification_prefs": {"quiet_hours": ""}}
LONG_TITLE = "安全生产基础知识与职业健康防护实务暨班组长安全管理能力提升专题培训班（第三期·夜校）"


@pytest.fixture
def app_config():
    RecordingSMS.sent.clear()
    return {"PUBLIC_BASE_URL": SITE, "SMS_BACKEND": "tests.test_recovery.RecordingSMS"}


class Inbox:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.raw.append(envelope.original_content)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages to ``address``, parsed strictly (a defect raises)."""
        parsed = [email.message_from_bytes(raw, policy=email.policy.strict) for raw in self.raw]
        return [message for message in parsed if message["To"] == address]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    app.extensions.pop("mail_backend", None)
    yield inbox
    controller.stop()


def parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


class Sources(HTMLParser):
    """The elements that would load something (src=, a stylesheet) or run something (script)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "iframe", "link", "object", "embed") or any(name == "src" for name, _ in attrs):
            self.found.append(tag)


def loads_nothing(html: str) -> bool:
    parser = Sources()
    parser.feed(html)
    return not parser.found


class Links(HTMLParser):
    """The targets of the links (``<a href>``) of an HTML part."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.found += [value for name, value in attrs if name == "href" and value]


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.found


def one_email(inbox: Inbox, address: str):
    [message] = inbox.to(address)
    return message


def test_every_email_is_multipart_with_date_message_id_and_one_click_unsubscribe(app, make_user, smtp):
    person = make_user("李明", email="li@example.cn", timezone="UTC", **QUIET)
    notify(person, "enrollment.promoted", "seat:1", "A seat is yours", link="/courses/7", params={"course": "电工"}, now=datetime.now(UTC))
    db.session.commit()
    assert dispatch(now=datetime.now(UTC))["sent"] == 2  # the email and the text message
    [raw] = smtp.raw
    message = one_email(smtp, "li@example.cn")
    assert abs(parsedate_to_datetime(message["Date"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert re.fullmatch(r"<[^<>@\s]+@classroom\.example\.cn>", message["Message-ID"])
    unsubscribe = re.search(rb"^List-Unsubscribe: <(https://[^>\s]+)>\r?$", raw, re.M)  # one line, not encoded
    assert unsubscribe and unsubscribe.group(1).startswith(f"{SITE}/unsubscribe/".encode())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    text, html = parts(message)
    assert loads_nothing(html) and "<script" not in html.lower()
    for body in (text, html):  # why they got it, and where to change it
        assert f"{SITE}/me/notifications/settings" in body and "A seat from the waitlist" in body
        assert unsubscribe.group(1).decode() in body and f"{SITE}/courses/7" in body


@pytest.fixture
def class_tomorrow(tree, make_course, make_user, smtp):
    """A class at 17:00–19:00 UTC: 01:00–03:00 on Friday the 13th in Shanghai, 18:00–20:00 Thursday in Berlin."""
    course = make_course(LONG_TITLE + " <b>&</b>")
    db.session.add(ClassSession(course_id=course.id, starts_at=NOW + timedelta(hours=12),
                                ends_at=NOW + timedelta(hours=14), venue_name="市工人文化宫",
                                venue_address='人民路 1 号 <img src="https://evil.example/x.png">', credit_minutes=90))
    shanghai = make_user("李四", union=tree.a1, email="sh@example.cn", locale="zh_CN", timezone="Asia/Shanghai",
                         mobile="13712340001", **QUIET)
    berlin = make_user("Anna", union=tree.a1, email="be@example.cn", locale="en", timezone="Europe/Berlin",
                       mobile="13712340002", **QUIET)
    for worker in (shanghai, berlin):
        db.session.add(Enrollment(user_id=worker.id, course_id=course.id, status=EnrollmentStatus.ENROLLED,
                                  requested_at=NOW - timedelta(days=3), enrolled_at=NOW - timedelta(days=3)))
    db.session.commit()
    assert reminders.session_reminders(now=NOW) == 2
    assert dispatch(now=NOW)["sent"] == 4
    return course


def test_a_class_reminder_names_the_course_day_time_and_venue_in_the_workers_timezone(app, class_tomorrow, smtp):
    course = class_tomorrow
    for address, day, time in [("sh@example.cn", "2026年3月13日星期五", "01:00–03:00 (中国（上海）时间)"),
                               ("be@example.cn", "Thursday, March 12, 2026", "6:00 PM–8:00 PM (Germany (Berlin) Time)")]:
        text, html = (part.replace("\u202f", " ") for part in parts(one_email(smtp, address)))  # 6:00 PM
        for body in (text, html):
            assert day in body and time in body and "市工人文化宫" in body and "人民路 1 号" in body, body
            assert LONG_TITLE in body and f"{SITE}/courses/{course.id}" in body
        assert "<b>&</b>" in text and "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&" not in html
        assert loads_nothing(html)  # the address's markup is text, not an image to fetch
    assert "Thursday" not in parts(one_email(smtp, "sh@example.cn"))[0]


def test_a_class_reminder_text_fits_one_segment_with_the_course_and_time(app, class_tomorrow):
    texts = dict(RecordingSMS.sent)
    shanghai, berlin = texts["13712340001"], texts["13712340002"]
    for text in (shanghai, berlin):
        assert length(text) <= 70 and text.startswith("【职工学堂】") and "…" in text, text
        assert LONG_TITLE[:8] in text and "市工人文化宫" in text
    assert "3月13日" in shanghai and "01:00–03:00" in shanghai
    assert "Mar 12" in berlin and "6:00 PM–8:00 PM" in berlin.replace("\u202f", " ")


@pytest.mark.parametrize("title", ["电工", LONG_TITLE, LONG_TITLE * 3, "🔧" * 80])
def test_every_text_message_fits_one_segment(app, title):
    person = SimpleNamespace(locale="zh_CN", timezone="Asia/Shanghai")
    reminder = SimpleNamespace(kind="session.reminder", subject="x", body="x")
    facts = {"course": title, "venue": "东城区职工服务中心二楼多功能培训教室" * 2,
             "starts_at": "2026-03-12T11:00:00+00:00", "ends_at": "2026-03-12T13:00:00+00:00"}
    text = sms_text(reminder, person, SimpleNamespace(facts=facts))
    assert length(text) <= 70 and "19:00–21:00" in text and "3月12日" in text and title[:1] in text, text
    lead = "有空位了：您已报名"
    promoted = SimpleNamespace(kind="enrollment.promoted", subject=lead + title, body="")
    text = sms_text(promoted, person, SimpleNamespace(facts={"course": title}))  # the title is cut, not the rest
    assert length(text) <= 70 and text.startswith(f"【职工学堂】{lead}{title[:1]}"), text
    assert text.endswith(title if length(f"【职工学堂】{lead}{title}") <= 70 else "…"), text


def test_one_click_unsubscribe_stops_that_kind_for_that_person_only(app, make_user, smtp):
    one = make_user("甲", email="one@example.cn", timezone="UTC", **QUIET)
    two = make_user("乙", email="two@example.cn", timezone="UTC", **QUIET)
    for person in (one, two):
        notify(person, "enrollment.promoted", f"seat:{person.id}", "A seat", params={"course": "电工"}, now=datetime.now(UTC))
    db.session.commit()
    dispatch(now=datetime.now(UTC))
    link = one_email(smtp, "one@example.cn")["List-Unsubscribe"].strip("<>")
    path = link.removeprefix(SITE)
    app.config["WTF_CSRF_ENABLED"] = True  # the one-click POST needs no token all the same
    client = app.test_client()
    page = client.get(path)  # a mail scanner opening the link changes nothing
    assert page.status_code == 200 and 'value="One-Click"' in page.get_data(as_text=True)
    assert db.session.scalar(select(NotificationPreference)) is None
    assert client.post(path, data={}).status_code == 400
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # no log-in, no CSRF token
    assert done.status_code == 200 and "A seat from the waitlist" in done.get_data(as_text=True)
    [row] = db.session.scalars(select(NotificationPreference)).all()
    assert (row.user_id, row.kind, row.channel, row.is_enabled) == (one.id, "enrollment.promoted", "email", False)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # twice: the same
    for person in (one, two):
        notify(person, "enrollment.promoted", f"again:{person.id}", "Another seat", params={"course": "焊工"}, now=datetime.now(UTC))
        notify(person, "course.changed", f"changed:{person.id}", "Changed", params={"course": "焊工"}, now=datetime.now(UTC))
    db.session.commit()
    queued = {(m.user_id, m.kind, m.channel) for m in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.dedup_key.like("again:%") | OutboundMessage.dedup_key.like(
            "changed:%")))}
    assert queued == {(one.id, "enrollment.promoted", "sms"), (one.id, "course.changed", "email"),
                      (two.id, "enrollment.promoted", "email"), (two.id, "enrollment.promoted", "sms"),
                      (two.id, "course.changed", "email")}


def test_a_forged_or_foreign_token_is_refused(app, make_user):
    person = make_user(email="p@example.cn")
    good = token_for(person.id, "enrollment.promoted")
    foreign = URLSafeSerializer(app.config["SECRET_KEY"], salt="hours-transcript").dumps([person.id, "x"])
    wrong_shape = URLSafeSerializer(app.config["SECRET_KEY"], salt=SALT).dumps({"user": person.id})
    client = app.test_client()
    for token in (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), good.replace(".", ".x", 1), foreign,
                  wrong_shape, token_for(person.id + 999, "enrollment.promoted"), "not-a-token", "%00", "é" * 500):
        assert client.get(f"/unsubscribe/{token}").status_code in (400, 404), token
        answer = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code in (400, 404), token
    assert db.session.scalar(select(NotificationPreference)) is None


def test_each_kind_says_what_happened_to_what(app, tree, make_course, make_user, make_admin, instructor, smtp):
    from classroom.unions.memberships import approve_membership, reject_membership
    from classroom.unions.models import Membership
    from courses.enrollment.services import decide, drop, enroll, post_announcement

    now = datetime.now(UTC)
    course = make_course("叉车安全操作", capacity=1, sessions=1, enroll_closes_at=now + timedelta(days=5))
    first, second = (make_user(name, union=tree.a1, email=f"{name}@example.cn", timezone="UTC", **QUIET)
                     for name in ("seat", "wait"))
    enroll(first, course, now=now)
    enroll(second, course, now=now)
    db.session.commit()
    drop(db.session.scalar(select(Enrollment).filter_by(user_id=first.id)), now=now)  # the seat goes to "wait"
    post_announcement(course, "换教室 <script>alert(1)</script>", "50% 的同学请到 3 楼\n<img src=x onerror=alert(1)>",
                      include_waitlisted=False, actor=instructor, now=now)
    applicant = make_user("apply", union=tree.a1, status="applied", email="apply@example.cn", **QUIET)
    refused = make_user("refused", union=tree.a2, status="applied", email="refused@example.cn", **QUIET)
    admin = make_admin(tree.city)
    approve_membership(db.session.scalar(select(Membership).filter_by(user_id=applicant.id)), actor=admin, now=now)
    reject_membership(db.session.scalar(select(Membership).filter_by(user_id=refused.id)), "照片不清楚", actor=admin,
                      now=now)
    pending = make_course("高压电工", requires_approval=True)
    enroll(first, pending, now=now)
    db.session.commit()
    decide(db.session.scalar(select(Enrollment).filter_by(user_id=first.id, course_id=pending.id)), False,
           actor=instructor, now=now, reason="名额已满")
    notify(first, "certificate.issued", "cert:1", _l("Your certificate for %(course)s is ready"),
           params={"course": "叉车安全操作", "serial": "ZG-2026-000123"}, link="/me/certificates", now=now)
    db.session.commit()
    dispatch(now=now)
    expect = {"wait@example.cn": ["叉车安全操作", "A seat in", f"{SITE}/courses/{course.id}"],
              "apply@example.cn": ["华东机电工会", "A1-", f"{SITE}/me"],
              "refused@example.cn": ["东城卫生中心工会", "照片不清楚"],
              "seat@example.cn": ["高压电工", "名额已满", "ZG-2026-000123", "叉车安全操作", f"{SITE}/me/certificates"]}
    for address, words in expect.items():
        texts = [parts(message) for message in smtp.to(address)]
        for word in words:
            assert any(word in text and word.replace("&", "&amp;") in html for text, html in texts), (address, word,
                                                                                                   texts)
    announcement = [parts(m) for m in smtp.to("wait@example.cn") if "换教室" in m["Subject"]]
    [(text, html)] = announcement
    assert "50% 的同学请到 3 楼" in text and "叉车安全操作" in text and "换教室" in html
    assert_inert(html)
    assert loads_nothing(html)


def test_announcements_of_any_markup_send_inert_html(app, make_course, make_user, tree, instructor, smtp):
    from courses.enrollment.services import enroll, post_announcement

    worker = make_user("学员", union=tree.a1, email="w@example.cn", timezone="UTC", **QUIET)
    course = make_course("电工")
    enroll(worker, course, now=datetime.now(UTC))
    for payload in xss_payloads()[:20]:
        post_announcement(course, payload[:100], payload, include_waitlisted=False, actor=instructor,
                          now=datetime.now(UTC))
    db.session.commit()
    dispatch(now=datetime.now(UTC), batch=50)
    messages = smtp.to("w@example.cn")
    assert len(messages) == 20
    for message in messages:
        html = parts(message)[1]
        assert_inert(html)
        assert loads_nothing(html)


def test_the_digest_lists_its_items_with_links_and_unsubscribes_from_digests(app, make_user, smtp):
    person = make_user("摘要", email="digest@example.cn", timezone="UTC", **QUIET)
    db.session.add(NotificationPreference(user_id=person.id, kind="course.announcement", channel="email",
                                          cadence="daily"))
    db.session.commit()
    day = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    for index in range(2):
        notify(person, "course.announcement", f"d{index}", _l("%(course)s: %(title)s"), f"正文{index}",
               link=f"/courses/{index + 40}", params={"course": "电工", "title": f"第{index}条"}, now=day)
    db.session.commit()
    assert outbox_jobs.digest_job(now=day + timedelta(days=1)) == 1
    dispatch(now=day + timedelta(days=1))
    message = one_email(smtp, "digest@example.cn")
    text, html = parts(message)
    for index in range(2):
        assert f"电工: 第{index}条" in text and f"正文{index}" in text and f"{SITE}/courses/{index + 40}" in html
    assert "daily or weekly digest" in text
    path = message["List-Unsubscribe"].strip("<>").removeprefix(SITE)
    assert app.test_client().post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    row = db.session.scalar(select(NotificationPreference).filter_by(user_id=person.id))
    assert row.kind == "course.announcement" and row.is_enabled is False


def test_a_message_made_before_facts_were_kept_is_still_sent(app, make_user, smtp):
    person = make_user("旧", email="old@example.cn", timezone="UTC", **QUIET)
    notify(person, "session.reminder", "old", "您的课程明天开始", "市工人文化宫", link="/courses/1", now=datetime.now(UTC))
    db.session.execute(Notification.__table__.update().values(facts=None))
    db.session.commit()
    dispatch(now=datetime.now(UTC))
    text, html = parts(one_email(smtp, "old@example.cn"))
    assert "您的课程明天开始" in text and "市工人文化宫" in html and f"{SITE}/courses/1" in text


def test_a_plain_mail_is_multipart_with_date_and_message_id(app, smtp):
    from classroom.mail import send_mail

    assert send_mail("reset@example.cn", "重置密码", f"请打开链接：\n\n{SITE}/auth/reset/abc\n\n不是您？请忽略。")
    message = one_email(smtp, "reset@example.cn")
    assert message["Date"] and message["Message-ID"].endswith("@classroom.example.cn>")
    text, html = parts(message)
    assert f"{SITE}/auth/reset/abc" in text and links(html) == [f"{SITE}/auth/reset/abc"]
    assert message["List-Unsubscribe"] is None  # a password reset is not something to unsubscribe from


def test_the_notifications_page_links_to_notification_settings(app, make_user):
    person = make_user(locale="zh_CN")
    page = login_client(app, person).get("/me/notifications").get_data(as_text=True)
    link = re.search(r'href="/me/notifications/settings">([^<]+)</a>', page)
    assert link and link.group(1) == "通知设置"


def test_every_kind_has_its_template_in_both_languages(app):
    from classroom.notifications.emails import render
    from classroom.registry import registry

    at = datetime(2026, 3, 12, 5, 0, tzinfo=UTC)
    for kind in [*registry(app).kinds, "digest"]:
        app.jinja_env.get_template(f"email/{kind}.txt")  # its own, not the generic one (TemplateNotFound)
        message = SimpleNamespace(kind=kind, subject="标题 <i>", body="正文", facts={}, created_at=at)
        for locale in ("zh_CN", "en"):
            person = SimpleNamespace(id=1, locale=locale, timezone="Asia/Shanghai", real_name="李四")
            text, html = render(message, person, SimpleNamespace(facts={}, link="/courses/1", created_at=at))
            assert "李四" in text and f"{SITE}/courses/1" in html and "<i>" not in html, kind


def test_a_round_reminder_names_the_round_its_time_and_place(app, tree, make_competition, make_event, electrician,
                                                            make_admin, smtp):
    from zoneinfo import ZoneInfo

    from courses.competitions import approvals, entries, jobs
    from courses.competitions.models import Stage

    now = datetime.now(UTC)
    competition = make_competition("全市职工职业技能大赛")
    worker = electrician("参赛者", tree.a1, email="round@example.cn", mobile="13712340009", locale="zh_CN",
                         timezone="Asia/Shanghai", **QUIET)
    entry = entries.enter(worker, make_event(competition), now=now)
    approvals.confirm(approvals.approve(entry, actor=make_admin(tree.city), now=now), actor=make_admin(tree.city, "市总"),
                      now=now)
    starts = now + timedelta(hours=20)
    db.session.add(Stage(competition_id=competition.id, name="实操决赛", kind="practical", venue="市职工技能实训基地",
                         starts_at=starts, ends_at=starts + timedelta(hours=3)))
    db.session.commit()
    assert jobs.stage_reminders(now=now) == 1
    dispatch(now=now)
    clock = starts.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    [text, html] = [parts(m) for m in smtp.to("round@example.cn") if "实操决赛" in m["Subject"]][0]
    for body in (text, html):
        assert "实操决赛" in body and "全市职工职业技能大赛" in body and "市职工技能实训基地" in body and clock in body
    [(_mobile, sms)] = RecordingSMS.sent  # (the entry's steps are emailed only)
    assert length(sms) <= 70 and "实操决赛" in sms and clock in sms and "市职工" in sms, sms
