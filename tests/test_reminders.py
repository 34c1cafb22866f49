"""Notifications beyond the app: channels, preferences, quiet hours, expiry, retries, digests,
reminder scans, the leader lease and the calendar feed."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import click
import pytest
from aiosmtpd.controller import Controller
from flask.cli import FlaskGroup, run_command
from icalendar import Calendar
from sqlalchemy import func, select, update

from classroom import scheduler
from classroom.extensions import db
from classroom.notifications import jobs as outbox_jobs
from classroom.notifications.delivery import PermanentFailure
from classroom.notifications.jobs import dispatch
from classroom.notifications.models import Notification, NotificationPreference, OutboundMessage, SchedulerLease
from classroom.notifications.preferences import quiet_until
from classroom.notifications.services import notify
from classroom.registry import registry
from classroom.scheduler import acquire_lease, current_leader
from courses.catalog.models import ClassSession, CourseFollow
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.enrollment.services import enroll
from courses.reminders import jobs as reminders
from tests.factories import login_client
from tests.helpers import data_elements, sql_statements

SHANGHAI_23H = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 23:00 in Asia/Shanghai


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"

    def keys(self) -> list[str]:
        return [line.split(":", 1)[1].strip() for message in self.messages for line in message.splitlines()
                if line.lower().startswith("x-classroom-dedup-key:")]

    def parsed(self) -> list[email.message.EmailMessage]:
        """The messages decoded: headers and the text body as the recipient reads them."""
        return [email.message_from_bytes(raw.encode("utf-8"), policy=email.policy.default) for raw in self.messages]


def text_of(message: email.message.EmailMessage) -> str:
    """The text part of a (multipart/alternative) message."""
    return message.get_body(("plain",)).get_content()


class Refusing(Inbox):
    """Answers RCPT TO with 550 (no such mailbox: permanent) or 450 (busy: try later) for the
    addresses listed, and accepts the others."""

    def __init__(self, refuse: dict[str, str]) -> None:
        super().__init__()
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp(inbox: Inbox) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1 (aiosmtpd); the app sends to it."""
    inbox = Inbox()
    controller, port = start_smtp(inbox)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    app.extensions.pop("mail_backend", None)
    yield inbox
    controller.stop()


def outbox(status=None):
    statement = select(OutboundMessage).order_by(OutboundMessage.id)
    if status:
        statement = statement.where(OutboundMessage.status == status)
    return db.session.scalars(statement).all()


def test_notify_fans_out_by_preference(make_user):
    person = make_user(email="li@example.cn")
    notify(person, "enrollment.promoted", "k1", "A seat is yours", now=datetime.now(UTC))
    db.session.add(NotificationPreference(user_id=person.id, kind="course.announcement", channel="email",
                                          is_enabled=False))
    notify(person, "course.announcement", "k2", "An announcement", now=datetime.now(UTC))
    notify(person, "enrollment.promoted", "k1", "again", now=datetime.now(UTC))  # the same key: nothing more
    db.session.commit()
    assert sorted((m.channel, m.dedup_key) for m in outbox()) == [("email", "k1:email"), ("sms", "k1:sms")]
    no_email = make_user("无邮箱")
    notify(no_email, "course.announcement", "k3", "x", now=datetime.now(UTC))
    db.session.commit()
    assert not [m for m in outbox() if m.user_id == no_email.id]


def test_dispatch_sends_over_smtp_once(make_user, smtp):
    person = make_user(email="zhang@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(3):
        notify(person, "course.announcement", f"announce:{index}", f"通知 {index}", "正文", now=datetime.now(UTC))
    db.session.commit()
    result = dispatch(now=datetime.now(UTC))
    assert result["sent"] == 3
    assert sorted(smtp.keys()) == [f"announce:{i}:email" for i in range(3)]
    assert dispatch(now=datetime.now(UTC))["sent"] == 0
    assert {m.status for m in outbox()} == {"sent"}


def test_smtp_down_for_hours_retries_with_capped_backoff_then_delivers_once(app, make_user):
    """SMTP down for over three hours (more failures than any attempt limit): the message stays
    queued, waits 30 s, 60 s … at most an hour between attempts, and arrives once when the server is back."""
    person = make_user(email="wang@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    notify(person, "course.announcement", "retry", "通知", now=datetime.now(UTC))
    db.session.commit()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), OUTBOX_BACKOFF_SECONDS=30,
                      OUTBOX_BACKOFF_MAX_SECONDS=3600)  # nothing listens on that port: connection refused
    app.extensions.pop("mail_backend", None)
    start = now = datetime.now(UTC)
    waits = []
    for _ in range(12):
        assert dispatch(now=now) == {"sent": 0, "retry": 1, "failed": 0, "waiting": 0, "dropped": 0}
        message = outbox()[0]
        assert message.status == "queued" and "Connection" in message.last_error
        waits.append((message.next_attempt_at - now).total_seconds())
        assert dispatch(now=message.next_attempt_at - timedelta(seconds=1))["retry"] == 0  # not before its time
        now = message.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600]
    assert now - start > timedelta(hours=3) and outbox()[0].attempts == 12
    inbox = Inbox()
    controller, port = start_smtp(inbox)
    try:
        app.config["MAIL_PORT"] = port
        app.extensions.pop("mail_backend", None)
        assert dispatch(now=now)["sent"] == 1
        assert dispatch(now=now + timedelta(hours=2))["sent"] == 0
    finally:
        controller.stop()
    assert inbox.keys() == ["retry:email"]
    message = outbox()[0]
    assert message.status == "sent" and message.attempts == 13 and message.last_error is None


