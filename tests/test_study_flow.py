"""The study flow workers expect (issue 16): "Continue studying" resumes at the first unfinished lesson and
where its page was left, a lesson's progress in real minutes, attendance-only courses, and buttons the rules
would refuse not offered (the rule is said instead)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.timefmt import local_date
from courses.attendance.models import Attendance
from courses.attendance.services import record
from courses.catalog.models import ClassSession, Course, Lesson
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.study import services as study
from courses.study.models import LessonProgress
from tests.factories import login_client
from tests.helpers import data_texts
from tests.markup import elements

COURSE_FORM = {
    "title": "叉车司机安全操作", "summary": "", "description": "", "category": "特种设备", "target_level": "",
    "mode": "offline", "credit_minutes": "180", "studio": "", "enroll_opens_at": "", "enroll_closes_at": "",
    "starts_on": "", "ends_on": "", "capacity": "", "min_lesson_share": "0", "min_attendance_share": "50",
    "min_exam_score": "", "certificate_months": "",
}


@pytest.fixture
def enrolled(tree, make_course, make_user):
    """A worker enrolled in a course of three 10-minute lessons, and the lessons."""
    course = make_course(lessons=3)
    worker = make_user("李师傅", union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    return worker, course, db.session.scalars(select(Lesson).order_by(Lesson.position)).all()


def finish(worker, lesson) -> None:
    """Study ``lesson`` long enough and complete it."""
    start = utcnow() - timedelta(minutes=10)
    study.open_lesson(worker, lesson, now=start)
    for beat in range(30, 301, 30):
        study.heartbeat(worker, lesson, now=start + timedelta(seconds=beat))
    study.complete_lesson(worker, lesson, now=start + timedelta(seconds=301))
    db.session.commit()


def study_button(page: str) -> tuple[str, str]:
    [button] = [e for e in elements(page, "a") if "data-study" in e.attrs]
    return button.get("data-study"), button.get("href")


# ---- "Continue studying" ------------------------------------------------------------------------------

def test_continue_studying_opens_the_first_unfinished_lesson(app, enrolled):
    worker, course, lessons = enrolled
    client = login_client(app, worker)
    state, href = study_button(client.get(f"/courses/{course.id}").get_data(as_text=True))
    assert (state, href) == ("start", f"/courses/{course.id}/continue")
    assert client.get(href).location.endswith(f"/courses/{course.id}/lessons/1")
    finish(worker, lessons[0])
    finish(worker, lessons[2])  # done out of order: lesson 2 is the first one left
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert study_button(page)[0] == "continue" and "Continue studying" in page
    assert client.get(href).location.endswith(f"/courses/{course.id}/lessons/2")
    finish(worker, lessons[1])
    assert study_button(client.get(f"/courses/{course.id}").get_data(as_text=True))[0] == "review"
    assert client.get(href).location.endswith(f"/courses/{course.id}/lessons/1")


def test_continue_sends_someone_not_studying_to_the_course_page(app, tree, make_course, make_user):
    course = make_course(lessons=1)
    stranger = login_client(app, make_user("路人", union=tree.a1))
    assert stranger.get(f"/courses/{course.id}/continue").location.endswith(f"/courses/{course.id}")


def test_the_lesson_page_returns_to_where_it_was_left(app, enrolled):
    worker, course, _lessons = enrolled
    client = login_client(app, worker)
    assert "data-resume-at" not in client.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    url = f"/courses/{course.id}/lessons/1/heartbeat"
    assert client.post(url, data={"read": "420"}).status_code == 200
    for wrong in ("abc", "1001", "-5", "４２"):  # not a thousandth of the page: the position stays
        assert client.post(url, data={"read": wrong}).status_code == 200
    assert db.session.scalar(select(LessonProgress.read_permille)) == 420
    page = client.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    assert [e.get("data-resume-at") for e in elements(page, id="study-panel")] == ["420"]


# ---- minutes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("studied", "needed", "shown"), [
    (0, 30, ("0", "0.5")),  # a one-minute lesson, half of it to study: never "0 / 0"
    (29, 30, ("0.4", "0.5")), (30, 30, ("0.5", "0.5")), (45, 48, ("0.7", "0.8")), (50, 54, ("0.8", "0.9")),
    (54, 54, ("0.9", "0.9")), (120, 540, ("2", "9")), (0, 2700, ("0", "45")), (1799, 2700, ("29", "45")),
    (2700, 2670, ("45", "45")),
])
def test_progress_in_real_minutes(app, studied, needed, shown):
    assert study.minutes_shown(studied, needed) == shown


def test_a_one_minute_lesson_shows_its_minutes(app, tree, make_course, make_user):
    course = make_course(lessons=1)
    db.session.execute(Lesson.__table__.update().values(credit_minutes=1))
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    page = login_client(app, worker).get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    assert data_texts(page, "data-study-minutes") == ["Studied: 0 / 0.5 min"]
    beat = login_client(app, worker).post(f"/courses/{course.id}/lessons/1/heartbeat").get_json()
    assert beat["studied"] == "0" and beat["needed"] == 30


# ---- attendance-only courses ------------------------------------------------------------------------------

def test_an_attendance_only_course_can_be_written(app, tree, instructor):
    teacher = login_client(app, instructor)
    form = {**COURSE_FORM, "host_union_id": str(tree.a1.id), "scope_union_id": str(tree.city.id)}
    assert teacher.post("/teach/courses/new", data=form).status_code == 302
    assert db.session.scalar(select(Course.min_lesson_share)) == 0
    nothing = teacher.post("/teach/courses/new", data={**form, "min_attendance_share": "0"})
    assert nothing.status_code == 200 and "Say what completes the course" in nothing.get_data(as_text=True)
    empty = teacher.post("/teach/courses/new", data={**form, "min_lesson_share": ""})
    assert empty.status_code == 200 and db.session.query(Course).count() == 1


def test_an_attendance_only_course_completes_by_attendance(app, tree, make_course, make_user, instructor):
    course = make_course(lessons=1, sessions=2, min_lesson_share=0, min_attendance_share=50)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    finish(worker, db.session.scalar(select(Lesson)))  # a lesson read is not a class attended
    assert db.session.scalar(select(Enrollment.status)) == "enrolled"
    first = db.session.scalars(select(ClassSession).order_by(ClassSession.starts_at)).first()
    record(first, worker.id, "present", method="roster", actor=instructor, now=first.starts_at)
    db.session.commit()
    assert db.session.scalar(select(Enrollment.status)) == "completed"
    assert db.session.scalar(select(Attendance.status)) == "present"


def test_attendance_asked_of_a_course_without_classes_is_not_met(app, tree, make_course, make_user):
    course = make_course(lessons=1, min_lesson_share=100, min_attendance_share=50)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    finish(worker, db.session.scalar(select(Lesson)))
    assert db.session.scalar(select(Enrollment.status)) == "enrolled"


# ---- actions the rules refuse are not offered -------------------------------------------------------------

def test_leaving_after_the_start_is_not_offered_the_rule_is_said(app, tree, make_course, make_user):
    today = local_date(utcnow())
    started = make_course(lessons=1, starts_on=today - timedelta(days=1))
    later = make_course(lessons=1, starts_on=today + timedelta(days=3))
    worker = make_user(union=tree.a1)
    for course in (started, later):
        enroll(worker, course, now=utcnow())
    db.session.commit()
    client = login_client(app, worker)
    page = client.get(f"/courses/{started.id}").get_data(as_text=True)
    assert not elements(page, "button", data_drop="")
    assert data_texts(page, "data-rule", "leave") == [
        "The course has started; ask its instructor to take you off the list."]
    assert client.post(f"/courses/{started.id}/drop").status_code == 302  # asked anyway: refused
    assert db.session.scalar(select(Enrollment.status).where(Enrollment.course_id == started.id)) == "enrolled"
    page = client.get(f"/courses/{later.id}").get_data(as_text=True)
    assert elements(page, "button", data_drop="") and not data_texts(page, "data-rule")


def test_enrolling_outside_the_window_is_not_offered_the_rule_is_said(app, tree, make_course, make_user):
    now = utcnow()
    closed = make_course(lessons=1, enroll_closes_at=now - timedelta(days=1))
    not_yet = make_course(lessons=1, enroll_opens_at=now + timedelta(days=2))
    open_ = make_course(lessons=1)
    client = login_client(app, make_user(union=tree.a1))
    for course, words in ((closed, "Enrollment closed on"), (not_yet, "Enrollment opens on")):
        page = client.get(f"/courses/{course.id}").get_data(as_text=True)
        assert not elements(page, "button", data_enroll="")
        [rule] = data_texts(page, "data-rule", "enroll")
        assert rule.startswith(words)
    page = client.get(f"/courses/{open_.id}").get_data(as_text=True)
    assert elements(page, "button", data_enroll="") and not data_texts(page, "data-rule")


def test_the_home_page_continues_where_the_worker_left(app, enrolled):
    worker, course, lessons = enrolled
    client = login_client(app, worker)
    [link] = elements(client.get("/").get_data(as_text=True), "a", data_study_resume=str(course.id))
    assert link.get("href") == f"/courses/{course.id}/continue"
    finish(worker, lessons[0])
    page = client.get("/").get_data(as_text=True)
    assert data_texts(page, "data-study-resume") == ["Continue studying"]
    assert client.get(link.get("href")).location.endswith(f"/courses/{course.id}/lessons/2")
    for lesson in lessons[1:]:
        finish(worker, lesson)
    assert not elements(client.get("/").get_data(as_text=True), "a", data_study_resume=str(course.id))
