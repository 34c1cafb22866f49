"""Journey at phone width: an instructor opens check-in; a worker in a second browser context
types the code; the roster shows present; the worker sees the hours on /me/hours; a district admin
opens the report, drills down and downloads the XLSX."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog.models import ClassSession
from courses.enrollment.services import enroll
from tests.browser.conftest import screenshot
from tests.browser.test_course_journey import log_in


def test_checkin_roster_hours_and_report(live_server, new_page, tree, instructor, make_course, make_user, make_admin):
    course = make_course("电工安全作业规程", lessons=0)
    now = utcnow()
    session = ClassSession(course_id=course.id, starts_at=now + timedelta(minutes=5),
                           ends_at=now + timedelta(minutes=95), venue_name="东城区职工服务站", credit_minutes=90)
    db.session.add(session)
    worker = make_user("张小明", union=tree.a1, locale="zh_CN")
    enroll(worker, course, now=now)
    admin = make_admin(tree.district_a, "钱丽华", locale="zh_CN")
    db.session.commit()

    teacher = new_page("zh-CN")
    log_in(teacher, live_server, instructor)
    teacher.goto(f"{live_server}/teach/sessions/{session.id}/roster")
    teacher.locator("[data-open-checkin]").click()
    code = teacher.locator("[data-checkin-code]").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    screenshot(teacher, "checkin-code-zh-CN")

    student = new_page("zh-CN")
    log_in(student, live_server, worker)
    student.goto(f"{live_server}/checkin")
    student.fill("#code", code)
    student.locator("main form button[type=submit]").click()
    expect(student.locator(".alert-success")).to_be_visible()
    screenshot(student, "checked-in-zh-CN")

    teacher.goto(f"{live_server}/teach/sessions/{session.id}/roster")
    expect(teacher.locator(f"[data-roster-person='{worker.id}']")).to_have_attribute("data-status", "present")

    student.goto(f"{live_server}/me/hours")
    expect(student.locator("[data-minutes]").first).to_have_attribute("data-minutes", "90")
    screenshot(student, "my-hours-zh-CN")

    office = new_page("zh-CN")
    log_in(office, live_server, admin)
    office.goto(f"{live_server}/reports/hours")
    expect(office.locator("[data-total-minutes]")).to_have_attribute("data-total-minutes", "90")
    office.locator(f"[data-union-row='{tree.a1.id}'] a").click()
    expect(office.locator(f"[data-member-row='{worker.id}']")).to_contain_text("张小明")
    screenshot(office, "report-drilldown-zh-CN")
    with office.expect_download() as download_info:
        office.locator("[data-export=xlsx]").click()
    path = download_info.value.path()
    rows = list(load_workbook(io.BytesIO(Path(path).read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][4] and rows[1][0] == "张小明" and rows[1][4] == 2.0  # name … training hours