def test_an_expiring_message_is_dropped_during_an_outage(app, make_user):
    person = make_user(email="exp@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    now = datetime.now(UTC)
    notify(person, "session.reminder", "soon", "课程即将开始", now=now, expires_at=now + timedelta(minutes=5))
    db.session.commit()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    app.extensions.pop("mail_backend", None)
    assert dispatch(now=now)["retry"] == 1
    assert dispatch(now=now + timedelta(minutes=5))["dropped"] == 0  # dropped when claimed, not retried
    assert outbox()[0].status == "dropped"


def test_permanent_failures_fail_and_transient_ones_retry(app, make_user):
    """A 5xx refusal of the recipient, or no address left, fails the message (retrying cannot help);
    a 4xx answer is retried; an SMS gateway says which by raising PermanentFailure or anything else."""
    refusing = Refusing({"nobody@example.cn": "550 5.1.1 No such mailbox", "busy@example.cn": "450 4.2.1 Busy"})
    controller, port = start_smtp(refusing)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    app.extensions.pop("mail_backend", None)

    class Gateway:
        def send(self, mobile, text):
            if mobile == "13900001111":
                raise PermanentFailure("the number does not exist")
            raise TimeoutError("the gateway timed out")

    app.extensions["sms_backend"] = {app.config["SMS_BACKEND"]: Gateway()}
    quiet = {"timezone": "UTC", "notification_prefs": {"quiet_hours": ""}}
    people = {name: make_user(name, email=f"{name}@example.cn", mobile=mobile, **quiet)
              for name, mobile in [("nobody", "13900001111"), ("busy", "13900002222"), ("gone", "13900003333")]}
    for name, person in people.items():
        notify(person, "enrollment.promoted", f"seat:{name}", "有空位了", now=datetime.now(UTC))  # email and SMS by default
    db.session.commit()
    people["gone"].email = None  # removed the address after the message was queued
    db.session.commit()
    try:
        result = dispatch(now=datetime.now(UTC))
    finally:
        controller.stop()
    status = {message.dedup_key: (message.status, message.attempts) for message in outbox()}
    assert status == {"seat:nobody:email": ("failed", 1), "seat:nobody:sms": ("failed", 1),
                      "seat:busy:email": ("queued", 1), "seat:busy:sms": ("queued", 1),
                      "seat:gone:email": ("failed", 1), "seat:gone:sms": ("queued", 1)}
    assert result["failed"] == 3 and result["retry"] == 3
    assert "550" in db.session.scalar(select(OutboundMessage.last_error)
                                      .where(OutboundMessage.dedup_key == "seat:nobody:email"))


def test_a_message_that_cannot_be_built_or_encoded_fails_at_once():
    import email.errors
    import smtplib

    from classroom.notifications.delivery import is_permanent

    for error in (smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"), ValueError("bad header"),
                  email.errors.HeaderParseError("bad address"), UnicodeEncodeError("ascii", "张", 0, 1, "no")):
        assert is_permanent(error), error
    for error in (ConnectionRefusedError(), TimeoutError(), smtplib.SMTPServerDisconnected("gone"),
                  smtplib.SMTPSenderRefused(550, b"sender refused", "noreply@example.cn")):
        assert not is_permanent(error), error  # the server's or the settings' trouble: retried


def test_quiet_hours_delay_email_but_not_in_app(make_user, smtp):
    person = make_user(email="night@example.cn", timezone="Asia/Shanghai")
    notify(person, "course.announcement", "late", "晚上的通知", now=SHANGHAI_23H)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1  # in-app at once
    assert dispatch(now=SHANGHAI_23H)["waiting"] == 1
    seven = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 07:00 the next morning in Shanghai
    assert outbox()[0].next_attempt_at == seven
    assert dispatch(now=seven - timedelta(minutes=1))["sent"] == 0
    assert dispatch(now=seven)["sent"] == 1 and smtp.keys() == ["late:email"]
    assert quiet_until(person, datetime(2026, 3, 10, 4, 0, tzinfo=UTC)) is None  # noon in Shanghai


def test_expired_reminders_are_dropped_not_delayed(make_user, smtp):
    person = make_user(email="shift@example.cn", timezone="Asia/Shanghai", mobile="13912340000")
    class_at_one = SHANGHAI_23H + timedelta(hours=2)
    notify(person, "session.reminder", "night-class", "课程2小时后开始", now=SHANGHAI_23H, expires_at=class_at_one)
    db.session.commit()
    dispatch(now=SHANGHAI_23H)
    assert {m.status for m in outbox()} == {"dropped"} and smtp.keys() == []


def test_daily_digest_gathers_a_days_items(make_user, smtp):
    person = make_user(email="digest@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    db.session.add(NotificationPreference(user_id=person.id, kind="course.announcement", channel="email",
                                          cadence="daily"))
    db.session.commit()
    day = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    for index in range(3):
        notify(person, "course.announcement", f"d{index}", f"第{index}条", now=day)
    db.session.commit()
    assert {m.status for m in outbox()} == {"digest"}
    assert outbox_jobs.digest_job(now=day + timedelta(hours=2)) == 0  # the day is not over
    assert outbox_jobs.digest_job(now=day + timedelta(days=1)) == 1
    dispatch(now=day + timedelta(days=1))
    assert smtp.keys() == [f"digest:{person.id}:2026-03-11"]
    [message] = smtp.parsed()
    assert message["To"] == "digest@example.cn" and "3" in message["Subject"]
    body = text_of(message)
    assert all(f"第{i}条" in body for i in range(3))
    assert {m.status for m in outbox() if m.kind == "course.announcement"} == {"digested"}
    assert outbox_jobs.digest_job(now=day + timedelta(days=2)) == 0


