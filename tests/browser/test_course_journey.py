"""Journey at phone width in zh_CN: an instructor creates a course with 2 lessons and a weekly
session series and submits it; the admin publishes it; a worker finds it by search, enrolls,
studies a lesson and passes the exam."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from classroom.extensions import db
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD


@pytest.fixture
def app_config() -> dict:
    # One heartbeat a second, and 5% of a 1-minute lesson (3 s) before "complete" is offered.
    return {"WTF_CSRF_ENABLED": True, "HEARTBEAT_SECONDS": 1, "LESSON_COMPLETE_SHARE": 0.05}


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#identifier", user.mobile)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def test_author_review_enroll_study_and_pass(live_server, new_page, tree, instructor, make_admin, make_user):
    instructor.locale = "zh_CN"
    db.session.commit()
    admin = make_admin(tree.city, "赵卫东", locale="zh_CN")
    worker = make_user("张小明", union=tree.a1, locale="zh_CN")

    teacher = new_page("zh-CN")
    teacher.on("dialog", lambda dialog: dialog.accept())
    log_in(teacher, live_server, instructor)
    teacher.goto(f"{live_server}/teach/courses/new")
    expect(teacher.locator("html")).to_have_attribute("lang", "zh-CN")
    teacher.fill("#title", "电工安全作业规程")
    teacher.fill("#summary", "低压电工上岗必修课")
    teacher.fill("#category", "电工")
    teacher.select_option("#mode", "blended")
    teacher.fill("#credit_minutes", "180")
    teacher.select_option("#scope_union_id", str(tree.city.id))
    teacher.fill("#min_exam_score", "60")
    teacher.locator("main form button[type=submit]").click()
    expect(teacher.locator("[data-course-status=draft]")).to_be_visible()
    course_url = teacher.url
    for title in ("触电急救", "安全用具的使用"):
        teacher.goto(course_url)
        teacher.locator("a[href$='/lessons/new']").click()
        teacher.fill("#title", title)
        teacher.fill("#body", f"## {title}\n\n**要点**：先断电，后施救。")
        teacher.fill("#credit_minutes", "1")
        teacher.locator("main form button[type=submit]:not([name=preview])").click()
        expect(teacher.locator(".alert-success")).to_be_visible()
    teacher.goto(course_url)
    teacher.locator("a[href$='/sessions/series']").click()
    teacher.fill("#first_date", "2026-12-01")
    teacher.select_option("#weekday", "2")
    teacher.fill("#start", "19:00")
    teacher.fill("#count", "3")
    teacher.fill("#venue_name", "东城区职工服务站")
    teacher.locator("main form button[type=submit]").click()
    expect(teacher.locator("#sessions ~ ul li")).to_have_count(3)
    teacher.locator("a[href$='/exam']").first.click()
    teacher.fill("#title", "结业考试")
    teacher.locator("main form button[type=submit]").first.click()
    teacher.locator("a[href$='/exam/questions/new']").click()
    teacher.fill("#text", "发现有人触电，首先应当：")
    teacher.fill("#options", "直接用手拉开\n立即切断电源")
    teacher.fill("#correct", "2")
    teacher.locator("main form button[type=submit]").click()
    expect(teacher.locator("[data-exam-builder-questions] li")).to_have_count(1)
    teacher.goto(course_url)
    screenshot(teacher, "course-draft-zh-CN")
    teacher.locator("[data-submit-review]").click()
    expect(teacher.locator("[data-course-status=pending]")).to_be_visible()

    office = new_page("zh-CN")
    log_in(office, live_server, admin)
    office.goto(f"{live_server}/review/")
    office.locator("[data-review-course]", has_text="电工安全作业规程").click()
    office.locator("[data-publish]").click()
    expect(office.locator(".alert-success")).to_be_visible()

    student = new_page("zh-CN")
    student.on("dialog", lambda dialog: dialog.accept())
    log_in(student, live_server, worker)
    student.goto(f"{live_server}/courses/")
    student.fill("#q", "安全作业")
    student.locator("main form button[type=submit]").first.click()
    student.locator("[data-course] a", has_text="电工安全作业规程").click()
    screenshot(student, "course-page-zh-CN")
    student.locator("[data-enroll]").click()
    expect(student.locator("[data-enrollment-status=enrolled]")).to_be_visible()
    student.locator("a[href$='/lessons/1']").first.click()
    expect(student.locator("h1")).to_have_text("触电急救")
    complete = student.locator("[data-complete]")
    expect(complete).to_be_enabled(timeout=20_000)  # the heartbeat credits real time only
    screenshot(student, "lesson-zh-CN")
    complete.click()
    expect(student.locator("h1")).to_have_text("安全用具的使用")
    student.goto(re.sub(r"/lessons/\d+$", "/exam", student.url))
    student.locator("[data-start-exam]").click()
    student.get_by_label("立即切断电源").check()
    screenshot(student, "exam-zh-CN")
    student.locator("[data-submit-exam]").click()
    expect(student.locator("[data-passed=yes]")).to_be_visible()
    expect(student.locator("[data-score]")).to_have_attribute("data-score", "100")
    screenshot(student, "exam-passed-zh-CN")
