"""My schedule (/me/schedule, issue 16): the worker's upcoming classes and deadlines, week by week, linked from
their pages; another person's classes and what has passed are not on it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from classroom.agenda import monday_of
from classroom.database import utcnow
from classroom.extensions import db
from classroom.timefmt import local_date
from courses.catalog.models import ClassSession, CourseFollow
from courses.enrollment.services import enroll
from tests.factories import login_client
from tests.helpers import data_elements, data_texts
from tests.markup import elements


def weeks_of(page: str) -> dict[str, list[str]]:
    """{the Monday a week starts on: the kinds of its items, in order}."""
    found: dict[str, list[str]] = {}
    week = ""
    for element in elements(page):
        if "data-week" in element.attrs:
            week = element.attrs["data-week"]
            found[week] = []
        elif "data-schedule-item" in element.attrs:
            found[week].append(element.attrs["data-schedule-item"])
    return found


def test_the_schedule_shows_classes_and_deadlines_by_week(app, tree, make_course, make_user):
    now = utcnow()
    course = make_course("电工安全", lessons=1, sessions=2, ends_on=local_date(now) + timedelta(days=20))
    followed = make_course("焊工入门", lessons=1, enroll_closes_at=now + timedelta(days=3))
    past = ClassSession(course_id=course.id, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=22),
                        venue_name="旧址", credit_minutes=90)
    db.session.add(past)
    worker, other = make_user("李师傅", union=tree.a1), make_user("赵师傅", union=tree.a1)
    enroll(worker, course, now=now)
    db.session.add(CourseFollow(user_id=worker.id, course_id=followed.id))
    db.session.commit()
    client = login_client(app, worker)
    page = client.get("/me/schedule").get_data(as_text=True)
    weeks = weeks_of(page)
    this_week = monday_of(local_date(now))
    assert list(weeks) == [(this_week + timedelta(weeks=n)).isoformat() for n in range(4)]
    sessions = db.session.scalars(select(ClassSession).where(ClassSession.starts_at > now)
                                  .order_by(ClassSession.starts_at)).all()
    expected: dict[str, list[str]] = {week: [] for week in weeks}
    for at, kind in [(sessions[0].starts_at, "class"), (sessions[1].starts_at, "class"),
                     (followed.enroll_closes_at, "enrollment")]:
        expected[monday_of(local_date(at)).isoformat()].append(kind)
    expected[monday_of(local_date(now) + timedelta(days=20)).isoformat()].append("course_end")
    for week, kinds in expected.items():
        assert sorted(weeks[week]) == sorted(kinds), week
    assert "旧址" not in page and "电工安全" in page and "焊工入门" in page
    assert data_elements(page, "data-schedule-later")  # more weeks ahead
    assert not data_elements(page, "data-schedule-earlier")  # nothing before this week
    assert sum(len(kinds) for kinds in weeks_of(
        login_client(app, other).get("/me/schedule").get_data(as_text=True)).values()) == 0


def test_the_schedule_pages_by_four_weeks(app, tree, make_course, make_user):
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    this_week = monday_of(local_date(utcnow()))
    later = (this_week + timedelta(weeks=4)).isoformat()
    page = client.get(f"/me/schedule?from={later}").get_data(as_text=True)
    assert next(iter(weeks_of(page))) == later
    assert data_elements(page, "data-schedule-earlier")[0]["href"].endswith(f"from={this_week.isoformat()}")
    for wrong in ("abc", "2001-01-01", "9999-12-31", "２０２６", (this_week + timedelta(weeks=60)).isoformat()):
        response = client.get("/me/schedule", query_string={"from": wrong})
        assert response.status_code == 200
        assert next(iter(weeks_of(response.get_data(as_text=True)))) == this_week.isoformat()


def test_the_schedule_is_linked_from_the_workers_pages(app, tree, make_user):
    client = login_client(app, make_user(union=tree.a1))
    for url in ("/", "/me", "/courses/mine"):
        links = [e.get("href") for e in elements(client.get(url).get_data(as_text=True), "a")]
        assert "/me/schedule" in links, url
    assert app.test_client().get("/me/schedule").status_code == 302  # log in first
    assert data_texts(client.get("/me/schedule").get_data(as_text=True), "data-week")
