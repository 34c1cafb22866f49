"""Courses: authoring, review, revisions, visibility, the catalogue and its queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select

from classroom.accounts.models import Role, RoleGrant
from classroom.audit import AuditEvent
from classroom.database import statement_engines, utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.unions.models import Membership
from courses.attendance.models import Attendance
from courses.catalog.authoring import update_course
from courses.catalog.lessons import add_lesson, save_lesson, update_lesson
from courses.catalog.models import ClassSession, Course, CourseInstructor, CourseRevision, Lesson
from courses.catalog.sessions import add_weekly_series, delete_session
from courses.enrollment.models import Enrollment
from courses.enrollment.services import EnrollmentClosed, enroll
from courses.study.models import LessonProgress
from tests.factories import login_client
from tests.helpers import assert_inert, xss_payloads
from tests.markup import elements, input_value, selected

COURSE_FORM = {
    "title": "电工安全作业规程", "summary": "低压电工上岗必修", "description": "## 目标\n\n掌握**安全规程**",
    "category": "电工", "target_level": "4", "mode": "blended", "credit_minutes": "270", "studio": "王建国劳模创新工作室",
    "enroll_opens_at": "", "enroll_closes_at": "", "starts_on": "", "ends_on": "", "capacity": "30",
    "min_lesson_share": "100", "min_attendance_share": "0", "min_exam_score": "", "certificate_months": "36",
}


def course_form(tree, **overrides):
    return {**COURSE_FORM, "host_union_id": str(tree.a1.id), "scope_union_id": str(tree.city.id), **overrides}


def test_a_course_names_only_unions_its_author_may_choose(app, tree, instructor, make_user):
    """The host issues the certificates (its admins may revoke them): an instructor of A1 cannot name
    B1, a grassroots union elsewhere, though the city and the districts are anyone's to choose; a
    co-instructor from elsewhere keeps the unions the course already names."""
    teacher = login_client(app, instructor)
    form = teacher.get("/teach/courses/new").get_data(as_text=True)
    offered = [option.get("value") for option in elements(form, "option") if option.select == "host_union_id"]
    assert str(tree.b1.id) not in offered and str(tree.district_b.id) in offered
    for field in ("host_union_id", "scope_union_id"):
        page = teacher.post("/teach/courses/new", data=course_form(tree, **{field: str(tree.b1.id)}))
        assert page.status_code == 200 and "Choose one of the unions offered." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0
    assert teacher.post("/teach/courses/new", data=course_form(tree, scope_union_id=str(tree.district_b.id))
                        ).status_code == 302
    course = db.session.scalar(select(Course))
    colleague = make_user("西城教员", union=tree.b1, role=(Role.INSTRUCTOR, tree.b1))
    db.session.add(CourseInstructor(course_id=course.id, user_id=colleague.id))
    db.session.commit()
    other = login_client(app, colleague)
    edit_page = other.get(f"/teach/courses/{course.id}/edit").get_data(as_text=True)
    assert selected(edit_page, "host_union_id") == [str(tree.a1.id)]  # the host it has, though not one of theirs
    saved = other.post(f"/teach/courses/{course.id}/edit",
                       data=course_form(tree, title="改过的标题", scope_union_id=str(tree.district_b.id)))
    assert saved.status_code == 302
    db.session.refresh(course)
    assert (course.title, course.host_union_id) == ("改过的标题", tree.a1.id)
    refused = other.post(f"/teach/courses/{course.id}/edit", data=course_form(tree, host_union_id=str(tree.a2.id)))
    assert "Choose one of the unions offered." in refused.get_data(as_text=True)


def test_an_admin_never_publishes_or_approves_their_own_course(app, tree, make_user, make_admin):
    """Four eyes: an admin who teaches a course (or proposed the change) leaves publishing and
    approving to another admin of its scope; sending back and rejecting stay theirs."""
    both = make_user("兼任教员的管理员", union=tree.a1, role=(Role.UNION_ADMIN, tree.district_a))
    db.session.add(RoleGrant(user_id=both.id, role=Role.INSTRUCTOR, union_id=tree.a1.id))
    db.session.commit()
    own = login_client(app, both)
    assert own.post("/teach/courses/new", data=course_form(tree, scope_union_id=str(tree.district_a.id))
                    ).status_code == 302
    course = db.session.scalar(select(Course))
    own.post(f"/teach/courses/{course.id}/lessons/new", data={"title": "第一课", "body": "正文", "credit_minutes": "45"})
    own.post(f"/teach/courses/{course.id}/submit")
    page = own.get(f"/review/courses/{course.id}").get_data(as_text=True)
    assert "data-own-work" in page and "data-publish" not in page
    refused = own.post(f"/review/courses/{course.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "another administrator of its scope publishes it" in refused
    assert db.session.get(Course, course.id).status == "pending"
    other = login_client(app, make_admin(tree.district_a, "另一位管理员"))
    assert "data-publish" in other.get(f"/review/courses/{course.id}").get_data(as_text=True)
    other.post(f"/review/courses/{course.id}/publish")
    assert db.session.get(Course, course.id).status == "published"
    own.post(f"/teach/courses/{course.id}/edit", data=course_form(tree, scope_union_id=str(tree.district_a.id),
                                                                  credit_minutes="90"))
    revision = db.session.scalar(select(CourseRevision).where(CourseRevision.status == "pending"))
    assert "data-own-work" in own.get("/review/").get_data(as_text=True)
    own.post(f"/review/revisions/{revision.id}/approve")
    assert db.session.get(CourseRevision, revision.id).status == "pending"
    other.post(f"/review/revisions/{revision.id}/approve")
    assert db.session.get(CourseRevision, revision.id).status == "approved"


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
                       certificate_months="12", min_lesson_share="100", target_level="", host_union_id=str(tree.city.id))
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
    grassroots_hosted = make_course("班组长管理", category="管理", scope=tree.city)
    grassroots_hosted.host_union_id = tree.a1.id  # hosted by a grassroots union inside district A
    db.session.commit()
    client = login_client(app, make_user(union=tree.a1))

    def titles(query: str) -> list[str]:
        html = client.get(f"/courses/?{query}").get_data(as_text=True)
        return [title for title in ("焊接工艺", "电工基础", "快递服务规范") if title in html]

    assert titles("q=礼仪") == ["快递服务规范"]
    assert titles("category=焊工") == ["焊接工艺"]
    assert titles("level=5") == ["电工基础"]
    assert titles("mode=blended") == ["快递服务规范"]
    assert titles(f"union={tree.district_a.id}") == ["快递服务规范"]
    page = client.get(f"/courses/?union={tree.district_a.id}").get_data(as_text=True)
    assert "班组长管理" in page  # a district takes in the courses its grassroots unions host
    page = client.get(f"/courses/?union={tree.a1.id}").get_data(as_text=True)
    assert "班组长管理" in page and "快递服务规范" not in page
    assert "班组长管理" not in client.get(f"/courses/?union={tree.district_b.id}").get_data(as_text=True)
    offered = [option.get("value") for option in elements(client.get("/courses/").get_data(as_text=True), "option")
               if option.select == "union"]
    assert str(tree.district_a.id) in offered and str(tree.a1.id) in offered
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
    course = make_course(lessons=3, status="draft")
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
    frames = [frame.get("src", "") for frame in elements(html, "iframe")]
    if embedded:
        assert len(frames) == 1 and frames[0].startswith(embedded)
    else:
        assert frames == [] and elements(html, "a", href=url)


def test_embed_hosts_set_as_a_string_match_whole_host_names(app, tree, make_course, make_user):
    app.config["VIDEO_EMBED_HOSTS"] = "video.example.cn, player.bilibili.com"  # as CLASSROOM_VIDEO_EMBED_HOSTS
    course = make_course(lessons=2)
    first, second = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    first.video_url = "https://video.example.cn/v/1"
    second.video_url = "https://example.cn/v/1"  # a substring of an allowed host, not the host
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    client = login_client(app, worker)
    assert elements(client.get(f"/courses/{course.id}/lessons/1").get_data(as_text=True), "iframe",
                    src="https://video.example.cn/v/1")
    assert not elements(client.get(f"/courses/{course.id}/lessons/2").get_data(as_text=True), "iframe")


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
        for engine in statement_engines(self.engine):
            event.listen(engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        for engine in statement_engines(self.engine):
            event.remove(engine, "before_cursor_execute", self._count)

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
    course = make_course(lessons=0, status="draft")
    login_client(app, instructor).post(f"/teach/courses/{course.id}/sessions/series", data={
        "first_date": "2026-12-07", "weekday": "0", "start": "09:30", "duration_minutes": "60", "count": "1",
        "venue_name": "乌鲁木齐职工服务站", "credit_minutes": "60"})
    session = db.session.scalar(select(ClassSession))
    assert session.starts_at == datetime(2026, 12, 7, 3, 30, tzinfo=UTC)
    assert session.starts_at.date() == date(2026, 12, 7)


# ---- changes to a published course wait for review ---------------------------------------------

SESSION_FORM = {"title": "", "starts_at": "2026-12-10T19:00", "duration_minutes": "120", "venue_name": "市工人文化宫",
                "venue_address": "", "credit_minutes": "120"}


def session_rows(course):
    return [(s.id, s.starts_at, s.ends_at, s.venue_name, s.credit_minutes) for s in db.session.scalars(
        select(ClassSession).where(ClassSession.course_id == course.id).order_by(ClassSession.starts_at))]


def lesson_rows(course):
    return [tuple(row) for row in db.session.execute(
        select(Lesson.position, Lesson.title, Lesson.credit_minutes).where(Lesson.course_id == course.id)
        .order_by(Lesson.position))]


def kinds_for(user):
    return db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)).all()


def test_schedule_and_lesson_changes_to_a_published_course_wait_for_review(app, tree, make_course, make_user,
                                                                           make_admin, instructor):
    course = make_course("夜校电工班", lessons=3, sessions=2)
    worker = make_user(union=tree.a1)
    enroll(worker, course, now=utcnow())
    first, second = db.session.scalars(select(ClassSession).order_by(ClassSession.starts_at)).all()
    lesson1, lesson2, _lesson3 = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    db.session.add(Attendance(session_id=second.id, user_id=worker.id, status="present", method="roster"))
    db.session.add(LessonProgress(user_id=worker.id, lesson_id=lesson2.id, course_id=course.id, seconds_studied=60))
    db.session.commit()
    first_id, second_id = first.id, second.id
    live_sessions = session_rows(course)
    admin = make_admin(tree.city)
    teacher, base = login_client(app, instructor), f"/teach/courses/{course.id}"

    page = teacher.post(f"{base}/sessions/new", data=SESSION_FORM, follow_redirects=True).get_data(as_text=True)
    assert "waits for review" in page
    teacher.post(f"{base}/sessions/{first.id}/edit", data={**SESSION_FORM, "starts_at": "2026-12-03T18:30",
                                                           "venue_name": "东城区职工服务站"})
    teacher.post(f"{base}/sessions/{second.id}/delete")
    teacher.post(f"{base}/sessions/series", data={
        "first_date": "2027-01-04", "weekday": "0", "start": "19:00", "duration_minutes": "90", "count": "2",
        "venue_name": "西城区职工服务站", "credit_minutes": "90"})
    teacher.post(f"{base}/lessons/{lesson1.id}/edit", data={"title": "第1课（修订）", "body": "新内容",
                                                            "credit_minutes": "30"})
    teacher.post(f"{base}/lessons/{lesson2.id}/delete")
    teacher.post(f"{base}/lessons/new", data={"title": "第4课 复习", "body": "复习", "credit_minutes": "20"})

    # The live course stays; only the lesson's title and text changed at once.
    assert session_rows(course) == live_sessions
    assert lesson_rows(course) == [(1, "第1课（修订）", 10), (2, "第2课", 10), (3, "第3课", 10)]
    revision = db.session.scalar(select(CourseRevision))
    assert revision.status == "pending"
    held = revision.changes
    assert set(held) == {"sessions", "lessons"}
    assert held["sessions"]["delete"] == [second.id] and list(held["sessions"]["update"]) == [str(first.id)]
    assert [row["venue_name"] for row in held["sessions"]["add"]] == ["市工人文化宫", "西城区职工服务站", "西城区职工服务站"]
    assert held["lessons"]["minutes"] == {str(lesson1.id): 30} and held["lessons"]["delete"] == [lesson2.id]
    assert [row["title"] for row in held["lessons"]["add"]] == ["第4课 复习"]
    student = login_client(app, worker)
    course_page = student.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "市工人文化宫" not in course_page and course_page.count("东城区职工服务站") == 2
    assert "course.changed" not in kinds_for(worker)
    teach_page = teacher.get(base).get_data(as_text=True)
    for marker in ('data-pending-revision', 'data-held-session="delete"', 'data-held-session="update"',
                   'data-held-lesson="delete"', 'data-held-lesson="minutes"', 'data-held-lesson="add"',
                   'data-held-sessions="3"'):
        assert marker in teach_page, marker

    assert "course.revision" in kinds_for(admin)
    reviewer = login_client(app, admin)
    queue = reviewer.get("/review/").get_data(as_text=True)
    for text in ("市工人文化宫", "西城区职工服务站", 'data-change-session="add"', 'data-change-session="update"',
                 'data-change-session="delete"', 'data-change-lesson="minutes"', 'data-change-lesson="delete"',
                 "第4课 复习"):
        assert text in queue, text
    reviewer.post(f"/review/revisions/{revision.id}/approve")

    db.session.refresh(revision)
    assert revision.status == "approved"
    local = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    assert [(row[1], row[3], row[4]) for row in session_rows(course)] == [
        (local, "东城区职工服务站", 120), (datetime(2026, 12, 10, 11, 0, tzinfo=UTC), "市工人文化宫", 120),
        (datetime(2027, 1, 4, 11, 0, tzinfo=UTC), "西城区职工服务站", 90),
        (datetime(2027, 1, 11, 11, 0, tzinfo=UTC), "西城区职工服务站", 90)]
    assert session_rows(course)[0][0] == first_id and db.session.get(ClassSession, second_id) is None
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0  # went with its session
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 0  # went with its lesson
    assert lesson_rows(course) == [(1, "第1课（修订）", 30), (2, "第3课", 10), (3, "第4课 复习", 20)]
    assert "course.changed" in kinds_for(worker) and "course.revision.decided" in kinds_for(instructor)
    assert "市工人文化宫" in student.get(f"/courses/{course.id}").get_data(as_text=True)
    new_session = session_rows(course)[1][0]
    assert teacher.get(f"/teach/sessions/{new_session}/roster").status_code == 200  # attendance reads it
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "course.revision.approve")) is not None


def test_a_draft_changes_at_once(app, make_course, instructor):
    course = make_course(lessons=2, sessions=1, status="draft")
    session = db.session.scalar(select(ClassSession))
    lesson = db.session.scalar(select(Lesson).where(Lesson.position == 1))
    teacher, base = login_client(app, instructor), f"/teach/courses/{course.id}"
    teacher.post(f"{base}/sessions/{session.id}/edit", data=SESSION_FORM)
    teacher.post(f"{base}/lessons/{lesson.id}/edit", data={"title": "第1课", "body": "x", "credit_minutes": "40"})
    teacher.post(f"{base}/sessions/new", data={**SESSION_FORM, "starts_at": "2026-12-17T19:00"})
    assert [row[3] for row in session_rows(course)] == ["市工人文化宫", "市工人文化宫"]
    assert lesson_rows(course)[0] == (1, "第1课", 40)
    teacher.post(f"{base}/lessons/{lesson.id}/delete")
    assert lesson_rows(course) == [(1, "第2课", 10)]
    assert db.session.scalar(select(func.count()).select_from(CourseRevision)) == 0


def test_rejected_withdrawn_and_archived_changes_leave_the_live_course(app, tree, make_course, make_admin,
                                                                       instructor):
    course = make_course(lessons=1, sessions=1)
    session = db.session.scalar(select(ClassSession))
    teacher, base = login_client(app, instructor), f"/teach/courses/{course.id}"
    reviewer = login_client(app, make_admin(tree.city))
    teacher.post(f"{base}/sessions/{session.id}/delete")
    revision = db.session.scalar(select(CourseRevision))
    reviewer.post(f"/review/revisions/{revision.id}/reject", data={"reason": "时间冲突"})
    db.session.refresh(revision)
    assert (revision.status, revision.note) == ("rejected", "时间冲突")
    assert db.session.get(ClassSession, session.id) is not None
    assert "course.revision.decided" in kinds_for(instructor)

    teacher.post(f"{base}/sessions/{session.id}/delete")
    page = teacher.post(f"{base}/sessions/{session.id}/edit", data=SESSION_FORM).get_data(as_text=True)
    assert "already waits for review to be removed" in page
    pending = db.session.scalar(select(CourseRevision).where(CourseRevision.status == "pending"))
    assert pending.changes == {"sessions": {"delete": [session.id]}}
    teacher.post(f"{base}/revision/withdraw")
    assert db.session.scalars(select(CourseRevision.status).order_by(CourseRevision.id)).all() == [
        "rejected", "withdrawn"]
    teacher.post(f"{base}/sessions/{session.id}/delete")
    teacher.post(f"{base}/archive")
    assert db.session.scalars(select(CourseRevision.status).order_by(CourseRevision.id)).all() == [
        "rejected", "withdrawn", "withdrawn"]
    assert db.session.get(ClassSession, session.id) is not None
    assert teacher.post(f"{base}/sessions/new", data=SESSION_FORM).status_code == 200  # refused: archived
    assert db.session.scalar(select(func.count()).select_from(ClassSession)) == 1


def test_the_edit_form_shows_the_pending_change_and_setting_it_back_withdraws_it(app, tree, make_course,
                                                                                 instructor):
    course = make_course(capacity=20)
    teacher = login_client(app, instructor)
    form = course_form(tree, title=course.title, capacity="25", credit_minutes="90", target_level="",
                       certificate_months="", host_union_id=str(tree.city.id))
    teacher.post(f"/teach/courses/{course.id}/edit", data=form)
    html = teacher.get(f"/teach/courses/{course.id}/edit").get_data(as_text=True)
    assert input_value(html, "capacity") == "25"
    teacher.post(f"/teach/courses/{course.id}/edit", data={**form, "capacity": "20"})
    assert db.session.scalars(select(CourseRevision.status)).all() == ["withdrawn"]
    assert db.session.get(Course, course.id).capacity == 20


def test_capacity_below_the_enrolled_is_refused_at_approval_too(app, tree, make_course, make_user, make_admin,
                                                                 instructor):
    course = make_course(capacity=10)
    for index in range(2):
        enroll(make_user(f"工人{index}", union=tree.a1), course, now=utcnow())
    db.session.commit()
    form = course_form(tree, title=course.title, capacity="3", credit_minutes="90", target_level="",
                       certificate_months="", host_union_id=str(tree.city.id))
    login_client(app, instructor).post(f"/teach/courses/{course.id}/edit", data=form)
    revision = db.session.scalar(select(CourseRevision))
    assert revision.changes == {"capacity": 3}
    for index in range(2, 4):
        enroll(make_user(f"工人{index}", union=tree.a1), course, now=utcnow())
    db.session.commit()
    reviewer = login_client(app, make_admin(tree.city))
    page = reviewer.post(f"/review/revisions/{revision.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "cannot drop below the 4 people enrolled" in page
    assert db.session.get(Course, course.id).capacity == 10
    assert db.session.get(CourseRevision, revision.id).status == "pending"


def test_scope_and_host_changes_wait_for_an_admin_of_both_scopes(app, tree, make_course, make_user, make_admin,
                                                                 instructor):
    course = make_course("东城区专属课程", scope=tree.district_a)
    outsider = make_user(union=tree.b1)
    district_admin, city_admin = make_admin(tree.district_a, "东城管理员"), make_admin(tree.city, "市管理员")
    form = course_form(tree, title=course.title, credit_minutes="90", capacity="", target_level="",
                       certificate_months="", scope_union_id=str(tree.city.id), host_union_id=str(tree.a1.id))
    login_client(app, instructor).post(f"/teach/courses/{course.id}/edit", data=form)
    course = db.session.get(Course, course.id)
    assert (course.scope_union_id, course.host_union_id) == (tree.district_a.id, tree.district_a.id)
    revision = db.session.scalar(select(CourseRevision))
    assert revision.changes == {"scope_union_id": tree.city.id, "host_union_id": tree.a1.id}
    # A co-instructor from elsewhere (B1) sees the proposed host offered and chosen, and keeps it by saving.
    colleague = make_user("西城教员", union=tree.b1, role=(Role.INSTRUCTOR, tree.b1))
    db.session.add(CourseInstructor(course_id=course.id, user_id=colleague.id))
    db.session.commit()
    other = login_client(app, colleague)
    assert selected(other.get(f"/teach/courses/{course.id}/edit").get_data(as_text=True), "host_union_id") == [
        str(tree.a1.id)]
    assert other.post(f"/teach/courses/{course.id}/edit", data={**form, "summary": "新的简介"}).status_code == 302
    assert db.session.get(CourseRevision, revision.id).changes["host_union_id"] == tree.a1.id
    outside = login_client(app, outsider)
    assert outside.get(f"/courses/{course.id}").status_code == 404
    assert "course.revision" in kinds_for(city_admin) and "course.revision" not in kinds_for(district_admin)

    district = login_client(app, district_admin)
    queue = district.get("/review/").get_data(as_text=True)
    assert f'data-revision-needs="{tree.city.id}"' in queue and "东城区总工会" in queue and "市总工会" in queue
    district.post(f"/review/revisions/{revision.id}/approve")
    assert db.session.get(CourseRevision, revision.id).status == "pending"
    assert db.session.get(Course, course.id).scope_union_id == tree.district_a.id

    login_client(app, city_admin).post(f"/review/revisions/{revision.id}/approve")
    course = db.session.get(Course, course.id)
    assert (course.scope_union_id, course.host_union_id) == (tree.city.id, tree.a1.id)
    assert outside.get(f"/courses/{course.id}").status_code == 200


def test_reviewer_notifications_open_the_review_queue(app, tree, make_course, make_admin, instructor):
    admin = make_admin(tree.city)
    draft = make_course(status="draft")
    published = make_course(lessons=1)
    lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == published.id))
    teacher = login_client(app, instructor)
    teacher.post(f"/teach/courses/{draft.id}/submit")
    teacher.post(f"/teach/courses/{published.id}/lessons/{lesson.id}/delete")
    notes = db.session.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert sorted(note.kind for note in notes) == ["course.review", "course.revision"]
    reviewer = login_client(app, admin)
    for note in notes:
        response = reviewer.get(note.link)
        assert response.status_code == 200, note.link
        assert "Course review" in response.get_data(as_text=True)


def test_an_applicant_is_not_a_member_for_course_scope(app, tree, make_course, make_user):
    scoped = make_course("西城区会员课程", scope=tree.district_b)
    city_wide = make_course("全市公开课程")
    applicant = make_user(union=tree.b1, status="applied")
    client = login_client(app, applicant)
    catalogue_page = client.get("/courses/").get_data(as_text=True)
    assert "西城区会员课程" not in catalogue_page and "全市公开课程" in catalogue_page
    assert client.get(f"/courses/{scoped.id}").status_code == 404
    assert client.post(f"/courses/{scoped.id}/enroll").status_code == 404
    with pytest.raises(EnrollmentClosed):
        enroll(applicant, scoped, now=utcnow())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    assert client.post(f"/courses/{city_wide.id}/enroll").status_code == 302
    assert db.session.scalar(select(Enrollment.status).filter_by(course_id=city_wide.id)) == "enrolled"
    db.session.scalar(select(Membership).filter_by(user_id=applicant.id)).status = "active"
    db.session.commit()
    assert client.get(f"/courses/{scoped.id}").status_code == 200
    assert client.post(f"/courses/{scoped.id}/enroll").status_code == 302
    assert db.session.scalar(select(Enrollment.status).filter_by(course_id=scoped.id)) == "enrolled"


def test_the_review_queue_runs_the_same_queries_for_one_or_five_changes(app, tree, make_course, make_admin,
                                                                        instructor):
    reviewer = login_client(app, make_admin(tree.city))
    reviewer.get("/")

    def propose(index: int) -> None:
        scopes = (tree.district_a, tree.district_b, tree.industry, tree.a1, tree.b1)
        course = make_course(f"待审课程{index}", lessons=1, sessions=1, scope=scopes[index])
        session = db.session.scalar(select(ClassSession).where(ClassSession.course_id == course.id))
        delete_session(session, actor=instructor, now=utcnow())
        db.session.commit()
        lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id))
        update_lesson(lesson, {"credit_minutes": 25}, actor=instructor, now=utcnow())
        db.session.commit()
        update_course(course, {"scope_union_id": tree.city.id, "capacity": 30}, actor=instructor, now=utcnow())
        db.session.commit()

    propose(0)
    one = queries_for(reviewer, "/review/")
    for index in range(1, 5):
        propose(index)
    assert db.session.scalar(select(func.count()).select_from(CourseRevision)) == 5
    html = reviewer.get("/review/").get_data(as_text=True)
    assert html.count('data-change-session="delete"') == 5 and html.count('data-change-lesson="minutes"') == 5
    assert queries_for(reviewer, "/review/") == one


def test_instructors_add_a_co_instructor_by_mobile(app, tree, make_course, make_user, instructor):
    course = make_course(status="draft")
    worker = make_user("普通职工", union=tree.a1, mobile="13900000001")
    colleague = make_user("李秀珍", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1), mobile="13900000002")
    teacher, url = login_client(app, instructor), f"/teach/courses/{course.id}/instructors"

    def add(mobile: str) -> str:
        return teacher.post(url, data={"mobile": mobile}, follow_redirects=True).get_data(as_text=True)

    def taught_by() -> set[int]:
        return set(db.session.scalars(select(CourseInstructor.user_id).filter_by(course_id=course.id)))

    assert "No account has this mobile number." in add("13999999999")
    assert "This person is not an instructor." in add(worker.mobile)
    assert taught_by() == {instructor.id}
    assert "Added 李秀珍." in add(f" {colleague.mobile} ")
    assert taught_by() == {instructor.id, colleague.id}
    assert "Already an instructor of this course." in add(colleague.mobile)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "course.instructor.add")) == 1


def test_a_change_says_whether_it_went_live_or_waits_for_review(app, tree, make_course, instructor):
    """Adding answers one type (Change): the rows that went live, or the pending revision holding them."""
    draft, published = make_course(lessons=1, status="draft"), make_course(lessons=1)
    now = utcnow()
    added = add_lesson(draft, {"title": "新课", "credit_minutes": 30}, actor=instructor, now=now)
    assert added.live and added.revision is None and (added.made.title, added.made.position) == ("新课", 2)
    held = add_lesson(published, {"title": "新课", "credit_minutes": 30}, actor=instructor, now=now)
    assert not held.live and held.made is None and held.revision.status == "pending"
    again = add_lesson(published, {"title": "又一课", "credit_minutes": 30}, actor=instructor, now=now)
    assert again.revision.id == held.revision.id and len(again.revision.changes["lessons"]["add"]) == 2
    lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == published.id))
    text_only = save_lesson(published, lesson, {"title": "改名", "credit_minutes": lesson.credit_minutes},
                            actor=instructor, now=now)
    assert text_only.live and text_only.made is lesson and lesson.title == "改名"
    minutes = save_lesson(published, lesson, {"title": "改名", "credit_minutes": 99}, actor=instructor, now=now)
    assert not minutes.live and minutes.made is lesson and lesson.credit_minutes == 10
    series = dict(first_date=date(2026, 12, 7), weekday=0, start=time(19, 0), duration_minutes=90, count=3,
                  venue_name="市工人文化宫", venue_address=None, credit_minutes=90, tz="Asia/Shanghai")
    live_series = add_weekly_series(draft, **series, actor=instructor, now=now)
    assert live_series.live and [s.starts_at.day for s in live_series.made] == [7, 14, 21]
    waiting = add_weekly_series(published, **series, actor=instructor, now=now)
    assert not waiting.live and waiting.made is None and len(waiting.revision.changes["sessions"]["add"]) == 3
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ClassSession)
                             .where(ClassSession.course_id == published.id)) == 0
