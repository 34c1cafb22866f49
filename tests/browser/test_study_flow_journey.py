"""The study flow at phone width (issue 16): "继续学习" opens the first unfinished lesson where its page was
left; the union search on the registration page keeps what was typed; the hours report's member table keeps
each name on one line and scrolls sideways."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select, update

from classroom.database import utcnow
from classroom.extensions import db
from courses.catalog.models import Lesson
from courses.enrollment.services import enroll
from courses.study import services as study
from courses.study.models import LessonProgress
from tests.browser.test_course_journey import log_in


def test_continue_studying_opens_the_first_unfinished_lesson_where_it_was_left(live_server, new_page, tree,
                                                                                make_course, make_user):
    course = make_course("电工安全作业规程", lessons=3)
    long_body = "\n\n".join(f"第{n}段：停电、验电、装设接地线，悬挂标示牌和装设遮栏。" * 3 for n in range(80))
    db.session.execute(update(Lesson).values(body=long_body))
    worker = make_user("张小明", union=tree.a1, locale="zh_CN")
    enroll(worker, course, now=utcnow())
    first, second, _third = db.session.scalars(select(Lesson).order_by(Lesson.position)).all()
    start = utcnow() - timedelta(minutes=10)
    study.open_lesson(worker, first, now=start)
    for beat in range(30, 601, 30):
        study.heartbeat(worker, first, now=start + timedelta(seconds=beat))
    study.complete_lesson(worker, first, now=start + timedelta(seconds=601))
    study.open_lesson(worker, second, now=start)
    db.session.execute(update(LessonProgress).where(LessonProgress.lesson_id == second.id).values(read_permille=500))
    db.session.commit()

    page = new_page("zh-CN")
    log_in(page, live_server, worker)
    page.goto(f"{live_server}/courses/{course.id}")
    page.get_by_role("link", name="继续学习").click()
    expect(page).to_have_url(re.compile(rf"/courses/{course.id}/lessons/2$"))
    expect(page.locator("h1")).to_have_text("第2课")
    # back where the page was left, half-way down (Bootstrap scrolls smoothly: wait for it to arrive)
    share = "() => window.scrollY / (document.documentElement.scrollHeight - window.innerHeight)"
    page.wait_for_function(f"() => ({share})() > 0.45")
    assert 0.45 < page.evaluate(share) < 0.55


def test_the_union_search_keeps_what_was_typed(live_server, new_page, tree):
    page = new_page("zh-CN")
    page.goto(f"{live_server}/auth/register")
    page.fill("#real_name", "王小工")
    page.fill("#mobile", "13912345678")
    page.fill("#password", "Steel-Worker-2026")
    page.fill("#confirm", "Steel-Worker-2026")
    page.fill("#union_query", "银泰")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.locator("button[name=search]").click()
    expect(page.locator("#union_id option")).to_have_count(1)
    expect(page.locator("#union_id option")).to_have_text(re.compile("银泰"))
    assert posts == []  # searched in place: the form was not sent
    for selector, typed in (("#real_name", "王小工"), ("#mobile", "13912345678"), ("#password", "Steel-Worker-2026"),
                            ("#confirm", "Steel-Worker-2026")):
        expect(page.locator(selector)).to_have_value(typed)
    page.fill("#union_query", "公交")
    page.locator("#union_query").press("Enter")  # Enter in the search box searches too, without sending
    expect(page.locator("#union_id option")).to_have_text(re.compile("公交"))
    assert posts == []
    expect(page.locator("#password")).to_have_value("Steel-Worker-2026")


def test_the_member_report_keeps_names_on_one_line_at_360px(live_server, browser, tree, make_admin, make_user):
    for name in ("欧阳建国", "司马卫东", "诸葛红梅"):
        make_user(name, union=tree.a1)
    admin = make_admin(tree.a1, "孙建华", locale="zh_CN")
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        log_in(page, live_server, admin)
        page.goto(f"{live_server}/reports/hours?union={tree.a1.id}")
        table = page.locator("table[data-report=members]")
        expect(table).to_be_visible()
        cell = table.locator("tbody tr", has_text="欧阳建国").locator("td").first
        line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight) || 24")
        assert cell.bounding_box()["height"] < 2 * line  # one line, not one character a line
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # the page itself does not scroll sideways; the table does, in its box
    finally:
        context.close()