def test_expired_items_are_dropped_not_sent_in_a_digest(make_user, smtp):
    person = make_user(email="exp-digest@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for kind in ("course.announcement", "session.reminder"):
        db.session.add(NotificationPreference(user_id=person.id, kind=kind, channel="email", cadence="daily"))
    db.session.commit()
    day = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    notify(person, "course.announcement", "keep:1", "保留的通知一", now=day)
    notify(person, "session.reminder", "class-at-noon", "中午的课", now=day, expires_at=day + timedelta(hours=3))
    notify(person, "course.announcement", "keep:2", "保留的通知二", now=day)
    db.session.commit()
    assert outbox_jobs.digest_job(now=day + timedelta(days=1)) == 1
    dispatch(now=day + timedelta(days=1))
    [message] = smtp.parsed()
    body = text_of(message)
    assert "保留的通知一" in body and "保留的通知二" in body and "中午的课" not in body
    assert "2" in message["Subject"]
    status = {m.dedup_key: m.status for m in outbox()}
    assert status["class-at-noon:email"] == "dropped" and status["keep:1:email"] == "digested"


def test_weekly_digest_goes_out_on_mondays_with_the_weeks_items(make_user, smtp):
    person = make_user(email="weekly@example.cn", timezone="Asia/Shanghai", notification_prefs={"quiet_hours": ""})
    db.session.add_all([
        NotificationPreference(user_id=person.id, kind="course.announcement", channel="email", cadence="weekly"),
        NotificationPreference(user_id=person.id, kind="course.changed", channel="email", cadence="daily"),
    ])
    db.session.commit()
    tuesday = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on Tuesday 10 March in Shanghai
    for offset, text in [(0, "周二的通知"), (2, "周四的通知"), (5, "周日的通知")]:
        notify(person, "course.announcement", f"week:{offset}", text, now=tuesday + timedelta(days=offset))
    notify(person, "course.changed", "changed", "课程有变动", now=tuesday + timedelta(days=1))  # Wednesday, daily
    db.session.commit()
    for offset in range(1, 6):  # Wednesday to Sunday: the daily item leaves on Thursday, the weekly ones wait
        outbox_jobs.digest_job(now=tuesday + timedelta(days=offset))
        dispatch(now=tuesday + timedelta(days=offset))
    [daily] = smtp.parsed()
    assert "课程有变动" in text_of(daily) and "周二的通知" not in text_of(daily)
    assert {m.status for m in outbox() if m.kind == "course.announcement"} == {"digest_wk"}
    monday = datetime(2026, 3, 15, 16, 5, tzinfo=UTC)  # 00:05 on Monday 16 March in Shanghai
    assert outbox_jobs.digest_job(now=monday - timedelta(minutes=10)) == 0  # still Sunday there
    assert outbox_jobs.digest_job(now=monday) == 1
    dispatch(now=monday)
    assert outbox_jobs.digest_job(now=monday + timedelta(hours=1)) == 0
    weekly = smtp.parsed()[1]
    assert smtp.keys()[1] == f"digest:{person.id}:2026-03-16"
    body = text_of(weekly)
    assert all(text in body for text in ("周二的通知", "周四的通知", "周日的通知")) and "3" in weekly["Subject"]
    assert {m.status for m in outbox() if m.kind == "course.announcement"} == {"digested"}
    assert len(smtp.messages) == 2


def test_preferences_page_saves_choices(app, make_user):
    person = make_user(email="pref@example.cn")
    client = login_client(app, person)
    assert "Class reminders" in client.get("/me/notifications/settings").get_data(as_text=True)
    client.post("/me/notifications/settings", data={"session.reminder:email": "on", "session.reminder:cadence": "weekly",
                                                    "quiet_hours": "23:00-06:30"})
    rows = {(row.kind, row.channel): row for row in db.session.scalars(select(NotificationPreference))}
    assert rows[("session.reminder", "email")].is_enabled and rows[("session.reminder", "email")].cadence == "weekly"
    assert not rows[("session.reminder", "sms")].is_enabled
    db.session.refresh(person)
    assert person.notification_prefs["quiet_hours"] == "23:00-06:30"
    bad = client.post("/me/notifications/settings", data={"quiet_hours": "late"}, follow_redirects=True)
    assert "Write quiet hours as" in bad.get_data(as_text=True)


def test_sms_preferences_per_kind(app, make_user):
    """Text messages are on or off per kind: switched on for announcements (off by default), off for
    waitlist seats (on by default)."""
    person = make_user(email="sms@example.cn")
    client = login_client(app, person)
    page = client.get("/me/notifications/settings").get_data(as_text=True)
    assert 'name="enrollment.promoted:sms" checked' in page and 'name="course.announcement:sms" checked' not in page
    client.post("/me/notifications/settings", data={
        "course.announcement:email": "on", "course.announcement:sms": "on",
        "enrollment.promoted:email": "on", "quiet_hours": ""})
    notify(person, "course.announcement", "ann", "通知", now=datetime.now(UTC))
    notify(person, "enrollment.promoted", "seat", "有空位了", now=datetime.now(UTC))
    db.session.commit()
    assert sorted((m.kind, m.channel) for m in outbox()) == [
        ("course.announcement", "email"), ("course.announcement", "sms"), ("enrollment.promoted", "email")]
    page = client.get("/me/notifications/settings").get_data(as_text=True)
    assert 'name="course.announcement:sms" checked' in page and 'name="enrollment.promoted:sms" checked' not in page


def test_settings_page_links_to_notification_settings(app, make_user):
    client = login_client(app, make_user())
    page = client.get("/me/settings").get_data(as_text=True)
    assert 'href="/me/notifications/settings"' in page


def test_event_notifications_queue_email_for_those_who_chose_it(app, tree, make_course, make_user, make_admin,
                                                                 instructor):
    """Course published → its instructor; check-in opened → the enrolled workers: in-app for all,
    an email in the outbox for the people whose choice (or the kind's default) is email."""
    from courses.attendance.checkin import open_checkin
    from courses.catalog.review import publish

    now = datetime.now(UTC)
    instructor.email = "teacher@example.cn"
    course = make_course(status="pending", sessions=0)
    admin = make_admin(tree.city, email="admin@example.cn")
    publish(course, actor=admin, now=now)
    db.session.commit()
    assert [(m.user_id, m.kind, m.channel, m.status) for m in outbox()] == [
        (instructor.id, "course.published", "email", "queued")]

    session = ClassSession(course_id=course.id, starts_at=now + timedelta(minutes=10),
                           ends_at=now + timedelta(hours=2), venue_name="市工人文化宫", credit_minutes=90)
    db.session.add(session)
    chooser = make_user("要邮件", union=tree.a1, email="yes@example.cn")
    other = make_user("不要邮件", union=tree.a1, email="no@example.cn")
    for worker in (chooser, other):
        db.session.add(Enrollment(user_id=worker.id, course_id=course.id, status=EnrollmentStatus.ENROLLED,
                                  requested_at=now, enrolled_at=now))
    db.session.add(NotificationPreference(user_id=chooser.id, kind="attendance.checkin_open", channel="email"))
    db.session.commit()
    open_checkin(session, actor=instructor, now=now)
    db.session.commit()
    in_app = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "attendance.checkin_open")))
    assert in_app == {chooser.id, other.id}
    queued = [(m.user_id, m.channel) for m in outbox() if m.kind == "attendance.checkin_open"]
    assert queued == [(chooser.id, "email")]


