"""The course page (issue 20): what every reader of one version of a course sees is drawn once per process and
kept; any change to what the page shows — the course's fields, lessons, class sessions, instructors and their
names, its host union's name, its announcements, its status — shows at once; a reader's own part is read in
one statement whatever the outline's size; the kept drawings are bounded."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from classroom.cache import app_cache
from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog.models import Announcement, ClassSession, Course, CourseRevision, Lesson
from courses.catalog.versions import raise_versions
from courses.enrollment import drawing
from courses.enrollment.models import Enrollment
from courses.enrollment.services import can_access, enroll
from tests.conftest import auth_cache_settings
from tests.factories import PASSWORD, login_client
from tests.helpers import same_page, sql_statements
from tests.test_catalog import SESSION_FORM, course_form

CSRF_FIELD = r'name="csrf_token"[^>]*? value="([^"]+)"'


def version(course) -> int:
    return db.session.scalar(select(Course.content_version).where(Course.id == course.id))


def approve_pending(reviewer) -> None:
    revision = db.session.scalar(select(CourseRevision).where(CourseRevision.status == "pending"))
    assert reviewer.post(f"/review/revisions/{revision.id}/approve").status_code == 302


def test_each_change_to_what_the_page_shows_shows_at_once(app, tree, make_course, make_user, make_admin,
                                                          instructor):
    course = make_course("电工安全", lessons=2, sessions=1, description="**旧的**说明")
    worker = make_user("李工", union=tree.a1)
    enroll(worker, course, now=utcnow())
    db.session.commit()
    student, teacher = login_client(app, worker), login_client(app, instructor)
    reviewer, base = login_client(app, make_admin(tree.city)), f"/teach/courses/{course.id}"

    def page() -> str:
        answer = student.get(f"/courses/{course.id}")
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    first = page()
    assert "<strong>旧的</strong>说明" in first and "电工安全" in first
    assert same_page(page()) == same_page(first)  # read again from the kept drawing
    kept = version(course)

    teacher.post(f"{base}/edit", data=course_form(tree, title="电工安全（新版）", description="## 新的说明\n\n**更新**",
                                                  host_union_id=str(tree.city.id)))
    shown = page()
    assert "电工安全（新版）" in shown and "<strong>更新</strong>" in shown and "旧的" not in shown
    assert version(course) > kept

    teacher.post(f"{base}/lessons/new", data={"title": "第3课 触电急救", "body": "步骤", "credit_minutes": "20"})
    assert "第3课 触电急救" not in page()  # on a published course it waits for review
    approve_pending(reviewer)
    assert "第3课 触电急救" in page()

    session = db.session.scalar(select(ClassSession).where(ClassSession.course_id == course.id))
    teacher.post(f"{base}/sessions/{session.id}/edit", data={**SESSION_FORM, "venue_name": "西城区职工服务站"})
    approve_pending(reviewer)
    assert "西城区职工服务站" in page() and "东城区职工服务站" not in page()

    instructor.real_name = "王建军"  # the instructor's own profile
    tree.city.name = "市总工会（职工学堂）"  # the host union renamed
    db.session.commit()
    shown = page()
    assert ">王建军</dd>" in shown and ">王建国</dd>" not in shown and " · 市总工会（职工学堂） · " in shown

    teacher.post(f"/teach/courses/{course.id}/announcements", data={"title": "周六加课", "body": "带上绝缘手套"})
    assert "周六加课" in page()

    teacher.post(f"{base}/archive")
    assert 'text-bg-secondary">Archived</span>' in page()  # still the enrolled worker's course
    assert login_client(app, make_user(union=tree.a1)).get(f"/courses/{course.id}").status_code == 404


def test_changes_made_in_the_database_session_and_in_bulk_show_at_once(app, make_course, instructor):
    course = make_course("焊工入门", lessons=3, sessions=1, status="draft")
    teacher = login_client(app, instructor)
    assert "第2课" in teacher.get(f"/courses/{course.id}").get_data(as_text=True)
    lesson = db.session.scalar(select(Lesson).where(Lesson.course_id == course.id, Lesson.position == 1))
    teacher.post(f"/teach/courses/{course.id}/lessons/{lesson.id}/delete")  # the others move up in one statement
    shown = teacher.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "第1课" not in shown and "第2课" in shown and "第3课" in shown and shown.count('<li class="list-group-item d') == 2

    session = db.session.scalar(select(ClassSession).where(ClassSession.course_id == course.id))
    session.starts_at += timedelta(days=1)
    session.venue_name = "市工人文化宫"
    db.session.commit()
    assert "市工人文化宫" in teacher.get(f"/courses/{course.id}").get_data(as_text=True)

    before = version(course)
    db.session.execute(update(Lesson).where(Lesson.course_id == course.id).values(title="改名"))  # names no course
    db.session.commit()
    assert version(course) == before + 1 and "改名" in teacher.get(f"/courses/{course.id}").get_data(as_text=True)


def test_seat_counts_are_read_live_and_do_not_redraw_the_course(app, tree, make_course, make_user):
    course = make_course("叉车司机", capacity=2)
    reader = login_client(app, make_user(union=tree.a1))
    assert 'data-seats-left>2<' in reader.get(f"/courses/{course.id}").get_data(as_text=True)
    kept = version(course)
    for _ in range(2):
        enroll(make_user(union=tree.a1), course, now=utcnow())
        db.session.commit()
    shown = reader.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'data-seats-left>0<' in shown and "Join the waitlist" in shown
    assert version(course) == kept  # sign-ups change the counters, not what is drawn


def test_the_page_opens_for_exactly_those_who_may_access_the_course(app, tree, make_course, make_user, make_admin,
                                                                    instructor):
    courses = [make_course("全市课程"), make_course("东城课程", scope=tree.district_a),
               make_course("西城课程", scope=tree.district_b), make_course("草稿", status="draft"),
               make_course("已归档", status="archived"), make_course("待审核", scope=tree.district_b, status="pending")]
    member_a, member_b = make_user(union=tree.a1), make_user(union=tree.b1)
    db.session.add(Enrollment(user_id=member_a.id, course_id=courses[4].id, status="completed", requested_at=utcnow()))
    db.session.commit()
    people = [member_a, member_b, make_user(union=tree.a1, status="applied"), instructor,
              make_admin(tree.district_a), make_admin(tree.district_b)]
    for person in people:
        client = login_client(app, person)
        for course in courses:
            expected = can_access(person, course)
            assert (client.get(f"/courses/{course.id}").status_code == 200) == expected, (person.real_name, course.title)
    visitor = app.test_client()
    assert [visitor.get(f"/courses/{course.id}").status_code for course in courses] == [200, 404, 404, 404, 404, 404]


def _page_statements(client, course) -> list[str]:
    path = f"/courses/{course.id}"
    client.get(path)  # drawn and kept
    with sql_statements() as seen:
        assert client.get(path).status_code == 200
    return seen


def _course_statements(statements: list[str]) -> list[str]:
    """Those of the statements that are the page's own (loading the signed-in person aside)."""
    return [statement for statement in statements if "FROM course" in statement]


