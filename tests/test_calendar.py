"""The calendar feed (/me/calendar/<secret>.ics), read back with vobject besides icalendar: UIDs named
by the public host, SEQUENCE and LAST-MODIFIED from the class's record, the same classes as the
session reminders cover, and the worker's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import create_engine, select, text

from classroom import create_app
from classroom.extensions import db
from classroom.notifications.models import Notification
from courses.catalog.authoring import update_course
from courses.catalog.models import ClassSession
from courses.catalog.review import decide_revision
from courses.catalog.sessions import update_session
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.reminders import calendar
from courses.reminders import jobs as reminders

HOST = "classroom.example.org"


@pytest.fixture
def app_config() -> dict:
    return {"PUBLIC_BASE_URL": f"https://{HOST}/"}


def feed_bytes(app, person) -> bytes:
    """The person's feed as a calendar app fetches it (no log-in: the secret link)."""
    secret = calendar.secret_for(person.id, calendar.feed_of(person.id).version)
    db.session.commit()
    response = app.test_client().get(f"/me/calendar/{secret}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    Calendar.from_ical(response.data)  # icalendar reads it too
    return response.data


def events(app, person) -> dict[int, vobject.base.Component]:
    """{session id: its VEVENT}, parsed by vobject."""
    parsed = vobject.readOne(feed_bytes(app, person).decode("utf-8"))
    found = {}
    for event in getattr(parsed, "vevent_list", []):
        local, _at, domain = event.uid.value.partition("@")
        assert domain == HOST, event.uid.value
        found[int(local.removeprefix("session-"))] = event
    return found


def add_session(course, starts: datetime, venue: str = "东城区职工服务站", **fields) -> ClassSession:
    session = ClassSession(course_id=course.id, starts_at=starts, ends_at=starts + timedelta(hours=2),
                           venue_name=venue, credit_minutes=90, **fields)
    db.session.add(session)
    db.session.flush()
    return session


def enrolled(person, course, status: str = EnrollmentStatus.ENROLLED, *, now: datetime) -> None:
    db.session.add(Enrollment(user_id=person.id, course_id=course.id, status=status,
                              enrolled_at=now - timedelta(days=10)))
    db.session.commit()


def at_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def test_each_class_is_named_by_the_public_host_and_stamped_from_its_record(app, make_course, make_user, tree):
    now = datetime.now(UTC)
    course = make_course("安全用电")
    session = add_session(course, now + timedelta(days=3), title="第一讲", venue_address="东城区某路 1 号")
    session.created_at = session.updated_at = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    worker = make_user("学员", union=tree.a1)
    enrolled(worker, course, now=now)
    event = events(app, worker)[session.id]
    assert event.sequence.value == "0"
    assert event.last_modified.value == event.dtstamp.value == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert event.created.value == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert event.dtstart.value == at_second(session.starts_at)
    assert event.summary.value == "安全用电 · 第一讲"
    assert event.location.value == "东城区职工服务站 东城区某路 1 号"
    assert event.url.value == f"https://{HOST}/courses/{course.id}"
    assert feed_bytes(app, worker) == feed_bytes(app, worker)  # nothing in it comes from the clock


def test_moving_a_class_raises_its_sequence(app, make_course, make_user, make_admin, instructor, tree):
    now = datetime.now(UTC)
    course = make_course("安全用电")
    session = add_session(course, now + timedelta(days=3), title="第一讲")
    worker = make_user("学员", union=tree.a1)
    enrolled(worker, course, now=now)
    reviewer = make_admin(tree.city)
    fields = {name: getattr(session, name) for name in ("title", "starts_at", "ends_at", "venue_name",
                                                        "venue_address", "credit_minutes")}
    unmoved = update_session(session, {**fields, "credit_minutes": 120}, actor=instructor, now=now)
    decide_revision(unmoved, True, actor=reviewer, now=now)
    db.session.commit()
    assert events(app, worker)[session.id].sequence.value == "0"  # nothing a calendar shows changed
    moved_at = now + timedelta(hours=1)
    later = session.starts_at + timedelta(days=2)
    revision = update_session(session, {**fields, "starts_at": later, "ends_at": later + timedelta(hours=2)},
                              actor=instructor, now=moved_at)
    db.session.commit()
    assert events(app, worker)[session.id].sequence.value == "0"  # waiting for review: the class has not moved
    decide_revision(revision, True, actor=reviewer, now=moved_at)
    db.session.commit()
    event = events(app, worker)[session.id]
    assert event.sequence.value == "1"
    assert event.dtstart.value == at_second(later)
    assert event.last_modified.value == event.dtstamp.value == at_second(moved_at)
    renamed_at = moved_at + timedelta(hours=1)
    update_course(course, {"title": "安全用电（新版）"}, actor=instructor, now=renamed_at)
    db.session.commit()
    event = events(app, worker)[session.id]
    assert (event.sequence.value, event.summary.value) == ("2", "安全用电（新版） · 第一讲")
    assert event.last_modified.value == at_second(renamed_at)


def test_a_draft_class_changed_in_place_counts_its_revisions(app, make_course, instructor):
    now = datetime.now(UTC)
    course = make_course(status="draft")
    session = add_session(course, now + timedelta(days=3))
    fields = {name: getattr(session, name) for name in ("title", "starts_at", "ends_at", "venue_name",
                                                        "venue_address", "credit_minutes")}
    update_session(session, {**fields, "credit_minutes": 30}, actor=instructor, now=now)
    assert session.sequence == 0
    update_session(session, {**fields, "venue_name": "市工人文化宫"}, actor=instructor, now=now + timedelta(minutes=5))
    db.session.commit()
    assert (session.sequence, session.updated_at) == (1, now + timedelta(minutes=5))


def test_the_feed_lists_exactly_the_classes_the_reminders_cover(app, make_course, make_user, tree):
    now = datetime.now(UTC)
    worker = make_user("学员", union=tree.a1)
    sessions = {}
    for status in (EnrollmentStatus.ENROLLED, EnrollmentStatus.COMPLETED, EnrollmentStatus.DROPPED,
                   EnrollmentStatus.WAITLISTED, None):
        course = make_course(f"课程-{status}")
        sessions[status] = add_session(course, now + timedelta(hours=20))
        if status is not None:
            enrolled(worker, course, status, now=now)
    reminders.session_reminders(now=now)
    keys = db.session.scalars(select(Notification.dedup_key).where(Notification.user_id == worker.id)).all()
    reminded = {int(key.split(":")[1]) for key in keys}
    assert reminded == {sessions[EnrollmentStatus.ENROLLED].id}
    assert set(events(app, worker)) == reminded  # a completed or dropped course's classes leave both
    worker.is_active = False
    db.session.commit()
    assert events(app, worker) == {}


def test_the_feed_speaks_the_workers_language(app, make_course, make_user, tree):
    now = datetime.now(UTC)
    course = make_course("安全用电")
    session = add_session(course, now + timedelta(days=3), title="第一讲")
    english, chinese = make_user("Li Lei", union=tree.a1), make_user("韩梅梅", union=tree.a1, locale="zh_CN")
    for person in (english, chinese):
        enrolled(person, course, now=now)
    event = events(app, english)[session.id]
    assert event.description.value.splitlines() == [
        "安全用电 · 第一讲", "Venue: 东城区职工服务站", f"Course page: https://{HOST}/courses/{course.id}"]
    assert event.valarm.description.value == "Class in 2 hours: 安全用电 · 第一讲"
    assert event.valarm.trigger.value == -timedelta(hours=2)
    assert vobject.readOne(feed_bytes(app, english).decode()).x_wr_calname.value == "Worker Classroom"
    assert vobject.readOne(feed_bytes(app, chinese).decode()).x_wr_calname.value == "职工学堂"


def test_the_migration_starts_existing_classes_at_their_creation(tmp_path):
    """3c507a7ce8b7: a class made before it has sequence 0 and was last changed when it was created."""
    url = f"sqlite:///{tmp_path / 'calendar.db'}"
    runner = create_app("testing", DATABASE_URL=url).test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "c4d2e8f1a930"]).exit_code == 0
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO course (id, title, summary, description, category, mode, credit_minutes, host_union_id, "
            "scope_union_id, status, requires_approval, min_lesson_share, min_attendance_share, created_at, "
            "updated_at) VALUES (1, '课', '', '', '电工', 'offline', 90, 1, 1, 'published', 0, 100, 0, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO class_session (id, course_id, starts_at, ends_at, venue_name, credit_minutes, created_at) "
            "VALUES (1, 1, '2026-02-01 01:00:00', '2026-02-01 03:00:00', '站', 90, '2026-01-05 09:00:00')"))
    result = runner.invoke(args=["db", "upgrade", "3c507a7ce8b7"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        row = connection.execute(text("SELECT sequence, updated_at FROM class_session")).one()
    engine.dispose()
    assert (row[0], str(row[1])) == (0, "2026-01-05 09:00:00")
