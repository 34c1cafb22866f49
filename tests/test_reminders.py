"""Notifications beyond the app: channels, preferences, quiet hours, expiry, retries, digests,
reminder scans, the leader lease and the calendar feed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import func, select

from classroom.extensions import db
from classroom.notifications import jobs as outbox_jobs
from classroom.notifications.models import Notification, NotificationPreference, OutboundMessage
from classroom.notifications.outbox import dispatch, quiet_until
from classroom.notifications.services import notify
from classroom.scheduler import acquire_lease, current_leader
from courses.catalog.models import ClassSession, CourseFollow
from courses.enrollment.services import enroll
from courses.reminders import jobs as reminders
from tests.factories import login_client

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
    notify(person, "enrollment.promoted", "k1", "A seat is yours")
    db.session.add(NotificationPreference(user_id=person.id, kind="course.announcement", channel="email",
                                          is_enabled=False))
    notify(person, "course.announcement", "k2", "An announcement")
    notify(person, "enrollment.promoted", "k1", "again")  # the same key: nothing more
    db.session.commit()
    assert sorted((m.channel, m.dedup_key) for m in outbox()) == [("email", "k1:email"), ("sms", "k1:sms")]
    no_email = make_user("无邮箱")
    notify(no_email, "course.announcement", "k3", "x")
    db.session.commit()
    assert not [m for m in outbox() if m.user_id == no_email.id]


def test_dispatch_sends_over_smtp_once(make_user, smtp):
    person = make_user(email="zhang@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(3):
        notify(person, "course.announcement", f"announce:{index}", f"通知 {index}", "正文")
    db.session.commit()
    result = dispatch(now=datetime.now(UTC))
    assert result["sent"] == 3
    assert sorted(smtp.keys()) == [f"announce:{i}:email" for i in range(3)]
    assert dispatch(now=datetime.now(UTC))["sent"] == 0
    assert {m.status for m in outbox()} == {"sent"}


def test_smtp_down_retries_with_backoff_then_delivers(app, make_user):
    person = make_user(email="wang@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    notify(person, "course.announcement", "retry", "通知")
    db.session.commit()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1, OUTBOX_BACKOFF_SECONDS=30)
    app.extensions.pop("mail_backend", None)
    now = datetime.now(UTC)
    waits = []
    for _ in range(3):
        assert dispatch(now=now)["retry"] == 1
        message = outbox()[0]
        waits.append((message.next_attempt_at - now).total_seconds())
        assert message.status == "queued" and message.last_error
        now = message.next_attempt_at
    assert waits == [30, 60, 120]
    inbox = Inbox()
    controller, port = start_smtp(inbox)
    try:
        app.config["MAIL_PORT"] = port
        app.extensions.pop("mail_backend", None)
        assert dispatch(now=now)["sent"] == 1
    finally:
        controller.stop()
    assert inbox.keys() == ["retry:email"] and outbox()[0].attempts == 4


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
    assert all(f"第{i}条" in smtp.messages[0] or "=" in smtp.messages[0] for i in range(3))
    assert outbox_jobs.digest_job(now=day + timedelta(days=2)) == 0


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
    url = page.split('data-calendar-url', 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
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


def test_dispatch_never_takes_a_claimed_row(app, make_user):
    person = make_user(email="c@example.cn", timezone="UTC", notification_prefs={"quiet_hours": ""})
    for index in range(4):
        notify(person, "course.announcement", f"c{index}", "x")
    db.session.commit()
    from classroom.notifications.outbox import claim_due

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
