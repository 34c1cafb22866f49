"""Journey at phone width in zh_CN: the city federation's admin creates a skills competition (a round,
an event for senior electricians) and publishes it; a level-4 worker sees why they may not enter,
records their new level-3 certificate, which their union verifies, and enters; the grassroots admin
approves; the organizer confirms, enters the score, sees what the results still wait for (sign-up, the
round), and once the competition is over publishes them; the worker sees the award and the public results
page shows the name masked."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import segno
from playwright.sync_api import expect
from sqlalchemy import select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.timefmt import zone
from courses.competitions.models import Competition
from tests.factories import PASSWORD
from tests.test_competitions import the_competition_is_over


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#identifier", user.mobile)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def local(moment) -> str:
    return moment.astimezone(zone("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def submit(page) -> None:
    page.locator("main form button[type=submit]").last.click()


def test_create_refuse_verify_enter_approve_confirm_score_award(live_server, new_page, tree, make_user, make_admin):
    organizer = make_admin(tree.city, "赵卫东", locale="zh_CN")
    grassroots = make_admin(tree.a1, "钱丽华", locale="zh_CN")
    worker = make_user("张小明", union=tree.a1, locale="zh_CN", skill_level=4, birth_year=1992, years_in_trade=9,
                       trade="电工")
    now = utcnow()

    office = new_page("zh-CN")
    office.on("dialog", lambda dialog: dialog.accept())
    log_in(office, live_server, organizer)
    office.goto(f"{live_server}/competitions/manage")
    office.locator("[data-new-competition]").click()
    office.fill("#title", "2026年全市职工电工技能大赛")
    office.fill("#edition", "第十届")
    office.select_option("#level", "city")
    office.select_option("#organizer_union_id", str(tree.city.id))
    office.fill("#signup_opens_at", local(now - timedelta(days=1)))
    office.fill("#signup_closes_at", local(now + timedelta(days=10)))
    office.fill("#notice_md", "## 竞赛通知\n\n**报名条件**：三级/高级工及以上。")
    submit(office)
    expect(office.locator("[data-competition-status=draft]")).to_be_visible()
    office.locator("[data-add-stage]").click()
    office.fill("#name", "实操决赛")
    office.select_option("#kind", "practical")
    office.fill("#starts_at", local(now + timedelta(days=20)))
    office.fill("#ends_at", local(now + timedelta(days=20, hours=3)))
    office.fill("#venue", "市职工技能实训基地")
    submit(office)
    office.locator("[data-add-event]").click()
    office.fill("#name", "电工（个人赛）")
    office.fill("#trade", "电工")
    office.select_option("#min_skill_level", "3")
    office.fill("#overall_cap", "30")
    submit(office)
    expect(office.locator("[data-managed-event]")).to_have_count(1)
    office.locator("[data-publish]").click()
    expect(office.locator("[data-competition-status=published]")).to_be_visible()
    dashboard = office.url

    student = new_page("zh-CN")
    log_in(student, live_server, worker)
    student.goto(f"{live_server}/competitions/")
    student.locator("[data-competition] a", has_text="全市职工电工技能大赛").click()
    expect(student.locator("[data-eligible=no] [data-reason]")).to_have_text(re.compile(r"三级|skill level 3"))
    expect(student.locator("[data-enter]")).to_have_count(0)
    notice = student.url
    scan = io.BytesIO()
    segno.make("S073132000105253000218").save(scan, kind="png", scale=4)
    student.goto(f"{live_server}/me/certificates/skills/new")
    student.fill("#number", "S073132000105253000218")
    student.fill("#occupation", "电工")
    student.select_option("#level", "3")
    student.fill("#evaluation_body", "市职业技能鉴定指导中心")
    student.fill("#issued_on", "2025-06-18")
    student.set_input_files("#file", {"name": "证书.png", "mimeType": "image/png", "buffer": scan.getvalue()})
    submit(student)
    expect(student.locator(".alert-success")).to_be_visible()

    union = new_page("zh-CN")
    log_in(union, live_server, grassroots)
    union.goto(f"{live_server}/certificates/skills")
    union.locator("[data-verify-skill]").click()
    expect(union.locator(".alert-success")).to_be_visible()

    student.goto(notice)
    expect(student.locator("[data-eligible=yes]")).to_be_visible()
    student.locator("[data-enter]").click()
    expect(student.locator("[data-entry-status=submitted]")).to_be_visible()
    expect(student.locator("[data-waiting-at]")).to_contain_text("华东机电工会")

    union.goto(f"{live_server}/competitions/approvals")
    union.locator("[data-admin-entry] [data-approve]").click()
    expect(union.locator(".alert-success")).to_be_visible()

    office.goto(f"{live_server}/competitions/approvals")
    office.locator("[data-admin-entry] [data-confirm-entry]").click()
    expect(office.locator(".alert-success")).to_be_visible()
    office.goto(dashboard)
    office.locator("[data-scores-link]").click()
    office.locator("[data-score-entry] input").first.fill("96.5")
    office.locator("[data-save-scores]").click()
    expect(office.locator("[data-score-entry] [data-rank]")).to_have_text("1")
    office.goto(dashboard)  # sign-up is open and the round ahead: the page says so instead of publishing
    expect(office.locator("[data-results-missing] li")).to_have_count(2)
    expect(office.locator("[data-publish-results]")).to_have_count(0)
    db.session.rollback()  # a fresh snapshot: the competition was made by the server's thread
    the_competition_is_over(db.session.scalar(select(Competition).where(Competition.title.contains("电工技能大赛"))))
    office.goto(dashboard)
    office.locator("[data-publish-results]").click()
    expect(office.locator("[data-results] [data-result-name]")).to_contain_text("张*明")

    student.goto(f"{live_server}/competitions/mine")
    expect(student.locator("[data-my-award=first]")).to_be_visible()
    student.locator("[data-my-entry]").click()
    expect(student.locator("[data-entry-result] [data-award=first]")).to_be_visible()

    visitor = new_page("zh-CN")
    visitor.goto(notice.rstrip("/") + "/results")
    expect(visitor.locator("[data-result-name]")).to_have_text("张*明")
    expect(visitor.locator("body")).not_to_contain_text("张小明")
