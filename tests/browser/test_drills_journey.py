"""Journey at phone width (issue 21): a worker practises a bank, gets one wrong, finds it in the mistake
book, sits a mock exam whose answers are saved as they are clicked (a reload keeps them), submits it, sees
the exam's ranking and the union's participation ranking, and turns daily practice on."""

from __future__ import annotations

from playwright.sync_api import expect

from classroom.database import utcnow
from classroom.extensions import db
from courses.drills.banks import apply
from courses.drills.models import MockExam, QuestionBank
from tests.browser.conftest import screenshot
from tests.browser.test_course_journey import log_in


def test_practise_mistake_book_mock_exam_and_ranking(live_server, new_page, tree, make_user):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工安全题库", trade="电工")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [({"code": f"Q{n}", "kind": "single", "text": f"第{n}题：安全电压上限？", "options": ["12", "24", "36"],
                   "answer": [2], "explanation": "一般环境下为36伏。", "difficulty": 1, "tags": ["安全用电"]}, None)
                 for n in range(1, 4)], now=utcnow())
    exam = MockExam(bank_id=bank.id, title="安全模拟考", minutes=30, pass_score=60,
                    blueprint=[{"kind": "single", "count": 2, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    worker = make_user("张小明", union=tree.a1, trade="电工", locale="en")
    db.session.commit()

    page = new_page("en")
    log_in(page, live_server, worker)
    page.goto(f"{live_server}/drills")
    page.locator("[data-drill-banks] a", has_text="电工安全题库").click()
    page.locator("[data-practice-modes] a").first.click()
    page.locator("label[for=choice-0]").click()  # 12: wrong
    page.locator("[data-practice-question] button[type=submit]").click()
    expect(page.locator("[data-practice-result]")).to_have_attribute("data-practice-result", "wrong")
    expect(page.locator("[data-explanation]")).to_contain_text("36")
    screenshot(page, "drills-wrong-en")
    page.goto(f"{live_server}/drills/banks/{bank.id}/mistakes")
    expect(page.locator("[data-mistakes] li")).to_have_count(1)
    expect(page.locator("[data-mistakes]")).to_contain_text("第1题")

    page.goto(f"{live_server}/drills/banks/{bank.id}")
    page.locator("a", has_text="安全模拟考").click()
    page.locator("[data-start-mock]").click()
    expect(page.locator("form[data-answer-url]")).to_be_attached()  # the paper, then its script listening
    page.wait_for_load_state("load")  # before the first answer is clicked
    first = page.locator("[data-mock-paper] li").first
    first.locator("label").nth(2).click()  # saved by the script as it is clicked
    expect(page.locator("[data-save-status]")).to_have_text("Answer saved.")
    page.reload()
    expect(page.locator("[data-mock-paper] li").first.locator("input").nth(2)).to_be_checked()
    screenshot(page, "drills-mock-en")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("button[name=submit]").click()
    expect(page.locator("[data-mock-score]")).to_have_attribute("data-mock-score", "50")
    page.goto(f"{live_server}/drills/mock/{exam.id}")
    page.locator("[data-exam-rankings]").click()
    expect(page.locator("[data-exam-people] [data-score]")).to_have_text("50%")

    page.goto(f"{live_server}/drills/banks/{bank.id}/rankings")
    expect(page.locator("[data-union='A1'] [data-rate]")).to_have_text("100%")
    screenshot(page, "drills-ranking-en")

    page.goto(f"{live_server}/drills/banks/{bank.id}")
    page.locator("[data-daily-on]").click()
    page.locator("[data-daily-start]").click()
    expect(page.locator("[data-practice-question]")).to_be_visible()
    screenshot(page, "drills-daily-en")