@pytest.fixture
def course_scene(tree, make_course, make_user):
    now = datetime.now(UTC)
    course = make_course(lessons=1, mode="blended", enroll_closes_at=now + timedelta(hours=30))
    soon = ClassSession(course_id=course.id, starts_at=now + timedelta(hours=20),
                        ends_at=now + timedelta(hours=22), venue_name="东城区职工服务站", credit_minutes=90)
    very_soon = ClassSession(course_id=course.id, starts_at=now + timedelta(minutes=90),
                             ends_at=now + timedelta(hours=3), venue_name="市工人文化宫", credit_minutes=90)
    db.session.add_all([soon, very_soon])
    workers = [make_user(f"学员{i}", union=tree.a1, email=f"w{i}@example.cn") for i in range(3)]
    for worker in workers:
        enroll(worker, course, now=now - timedelta(days=10))
    follower = make_user("关注者", union=tree.a1)
    db.session.add(CourseFollow(user_id=follower.id, course_id=course.id))
    db.session.commit()
    return course, workers, follower, now


def test_every_scan_twice_creates_nothing_new(course_scene, make_user, tree, make_admin, instructor):
    course, workers, follower, now = course_scene
    make_user("申请人", union=tree.a1, status="applied")
    make_admin(tree.a1)
    scans = [reminders.session_reminders, reminders.idle_reminders, reminders.closing_reminders,
             reminders.approver_digest]
    first = [scan(now=now) for scan in scans]
    second = [scan(now=now) for scan in scans]
    assert first[0] == 6  # 3 workers × (24 h for one session, 2 h for the other)
    assert first[1] == 3 and first[2] == 1 and first[3] >= 1
    assert second == [0, 0, 0, 0]
    kinds = dict(db.session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all())
    assert kinds["session.reminder"] == 6 and kinds["course.closing"] == 1
    expiring = db.session.scalars(select(Notification.expires_at).where(Notification.kind == "session.reminder")).all()
    assert all(moment is not None for moment in expiring)


