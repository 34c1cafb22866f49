"""Studying: opening lessons, heartbeats capped at real time, completing lessons and courses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from classroom.database import utcnow
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from courses.catalog.models import Lesson
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.study import services as study
from courses.study.hooks import enrollment_completed, lesson_completed
from courses.study.models import LessonProgress
from tests.factories import login_client


@pytest.fixture
def studying(tree, make_course, make_user):
    """An enrolled worker and a course of two 10-minute lessons (5 minutes of study complete one)."""
    course = make_course(lessons=2)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    lessons = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    return worker, course, lessons


@pytest.fixture
def events():
    seen = {"lessons": [], "courses": []}

    def on_lesson(sender, **kwargs):
        seen["lessons"].append((sender.id, kwargs["user_id"]))

    def on_course(sender, **kwargs):
        seen["courses"].append(sender.id)

    lesson_completed.connect(on_lesson)
    enrollment_completed.connect(on_course)
    yield seen
    lesson_completed.disconnect(on_lesson)
    enrollment_completed.disconnect(on_course)


def study_for(worker, lesson, seconds: int, start):
    """Beat every 30 s for ``seconds`` from ``start``."""
    study.open_lesson(worker, lesson, now=start)
    for beat in range(30, seconds + 1, 30):
        study.heartbeat(worker, lesson, now=start + timedelta(seconds=beat))
    db.session.commit()


def test_opening_a_lesson_records_it(app, studying):
    worker, course, lessons = studying
    client = login_client(app, worker)
    page = client.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    assert 'id="study-panel"' in page and "js/lesson.js" in page
    progress = db.session.scalar(select(LessonProgress))
    assert (progress.lesson_id, progress.seconds_studied, progress.completed_at) == (lessons[0].id, 0, None)
    assert db.session.scalar(select(Enrollment.last_studied_at)) is not None


def test_heartbeats_credit_at_most_the_real_elapsed_time(studying):
    worker, _, lessons = studying
    start = utcnow()
    study.open_lesson(worker, lessons[0], now=start)
    study.heartbeat(worker, lessons[0], now=start + timedelta(seconds=30))
    assert study.progress_of(worker.id, lessons[0].id).seconds_studied == 30
    study.heartbeat(worker, lessons[0], now=start + timedelta(seconds=32))  # a second tab
    assert study.progress_of(worker.id, lessons[0].id).seconds_studied == 32
    study.heartbeat(worker, lessons[0], now=start + timedelta(hours=3))  # the laptop slept
    assert study.progress_of(worker.id, lessons[0].id).seconds_studied == 32 + 45
    study.heartbeat(worker, lessons[0], now=start + timedelta(hours=4), resume=True)  # back from a hidden tab
    assert study.progress_of(worker.id, lessons[0].id).seconds_studied == 77


def test_heartbeat_endpoint(app, studying):
    worker, course, _ = studying
    client = login_client(app, worker)
    client.get(f"/courses/{course.id}/lessons/1")
    body = client.post(f"/courses/{course.id}/lessons/1/heartbeat").json
    assert body["seconds"] <= 1 and body["needed"] == 300 and body["can_complete"] is False
    assert client.post(f"/courses/{course.id}/lessons/9/heartbeat").status_code == 404


def test_complete_is_offered_after_half_the_credited_time(app, studying, events):
    worker, course, lessons = studying
    with pytest.raises(Conflict):
        study_for(worker, lessons[0], 240, utcnow())
        study.complete_lesson(worker, lessons[0], now=utcnow())
    db.session.rollback()
    study_for(worker, lessons[0], 300, utcnow() + timedelta(minutes=10))
    assert study.complete_lesson(worker, lessons[0], now=utcnow()) is True
    assert study.complete_lesson(worker, lessons[0], now=utcnow()) is False  # once
    db.session.commit()
    assert events["lessons"] == [(lessons[0].id, worker.id)]
    assert events["courses"] == []


def test_completing_every_lesson_completes_the_course_exactly_once(app, studying, events):
    worker, course, lessons = studying
    client = login_client(app, worker)
    for index, lesson in enumerate(lessons):
        study_for(worker, lesson, 300, utcnow() + timedelta(hours=index))
        response = client.post(f"/courses/{course.id}/lessons/{lesson.position}/complete")
        assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.status == "completed" and enrollment.completed_at is not None
    assert len(events["courses"]) == 1
    assert not study.evaluate_completion(enrollment, now=utcnow())
    mine = client.get("/courses/mine").get_data(as_text=True)
    assert "2 of 2 lessons" in mine


def test_lesson_share_rule(tree, make_course, make_user):
    course = make_course(lessons=4, min_lesson_share=50)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    lessons = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    start = utcnow()
    for index, lesson in enumerate(lessons[:2]):
        study_for(worker, lesson, 300, start + timedelta(hours=index))
        study.complete_lesson(worker, lesson, now=start)
        db.session.commit()
    assert db.session.scalar(select(Enrollment.status)) == "completed"


def test_a_course_with_sessions_waits_for_attendance(tree, make_course, make_user):
    course = make_course(lessons=1, sessions=2, min_attendance_share=50)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    lesson = db.session.scalar(select(Lesson))
    study_for(worker, lesson, 300, utcnow())
    study.complete_lesson(worker, lesson, now=utcnow())
    db.session.commit()
    assert db.session.scalar(select(Enrollment.status)) == "enrolled"


def test_only_the_enrolled_study(app, tree, make_course, make_user):
    course = make_course(lessons=1, capacity=1)
    seated, waiting = make_user("甲", union=tree.a1), make_user("乙", union=tree.a1)
    for person in (seated, waiting):
        enroll(person, course, now=utcnow())
    db.session.commit()
    client = login_client(app, waiting)
    response = client.get(f"/courses/{course.id}/lessons/1")
    assert response.status_code == 302 and response.location.endswith(f"/courses/{course.id}")
    assert client.post(f"/courses/{course.id}/lessons/1/heartbeat").status_code == 403
    with pytest.raises(NotAllowed):
        study.open_lesson(waiting, db.session.scalar(select(Lesson)), now=utcnow())


def test_my_courses_lists_every_signup_with_progress(app, tree, make_course, make_user):
    worker = make_user(union=tree.a1)
    full = make_course("已满课程", capacity=0)
    open_course = make_course("开放课程", lessons=3)
    for course in (full, open_course):
        enroll(worker, course, now=utcnow())
    db.session.commit()
    page = login_client(app, worker).get("/courses/mine").get_data(as_text=True)
    assert "已满课程" in page and "On the waitlist" in page and "0 of 3 lessons" in page