def test_one_statement_reads_the_readers_part_whatever_the_outline(app, tree, make_course, make_user):
    worker = make_user(union=tree.a1)
    small, big = make_course("一课", lessons=1), make_course("大课", lessons=80, sessions=40)
    for index in range(12):
        db.session.add(Announcement(course_id=big.id, title=f"通知{index}", body="内容", created_at=utcnow()))
    for course in (small, big):
        enroll(worker, course, now=utcnow())
    db.session.commit()
    client = login_client(app, worker)
    seen = {course.id: _page_statements(client, course) for course in (small, big)}
    assert len(seen[small.id]) == len(seen[big.id])
    assert [len(_course_statements(statements)) for statements in seen.values()] == [1, 1], seen
    visitor = app.test_client()
    assert len(_page_statements(visitor, small)) == 1


class TestWithTheLogInCache:
    @pytest.fixture
    def app_config(self):
        return auth_cache_settings()

    def test_a_signed_in_readers_page_is_one_statement(self, app, tree, make_course, make_user):
        worker = make_user(union=tree.a1)
        course = make_course("一课", lessons=30, sessions=10)
        enroll(worker, course, now=utcnow())
        db.session.commit()
        client = login_client(app, worker)
        client.get("/")  # the first request of a log-in session loads the person
        assert len(_page_statements(client, course)) == 1


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_kept_side_column_carries_each_readers_own_token(self, app, tree, make_course, make_user):
        course = make_course("叉车司机")
        path = f"/courses/{course.id}"
        tokens = []
        for reader in (make_user(union=tree.a1), make_user(union=tree.a1)):  # the same state: the same side column
            client = app.test_client()
            login = client.get("/auth/login").get_data(as_text=True)
            client.post("/auth/login", data={"identifier": reader.mobile, "password": PASSWORD,
                                             "csrf_token": re.search(CSRF_FIELD, login).group(1)})
            page = client.get(path).get_data(as_text=True)
            found = set(re.findall(CSRF_FIELD, page))  # the care switch's, the log-out's, the side column's forms
            assert len(found) == 1 and "\x00" not in page and f'action="{path}/follow"' in page
            token = found.pop()
            assert client.post(f"{path}/follow", data={"csrf_token": token}).status_code == 302  # a valid token
            assert "Stop following" in client.get(path).get_data(as_text=True)
            tokens.append(token)
        assert tokens[0] != tokens[1]
        assert len(app_cache("course-asides")._entries) == 2  # not following, then following: two states


def test_kept_drawings_are_bounded(app, make_course, make_user, tree, monkeypatch):
    monkeypatch.setattr(drawing, "KEPT", 3)
    reader = login_client(app, make_user(union=tree.a1))
    for index in range(5):
        assert reader.get(f"/courses/{make_course(f'课程{index}').id}").status_code == 200
    kept = app_cache("course-pages")
    assert len(kept._entries) == kept.max_entries == 3


def test_raising_versions_in_bulk(app, make_course):
    first, second = make_course(), make_course()
    before = version(first), version(second)
    raise_versions(db.session(), {first.id})
    assert (version(first), version(second)) == (before[0] + 1, before[1])
    raise_versions(db.session(), None)
    assert (version(first), version(second)) == (before[0] + 2, before[1] + 1)