def session_reminder_keys() -> set[str]:
    return set(db.session.scalars(select(Notification.dedup_key).where(Notification.kind == "session.reminder")))


def test_who_enrolls_after_a_wave_is_reminded_by_the_next_scan(course_scene, make_user, tree):
    """A late sign-up (or a waitlist promotion) after the 24 h wave gets its own 24 h reminder at
    the next scan; nobody already reminded gets a second one."""
    course, workers, _follower, now = course_scene
    soon = db.session.scalar(select(ClassSession).where(ClassSession.venue_name == "东城区职工服务站"))
    assert reminders.session_reminders(now=now) == 6
    late = make_user("晚报名", union=tree.a1)
    enroll(late, course, now=now + timedelta(minutes=30))
    db.session.commit()
    assert reminders.session_reminders(now=now + timedelta(minutes=35)) == 2  # its 24 h and 2 h reminders
    assert f"session:{soon.id}:24h:{late.id}" in session_reminder_keys()
    assert reminders.session_reminders(now=now + timedelta(minutes=40)) == 0
    assert len(session_reminder_keys()) == 8


def test_an_enrollment_committed_as_a_wave_is_marked_is_not_missed(course_scene, make_user, tree):
    """Its enrolled_at is older than the wave, but its row was not visible to the scan that marked it."""
    course, workers, _follower, now = course_scene
    soon = db.session.scalar(select(ClassSession).where(ClassSession.venue_name == "东城区职工服务站"))
    racer = make_user("同时报名", union=tree.a1)
    assert reminders.session_reminders(now=now) == 6
    db.session.add(Enrollment(user_id=racer.id, course_id=course.id, status=EnrollmentStatus.ENROLLED,
                              requested_at=now - timedelta(seconds=2), enrolled_at=now - timedelta(seconds=2)))
    db.session.commit()
    reminders.session_reminders(now=now + timedelta(minutes=1))
    assert f"session:{soon.id}:24h:{racer.id}" in session_reminder_keys()


def test_a_repeated_scan_stays_two_statements(course_scene, make_user, tree):
    """After the waves and a late sign-up went out, and with an inactive late sign-up that is never
    reminded, a scan marks nothing, finds nobody and inserts nothing: two indexed statements."""
    course, _workers, _follower, now = course_scene
    reminders.session_reminders(now=now)
    late = make_user("晚报名", union=tree.a1)
    enroll(late, course, now=now + timedelta(minutes=1))
    gone = make_user("已停用", union=tree.a1)
    enroll(gone, course, now=now + timedelta(minutes=1))
    gone.is_active = False
    db.session.commit()
    assert reminders.session_reminders(now=now + timedelta(minutes=2)) == 2
    with sql_statements() as quiet:
        reminders.session_reminders(now=now + timedelta(minutes=3))
    assert len(quiet) == 2, quiet


def test_a_session_moved_later_is_reminded_again_at_its_new_time(course_scene, make_admin, instructor, tree, smtp):
    from courses.catalog.review import decide_revision
    from courses.catalog.sessions import update_session

    course, workers, _follower, now = course_scene
    soon = db.session.scalar(select(ClassSession).where(ClassSession.venue_name == "东城区职工服务站"))
    assert reminders.session_reminders(now=now) == 6
    first_key = f"session:{soon.id}:24h:{workers[0].id}"
    queued_before = db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.dedup_key == first_key + ":email"))
    assert queued_before == 1
    later = soon.starts_at + timedelta(days=5)
    fields = {name: getattr(soon, name) for name in ("title", "venue_name", "venue_address", "credit_minutes")}
    revision = update_session(soon, {**fields, "starts_at": later, "ends_at": later + timedelta(hours=2)},
                              actor=instructor, now=now)
    db.session.commit()
    decide_revision(revision, True, actor=make_admin(tree.city), now=now)
    db.session.commit()
    old = db.session.scalars(select(OutboundMessage).where(OutboundMessage.dedup_key.like(first_key + ":email%"))).all()
    assert [(message.status, message.dedup_key.startswith(first_key + ":email:moved-")) for message in old] == [
        ("dropped", True)]  # the copy naming the old time is not sent
    assert reminders.session_reminders(now=now + timedelta(minutes=5)) == 0  # not yet in its new window
    again = later - timedelta(hours=23)
    assert reminders.session_reminders(now=again) == 3
    renewed = db.session.scalar(select(Notification).where(Notification.dedup_key == first_key))
    assert renewed.expires_at == later
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.dedup_key.like(first_key + ":moved-%"))) == 1  # the first one stays in the bell


