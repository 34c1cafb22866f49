"""Courses: authoring, review, revisions, visibility, the catalogue and its queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from courses.catalog.models import ClassSession, Course, CourseRevision, Lesson
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from tests.factories import login_client
from tests.helpers import assert_inert, xss_payloads

COURSE_FORM = {
    "title": "电工安全作业规程", "summary": "低压电工上岗必修", "description": "## 目标\n\n掌握**安全规程**",
    "category": "电工", "target_level": "4", "mode": "blended", "credit_minutes": "270", "studio": "王建国劳模创新工作室",
    "enroll_opens_at": "", "enroll_closes_at": "", "starts_on": "", "ends_on": "", "capacity": "30",
    "min_lesson_share": "100", "min_attendance_share": "0", "min_exam_score": "", "certificate_months": "36",
}


def course_form(tree, **overrides):
    return {**COURSE_FORM, "host_union_id": str(tree.a1.id), "scope_union_id": str(tree.city.id), **overrides}


def test_instructor_writes_submits_and_an_admin_publishes(app, tree, instructor, make_admin, make_user):
    city_admin = make_admin(tree.city, "市管理员")
    teacher = login_client(app, instructor)
    response = teacher.post("/teach/courses/new", data=course_form(tree))
    assert response.status_code == 302
    course = db.session.scalar(select(Course))
    assert (course.status, course.capacity, course.mode, course.target_level) == ("draft", 30, "blended", 4)
    refused = teacher.post(f"/teach/courses/{course.id}/submit", follow_redirects=True).get_data(as_text=True)
    assert "Add at least one lesson or class session" in refused
    assert db.session.get(Course, course.id).status == "draft"
    for title in ("第一课 触电急救", "第二课 安全用具"):
        teacher.post(f"/teach/courses/{course.id}/lessons/new",
                     data={"title": title, "body": "**重点**", "credit_minutes": "45"})
    teacher.post(f"/teach/courses/{course.id}/sessions/series", data={
        "first_date": "2026-12-01", "weekday": "2", "start": "19:00", "duration_minutes": "90", "count": "4",
        "venue_name": "东城区职工服务站", "venue_address": "东城区工人路1号", "credit_minutes": "90"})
    sessions = db.session.scalars(select(ClassSession).order_by(ClassSession.starts_at)).all()
    assert [s.starts_at for s in sessions] == [datetime(2026, 12, d, 11, 0, tzinfo=UTC) for d in (2, 9, 16, 23)]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=90) for s in sessions)
    assert teacher.post(f"/teach/courses/{course.id}/submit").status_code == 302
    db.session.refresh(course)
    assert course.status == "pending"
    assert db.session.scalar(select(Notification).where(Notification.user_id == city_admin.id)) is not None
    reviewer = login_client(app, city_admin)
    assert "电工安全作业规程" in reviewer.get("/review/").get_data(as_text=True)
    reviewer.post(f"/review/courses/{course.id}/publish")
    db.session.refresh(course)
    assert course.status == "published" and course.published_at is not None
    worker = login_client(app, make_user(union=tree.b1))
    assert "电工安全作业规程" in worker.get("/courses/?q=安全作业").get_data(as_text=True)
    page = worker.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "第二课 安全用具" in page and "东城区职工服务站" in page and "<strong>重点</strong>" not in page


def test_a_district_admin_cannot_publish_a_city_wide_course(app, tree, make_course, make_admin):
    course = make_course(status="pending")
    client = login_client(app, make_admin(tree.district_b))
    assert client.post(f"/review/courses/{course.id}/publish").status_code == 404
    assert db.session.get(Course, course.id).status == "pending"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "scope.denied")) is not None


def test_send_back_needs_a_reason_and_tells_the_instructor(app, tree, make_course, make_admin, instructor):
    course = make_course(status="pending")
    client = login_client(app, make_admin(tree.city))
    client.post(f"/review/courses/{course.id}/send_back", data={"reason": ""})
    assert db.session.get(Course, course.id).status == "pending"
    client.post(f"/review/courses/{course.id}/send_back", data={"reason": "请补充考核方式"})
    course = db.session.get(Course, course.id)
    assert (course.status, course.review_note) == ("draft", "请补充考核方式")
    notice = db.session.scalar(select(Notification).where(Notification.user_id == instructor.id))
    assert "请补充考核方式" in notice.title


def test_workers_and_admins_cannot_author(app, tree, make_user, make_admin, make_course):
    course = make_course()
    for person in (make_user(union=tree.a1), make_admin(tree.city)):
        client = login_client(app, person)
        assert client.get("/teach/").status_code == 403
        assert client.post("/teach/courses/new", data=course_form(tree)).status_code == 403
    other_teacher = make_user("李老师", role=("instructor", tree.b1))
    client = login_client(app, other_teacher)
    assert client.get(f"/teach/courses/{course.id}/edit").status_code == 404
    assert client.post(f"/teach/courses/{course.id}/lessons/new", data={"title": "x", "credit_minutes": "5"}
                       ).status_code == 404


def test_published_change_waits_as_a_revision(app, tree, make_course, make_user, make_admin, instructor):
    course = make_course(capacity=20, certificate_months=12)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    form = course_form(tree, title=course.title, summary="新的简介", capacity="25", credit_minutes="90",
                       certificate_months="12", min_lesson_share="100", target_level="")
    assert teacher.post(f"/teach/courses/{course.id}/edit", data=form).status_code == 302
    db.session.refresh(course)
    assert course.summary == "新的简介" and course.capacity == 20  # summary live, capacity waits
    revision = db.session.scalar(select(CourseRevision))
    assert revision.changes == {"capacity": 25}
    reviewer = login_client(app, make_admin(tree.city))
    assert "25" in reviewer.get("/review/").get_data(as_text=True)
    reviewer.post(f"/review/revisions/{revision.id}/approve")
    db.session.refresh(course)
    assert course.capacity == 25
    assert db.session.scalar(select(Notification).where(Notification.user_id == worker.id,
                                                        Notification.kind == "course.changed")) is not None


def test_capacity_never_drops_below_the_enrolled(app, tree, make_course, make_user, instructor):
    course = make_course(capacity=5)
    for index in range(3):
        enroll(make_user(f"工人{index}", union=tree.a1), course, now=utcnow())
    db.session.commit()
    teacher = login_client(app, instructor)
    form = course_form(tree, title=course.title, capacity="2", credit_minutes="90", target_level="",
                       certificate_months="")
    page = teacher.post(f"/teach/courses/{course.id}/edit", data=form).get_data(as_text=True)
    assert "cannot drop below the 3 people enrolled" in page
    assert db.session.scalar(select(func.count()).select_from(CourseRevision)) == 0


def test_archived_courses_leave_the_catalogue(app, tree, make_course, instructor):
    course = make_course("即将归档的课程")
    login_client(app, instructor).post(f"/teach/courses/{course.id}/archive")
    assert "即将归档的课程" not in app.test_client().get("/courses/").get_data(as_text=True)


def test_scope_district_b_course_is_invisible_to_district_a(app, tree, make_course, make_user):
    course = make_course("西城区专属课程", scope=tree.district_b, lessons=1)
    outsider = make_user(union=tree.a1)
    insider = make_user(union=tree.b1)
    enroll(insider, course, now=utcnow())
    db.session.commit()
    client = login_client(app, outsider)
    assert "西城区专属课程" not in client.get("/courses/").get_data(as_text=True)
    for method, url in (("get", f"/courses/{course.id}"), ("post", f"/courses/{course.id}/enroll"),
                        ("get", f"/courses/{course.id}/lessons/1"), ("post", f"/courses/{course.id}/drop")):
        assert getattr(client, method)(url).status_code == 404, url
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1
    assert "西城区专属课程" in login_client(app, insider).get("/courses/").get_data(as_text=True)
    visitor = app.test_client()
    assert "西城区专属课程" not in visitor.get("/courses/").get_data(as_text=True)
    assert visitor.get(f"/courses/{course.id}").status_code == 404


def test_visitors_see_city_wide_courses(app, make_course):
    course = make_course("全市公开课")
    visitor = app.test_client()
    assert "全市公开课" in visitor.get("/courses/").get_data(as_text=True)
    assert visitor.get(f"/courses/{course.id}").status_code == 200


def test_drafts_are_invisible(app, tree, make_course, make_user):
    course = make_course("草稿课程", status="draft")
    client = login_client(app, make_user(union=tree.a1))
    assert client.get(f"/courses/{course.id}").status_code == 404


def test_catalogue_filters_search_and_sorts(app, tree, make_course, make_user):
    today = utcnow().date()
    make_course("焊接工艺", category="焊工", target_level=3, mode="offline", starts_on=today + timedelta(days=3),
                capacity=1, enrolled_count=1)
    make_course("电工基础", category="电工", target_level=5, mode="online", starts_on=today + timedelta(days=40),
                enrolled_count=9)
    make_course("快递服务规范", category="快递服务", mode="blended", scope=tree.district_a, enrolled_count=3,
                summary="网点安全与礼仪")
    client = login_client(app, make_user(union=tree.a1))

    def titles(query: str) -> list[str]:
        html = client.get(f"/courses/?{query}").get_data(as_text=True)
        return [title for title in ("焊接工艺", "电工基础", "快递服务规范") if title in html]

    assert titles("q=礼仪") == ["快递服务规范"]
    assert titles("category=焊工") == ["焊接工艺"]
    assert titles("level=5") == ["电工基础"]
    assert titles("mode=blended") == ["快递服务规范"]
    assert titles(f"union={tree.district_a.id}") == ["快递服务规范"]
    assert titles("seats=y") == ["电工基础", "快递服务规范"]
    assert titles("within=7") == ["焊接工艺"]
    html = client.get("/courses/?sort=popular").get_data(as_text=True)
    assert html.index("电工基础") < html.index("快递服务规范") < html.index("焊接工艺")
    html = client.get("/courses/?sort=starting").get_data(as_text=True)
    assert html.index("焊接工艺") < html.index("电工基础")
    assert client.get("/courses/?level=x&within=abc&sort=zzz&union=q").status_code == 200


def test_catalogue_paginates(app, make_course):
    for index in range(25):
        make_course(f"分页课程{index:02d}", lessons=0)
    html = app.test_client().get("/courses/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in html and html.count('data-course="') == 5


def test_lessons_reorder_and_delete(app, make_course, instructor):
    course = make_course(lessons=3)
    lessons = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    client = login_client(app, instructor)
    client.post(f"/teach/courses/{course.id}/lessons/{lessons[2].id}/move/up")
    order = db.session.scalars(select(Lesson.title).order_by(Lesson.position)).all()
    assert order == ["第1课", "第3课", "第2课"]
    client.post(f"/teach/courses/{course.id}/lessons/{lessons[0].id}/delete")
    rows = db.session.execute(select(Lesson.position, Lesson.title).order_by(Lesson.position)).all()
    assert [tuple(row) for row in rows] == [(1, "第3课"), (2, "第2课")]


def test_lesson_preview_renders_sanitized_markdown(app, make_course, instructor):
    course = make_course(lessons=0)
    client = login_client(app, instructor)
    html = client.post(f"/teach/courses/{course.id}/lessons/new", data={
        "title": "预览", "body": "# 标题\n\n<script>alert(1)</script>[点我](javascript:alert(1))", "credit_minutes": "10",
        "preview": "1"}).get_data(as_text=True)
    assert "<h1>标题</h1>" in html
    assert_inert(html)
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 0  # a preview saves nothing


@pytest.mark.parametrize(("url", "embedded"), [
    ("https://www.bilibili.com/video/BV1xx411c7mD", "https://player.bilibili.com/player.html?bvid=BV1xx411c7mD"),
    ("https://example.com/video.mp4", None),
])
def test_videos_embed_only_from_allowed_hosts(app, tree, make_course, make_user, url, embedded):
    course = make_course(lessons=1)
    db.session.scalar(select(Lesson)).video_url = url
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    html = login_client(app, worker).get(f"/courses/{course.id}/lessons/1").get_data(as_text=True)
    if embedded:
        assert f'<iframe src="{embedded}' in html
    else:
        assert "<iframe" not in html and f'href="{url}"' in html


def test_titles_and_bodies_render_inert_everywhere(app, tree, make_course, make_user, make_admin, instructor):
    payloads = xss_payloads()
    worker = make_user(union=tree.a1)
    courses = []
    for index, payload in enumerate(payloads):
        course = make_course(payload[:200], summary=payload, description=payload, lessons=1, category=f"c{index}")
        lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id))
        lesson.title, lesson.body = payload[:200], payload
        db.session.commit()
        enroll(worker, course, now=utcnow())
        courses.append(course)
    pending = make_course(payloads[0], status="pending")
    db.session.commit()
    student, teacher = login_client(app, worker), login_client(app, instructor)
    reviewer = login_client(app, make_admin(tree.city))
    pages = [(student, "/courses/"), (student, "/courses/?page=2"), (student, "/courses/?page=3"),
             (student, "/courses/mine"), (student, "/courses/mine?page=2"), (teacher, "/teach/"),
             (reviewer, "/review/"), (reviewer, f"/review/courses/{pending.id}"), (student, "/courses/?q=%3Cscript%3E")]
    for course in courses:
        pages += [(student, f"/courses/{course.id}"), (student, f"/courses/{course.id}/lessons/1"),
                  (teacher, f"/teach/courses/{course.id}"), (teacher, f"/teach/courses/{course.id}/roster")]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.get_data(as_text=True))


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, connection, cursor, statement, *args):
        if not statement.startswith("BEGIN"):  # SQLite's transaction start, not a query
            self.count += 1


def queries_for(client, url) -> int:
    with QueryCounter(db.engine) as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_query_counts_stay_flat(app, tree, make_course, make_user):
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    first = make_course("单门课程", lessons=1, sessions=1)
    enroll(worker, first, now=utcnow())
    db.session.commit()
    client.get("/")  # the first request of a session asks a few one-off questions (consents)
    one = {url: queries_for(client, url) for url in ("/courses/", f"/courses/{first.id}", "/courses/mine")}
    big = make_course("两百课时", lessons=200, sessions=200)
    for index in range(60):
        course = make_course(f"课程{index}", lessons=2)
        enroll(worker, course, now=utcnow())
    enroll(worker, big, now=utcnow())
    db.session.commit()
    many = {"/courses/": queries_for(client, "/courses/?page=1"),
            f"/courses/{first.id}": queries_for(client, f"/courses/{big.id}"),
            "/courses/mine": queries_for(client, "/courses/mine")}
    for url in one:
        assert many[url] == one[url] <= 10, (url, one[url], many[url])


def test_query_counts_with_page_size_50(app, tree, make_course, make_user):
    app.config["PAGE_SIZE"] = 50
    worker = make_user(union=tree.a1)
    client = login_client(app, worker)
    make_course("第一门")
    client.get("/")
    one = queries_for(client, "/courses/")
    for index in range(120):
        make_course(f"更多{index}", lessons=0)
    assert queries_for(client, "/courses/") == one <= 10


def test_dates_of_the_series_follow_the_instructors_timezone(app, make_course, instructor):
    instructor.timezone = "Asia/Urumqi"
    db.session.commit()
    course = make_course(lessons=0)
    login_client(app, instructor).post(f"/teach/courses/{course.id}/sessions/series", data={
        "first_date": "2026-12-07", "weekday": "0", "start": "09:30", "duration_minutes": "60", "count": "1",
        "venue_name": "乌鲁木齐职工服务站", "credit_minutes": "60"})
    session = db.session.scalar(select(ClassSession))
    assert session.starts_at == datetime(2026, 12, 7, 3, 30, tzinfo=UTC)
    assert session.starts_at.date() == date(2026, 12, 7)