def test_idle_reminder_at_most_once_in_any_seven_days(tree, make_course, make_user):
    """Scans on Sunday 23:50 and Monday 00:05 (a new ISO week) make one reminder, not two; the next
    comes no sooner than 7 days after the first."""
    course = make_course(lessons=1, mode="online")
    worker = make_user("久未学习", union=tree.a1, email="idle@example.cn")
    sunday = datetime(2026, 3, 15, 23, 50, tzinfo=UTC)
    assert sunday.isocalendar().week != (sunday + timedelta(minutes=15)).isocalendar().week
    db.session.add(Enrollment(user_id=worker.id, course_id=course.id, status=EnrollmentStatus.ENROLLED,
                              requested_at=sunday - timedelta(days=20), enrolled_at=sunday - timedelta(days=20)))
    db.session.commit()
    assert reminders.idle_reminders(now=sunday) == 1
    assert reminders.idle_reminders(now=sunday + timedelta(minutes=15)) == 0  # Monday 00:05
    assert reminders.idle_reminders(now=sunday + timedelta(days=3)) == 0
    assert reminders.idle_reminders(now=sunday + timedelta(days=7, seconds=-1)) == 0
    assert reminders.idle_reminders(now=sunday + timedelta(days=7)) == 1
    assert reminders.idle_reminders(now=sunday + timedelta(days=7, minutes=15)) == 0
    keys = db.session.scalars(select(Notification.dedup_key).where(Notification.kind == "study.idle")
                              .order_by(Notification.id)).all()
    assert len(keys) == 2 and len(set(keys)) == 2
    emails = [m for m in outbox() if m.kind == "study.idle"]
    assert len(emails) == 2


def test_idle_reminder_waits_for_seven_days_without_study(tree, make_course, make_user):
    course = make_course(lessons=1, mode="blended")
    worker = make_user(union=tree.a1)
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    enrollment = Enrollment(user_id=worker.id, course_id=course.id, status=EnrollmentStatus.ENROLLED,
                            requested_at=now - timedelta(days=30), enrolled_at=now - timedelta(days=30),
                            last_studied_at=now - timedelta(days=6))
    db.session.add(enrollment)
    db.session.commit()
    assert reminders.idle_reminders(now=now) == 0  # studied 6 days ago
    assert reminders.idle_reminders(now=now + timedelta(days=1, seconds=1)) == 1


def test_approver_digest_counts_what_waits(tree, make_user, make_admin, make_course, instructor):
    """An admin's digest counts the membership applications and the courses waiting in their unions;
    an instructor's counts the sign-ups waiting on their courses."""
    admin = make_admin(tree.district_a, email="admin@example.cn")
    make_admin(tree.b1, "别的管理员")  # nothing waits in B1
    for index in range(2):
        make_user(f"申请人{index}", union=tree.a1, status="applied")
    make_user("别处的申请人", union=tree.i1, status="applied")
    make_course("待审课程", status="pending", scope=tree.a2)
    make_course("别处待审课程", status="pending", scope=tree.b1)
    course = make_course("需审批的课程", requires_approval=True)
    now = datetime.now(UTC)
    for index in range(3):
        worker = make_user(f"报名者{index}", union=tree.a1)
        db.session.add(Enrollment(user_id=worker.id, course_id=course.id, status=EnrollmentStatus.PENDING,
                                  requested_at=now))
    db.session.commit()
    assert reminders.approver_digest(now=now) >= 2
    digests = {row.user_id: row for row in db.session.scalars(
        select(Notification).where(Notification.kind == "approvals.digest"))}
    assert digests[admin.id].title == "3 items wait for your decision"
    assert digests[admin.id].body == "courses to review: 1；membership applications: 2"
    assert digests[instructor.id].title == "3 items wait for your decision"
    assert digests[instructor.id].body == "sign-ups to approve: 3"
    assert [m.channel for m in outbox() if m.user_id == admin.id] == ["email"]
    assert str(registry().digest_labels["entries"]) == "competition entries"  # registered by competitions
    assert reminders.approver_digest(now=now) == 0


def test_reminders_are_in_the_recipients_language(course_scene):
    course, workers, _follower, now = course_scene
    workers[0].locale = "zh_CN"
    db.session.commit()
    reminders.session_reminders(now=now)
    titles = dict(db.session.execute(select(Notification.user_id, Notification.title)
                                     .where(Notification.dedup_key.like("%:24h:%"))).all())
    assert titles[workers[0].id].startswith("您的课程") or "24" in titles[workers[0].id]
    assert titles[workers[1].id].startswith("Your class starts within 24 hours")
    assert course.title in titles[workers[1].id]


def test_the_lease_elects_one_leader(app):
    now = datetime.now(UTC)
    assert acquire_lease("a", seconds=5, now=now) is True
    assert acquire_lease("b", seconds=5, now=now + timedelta(seconds=1)) is False
    assert acquire_lease("a", seconds=5, now=now + timedelta(seconds=3)) is True  # renewed
    assert current_leader(now + timedelta(seconds=4)) == "a"
    assert acquire_lease("b", seconds=5, now=now + timedelta(seconds=9)) is True  # a stopped renewing
    assert current_leader(now + timedelta(seconds=10)) == "b"


def test_calendar_feed_lists_exactly_the_workers_sessions(app, course_scene, make_course, make_user, tree):
    course, workers, _follower, now = course_scene
    other = make_course("别的课程", sessions=2)
    client = login_client(app, workers[0])
    page = client.get("/me/calendar").get_data(as_text=True)
    [field] = data_elements(page, "data-calendar-url")
    url = field["value"]
    path = url.split("localhost", 1)[-1]
    feed = app.test_client().get(path)
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    events = [component for component in Calendar.from_ical(feed.data).walk("VEVENT")]
    expected = set(db.session.scalars(select(ClassSession.id).where(ClassSession.course_id == course.id)))
    assert {int(str(event["uid"]).split("-")[1].split("@")[0]) for event in events} == expected
    assert all(event.walk("VALARM") for event in events)
    assert any("东城区职工服务站" in str(event["location"]) for event in events)
    assert other.id not in {int(str(e["url"]).rsplit("/", 1)[1]) for e in events}
    client.post("/me/calendar/reset")
    assert app.test_client().get(path).status_code == 404


def test_scheduler_health(client):
    body = client.get("/healthz").json
    assert body["scheduler"]["enabled"] is False and body["scheduler"]["leader"] is False


def wait_until(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_jobs_are_registered_by_the_features(app):
    expected = {"outbox.dispatch", "outbox.digest", "reminders.sessions", "reminders.idle", "reminders.closing",
                "reminders.approvals", "reminders.certificates", "competitions.closing"}
    assert expected <= set(registry(app).jobs)
    assert registry(app).jobs["outbox.dispatch"].checks_leadership
    assert not registry(app).jobs["reminders.sessions"].checks_leadership


def test_in_process_scheduler_starts_once_leads_and_runs_each_job(app, client, monkeypatch):
    """What CLASSROOM_SCHEDULER=on starts in a serving process: one loop, which takes the lease,
    schedules every registered job and runs each at once; /healthz says this process leads."""
    ran = []
    monkeypatch.setattr(scheduler.Runner, "_run_job", lambda self, job, term=None: ran.append(job.name))
    app.config.update(SCHEDULER="on", DISPATCH_INTERVAL_SECONDS=3600, REMINDER_SCAN_SECONDS=3600)
    runner = scheduler.start_in_process(app)
    try:
        assert scheduler.start_in_process(app) is runner  # never a second loop
        wait_until(lambda: runner.leading and len(ran) == len(registry(app).jobs))
        assert sorted(ran) == sorted(registry(app).jobs)  # each job once, at once
        assert {job.id for job in runner.scheduler.get_jobs()} == set(registry(app).jobs)
        body = client.get("/healthz").json["scheduler"]
        assert body == {"enabled": True, "leader": True, "has_leader": True}  # whether, never who
        assert current_leader(datetime.now(UTC)) == runner.holder  # who: the lease row says
        client.get("/healthz")
        assert scheduler.runner_of(app) is runner
        assert [t for t in threading.enumerate() if t.name == "classroom-scheduler" and t.is_alive()] == [runner.thread]
    finally:
        runner.shutdown()
    assert not runner.thread.is_alive() and current_leader(datetime.now(UTC)) is None  # the lease is handed back
    assert client.get("/healthz").json["scheduler"]["leader"] is False


def test_jobs_run_one_at_a_time_only_on_sqlite(app, monkeypatch, is_postgres):
    """SQLite has one writer: jobs started together failed each other's writes ("database is
    locked"), so there they run one at a time; on PostgreSQL they run side by side."""
    running, overlapped = [], []

    def job(self, job, term=None):
        running.append(job.name)
        if len(running) > 1:
            overlapped.append(job.name)
        time.sleep(0.05)
        running.remove(job.name)

    monkeypatch.setattr(scheduler.Runner, "_run_job", job)
    app.config.update(SCHEDULER="on", DISPATCH_INTERVAL_SECONDS=3600, REMINDER_SCAN_SECONDS=3600)
    runner = scheduler.start_in_process(app)
    try:
        wait_until(lambda: runner.leading)
        time.sleep(0.05 * len(registry(app).jobs) + 0.5)
    finally:
        runner.shutdown()
    assert bool(overlapped) is is_postgres


def test_where_the_scheduler_starts(monkeypatch):
    """`flask run` (in the reloader's child only) and WSGI servers start it; other Flask commands
    (db upgrade, seed-demo …) do not; `flask scheduler run` runs its own loop."""
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    assert scheduler.serving_process() is True  # gunicorn: the app is loaded outside the Flask CLI
    root = click.Context(FlaskGroup(), info_name="flask")

    def under(command, **params) -> bool:
        with click.Context(command, parent=root, info_name=command.name) as context:
            context.params.update(params)
            return scheduler.serving_process()

    assert under(run_command, reload=False) is True  # make run: flask run --no-reload
    assert under(run_command, reload=None) is True
    assert under(run_command, reload=True) is False  # the reloader's watcher parent
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert under(run_command, reload=None) is False  # --debug reloads
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert under(run_command, reload=True) is True  # the reloader's child serves
    for name in ("db", "seed-demo", "shell", "scheduler"):
        assert under(click.Command(name)) is False
    with click.Context(click.Command("uvicorn")):  # another server's own command line
        assert scheduler.serving_process() is True
    # under gunicorn.conf.py (CLASSROOM_SCHEDULER_START=after_fork) its hook starts the loop in each worker
    assert scheduler.serving_process("after_fork") is False
    assert under(run_command, reload=False) is True and under(click.Command("db")) is False


def test_a_server_hook_starts_the_loop_after_the_fork_and_the_app_does_not(app, monkeypatch):
    """gunicorn --preload makes the app in the master, which must run no thread: with
    CLASSROOM_SCHEDULER_START=after_fork making the app starts nothing, and gunicorn.conf.py's hook
    (``start_after_fork``) starts the loop in the worker; without it a WSGI server's process starts it
    as it makes the app."""
    from classroom.scheduler.starting import start_with_app

    monkeypatch.setattr(scheduler.Runner, "_run_job", lambda self, job, term=None: None)
    app.config.update(DISPATCH_INTERVAL_SECONDS=3600, REMINDER_SCAN_SECONDS=3600)
    assert scheduler.start_after_fork(app) is None  # CLASSROOM_SCHEDULER=off
    app.config["SCHEDULER"] = "on"
    assert scheduler.start_after_fork(app) is None  # never in tests
    monkeypatch.setattr(app, "testing", False)
    app.config["SCHEDULER_START"] = "after_fork"
    start_with_app(app)
    assert scheduler.runner_of(app) is None  # the app made in the master started nothing
    runner = scheduler.start_after_fork(app)
    try:
        assert runner is not None and scheduler.runner_of(app) is runner
        wait_until(lambda: runner.leading)
        assert scheduler.start_after_fork(app) is runner  # once
    finally:
        runner.shutdown()
    app.extensions.pop("scheduler_runner")
    app.config["SCHEDULER_START"] = "with_app"
    start_with_app(app)  # a WSGI server's process (no Flask command): it serves, so the loop starts
    started = scheduler.runner_of(app)
    assert started is not None and started is not runner
    started.shutdown()


def test_a_deposed_leader_stops_dispatching(app, make_user):
    """The lease passes to another process in the middle of a dispatch run (this one was paused past
    it): the run stops after the batch in hand instead of sending on."""
    app.config["DISPATCH_BATCH"] = 5
    person = make_user(email="deposed@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(15):
        notify(person, "course.announcement", f"deposed:{index}", "通知", now=datetime.now(UTC))
    db.session.commit()

    class TakenOverMidway:
        def __init__(self) -> None:
            self.sent = []

        def send(self, message) -> None:
            self.sent.append(message["X-Classroom-Dedup-Key"])
            if len(self.sent) == 5:
                db.session.execute(update(SchedulerLease).values(
                    holder="standby", expires_at=datetime.now(UTC) + timedelta(minutes=1)))

    backend = TakenOverMidway()
    app.extensions["mail_backend"] = {app.config["MAIL_BACKEND"]: backend}
    runner = scheduler.Runner(app)
    assert acquire_lease(runner.holder, seconds=60, now=datetime.now(UTC))
    runner.leading, runner.term = True, 1
    runner._run_job(registry(app).jobs["outbox.dispatch"], 1)
    assert len(backend.sent) == 5
    db.session.rollback()
    statuses = db.session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
    assert dict(statuses) == {"sent": 5, "queued": 10}
    runner._run_job(registry(app).jobs["outbox.dispatch"], 1)  # no longer the leader: sends nothing
    assert len(backend.sent) == 5


def test_each_dispatch_batch_runs_at_its_own_time(app, make_user):
    app.config["DISPATCH_BATCH"] = 2
    person = make_user(email="slow@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(4):
        notify(person, "course.announcement", f"slow:{index}", "通知", now=datetime.now(UTC))
    db.session.commit()

    class Slow:
        def send(self, message) -> None:
            time.sleep(0.2)

    app.extensions["mail_backend"] = {app.config["MAIL_BACKEND"]: Slow()}
    start = datetime.now(UTC)
    assert outbox_jobs.dispatch_job(now=start)["sent"] == 4
    claims = sorted({m.claimed_at for m in outbox()})
    assert len(claims) == 2 and claims[0] == start and claims[1] - claims[0] >= timedelta(seconds=0.35)


def test_dispatch_never_takes_a_claimed_row(app, make_user):
    person = make_user(email="c@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(4):
        notify(person, "course.announcement", f"c{index}", "x", now=datetime.now(UTC))
    db.session.commit()
    from classroom.notifications.jobs import claim_due

    first = claim_due(now=datetime.now(UTC), batch=2)
    second = claim_due(now=datetime.now(UTC), batch=10)
    assert len(first) == 2 and len(second) == 2 and not {m.id for m in first} & {m.id for m in second}


def test_certificate_expiry_reminder_once(app, tree, make_course, make_user):
    from courses.certificates.models import Certificate
    from courses.study.services import evaluate_completion

    course = make_course(lessons=0, min_lesson_share=0, certificate_months=1)
    worker = make_user(union=tree.a1)
    enrollment = enroll(worker, course, now=datetime.now(UTC) - timedelta(days=10))
    evaluate_completion(enrollment, now=datetime.now(UTC) - timedelta(days=10))
    db.session.commit()
    certificate = db.session.scalar(select(Certificate))
    assert certificate is not None and certificate.expires_at is not None
    now = datetime.now(UTC)
    assert reminders.certificate_expiry_reminders(now=now) == 1
    assert reminders.certificate_expiry_reminders(now=now) == 0
    title = db.session.scalar(select(Notification.title).where(Notification.kind == "certificate.expiring"))
    assert certificate.serial in title
