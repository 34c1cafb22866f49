"""Practice (issue 21): who may practise a bank, sequential order, the explanation after each answer, an
answer scored against the version shown, the mistake book (two right answers on different days, time
injected), favourites and progress per knowledge point."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from classroom.extensions import db
from courses.drills import practice
from courses.drills.banks import apply, current_versions
from courses.drills.models import DrillQuestion, Mistake, QuestionBank
from tests.factories import login_client

CODE = re.compile(r'data-practice-question="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def data(code: str, kind: str = "single", answer=None, tags=("安全用电",), **extra) -> dict:
    return {"code": code, "kind": kind, "text": f"{code} 题干", "options": ["甲", "乙", "丙"] if kind != "blank" else [],
            "answer": answer if answer is not None else [1], "explanation": f"{code} 的解析", "difficulty": 2,
            "tags": list(tags), **extra}


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工题库", trade="电工")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [(data("Q1"), None), (data("Q2", tags=("电工基础",)), None),
                 (data("Q3", kind="blank", answer=[["欧姆", "Ohm"]]), None)], now=datetime.now(UTC))
    db.session.commit()
    return bank


@pytest.fixture
def worker(make_user, tree):
    return make_user("李工", union=tree.a1, trade="电工")


def test_members_below_the_banks_union_practise_it_others_get_404(app, tree, bank, worker, make_user):
    assert login_client(app, worker).get(f"/drills/banks/{bank.id}").status_code == 200
    stranger = login_client(app, make_user("外人", union=tree.b1))
    assert stranger.get(f"/drills/banks/{bank.id}").status_code == 404
    assert stranger.get(f"/drills/banks/{bank.id}/practice").status_code == 404
    assert "电工题库" not in stranger.get("/drills").get_data(as_text=True)
    page = login_client(app, worker).get("/drills").get_data(as_text=True)
    assert "电工题库" in page and "Your trade" in page
    home = login_client(app, worker).get("/").get_data(as_text=True)
    assert "home-drills" in home and f"/drills/banks/{bank.id}" in home
    assert "home-drills" not in app.test_client().get("/").get_data(as_text=True)


def test_sequential_practice_shows_the_explanation_and_moves_on(app, bank, worker):
    client = login_client(app, worker)
    page = client.get(f"/drills/banks/{bank.id}/practice?mode=sequential").get_data(as_text=True)
    assert CODE.search(page).group(1) == "Q1"
    response = client.post(f"/drills/banks/{bank.id}/practice?mode=sequential",
                           data={"version": VERSION.search(page).group(1), "choice": "0"})
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-practice-result="wrong"' in result and "Q1 的解析" in result and "in your mistake book" in result
    next_page = client.get(f"/drills/banks/{bank.id}/practice?mode=sequential").get_data(as_text=True)
    assert CODE.search(next_page).group(1) == "Q2"
    mistakes = client.get(f"/drills/banks/{bank.id}/mistakes").get_data(as_text=True)
    assert "Q1 题干" in mistakes and "Q2 题干" not in mistakes
    blank = client.get(f"/drills/banks/{bank.id}/practice?mode=sequential&after={_id('Q2')}").get_data(as_text=True)
    response = client.post(f"/drills/banks/{bank.id}/practice", data={"version": VERSION.search(blank).group(1),
                                                                      "blank": " ＯＨＭ "})
    assert 'data-practice-result="right"' in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post(f"/drills/banks/{bank.id}/practice", data={"version": "999999"}).status_code == 302


def _id(code: str) -> int:
    return db.session.scalar(select(DrillQuestion.id).filter_by(code=code))


def test_an_answer_is_scored_against_the_version_shown(app, bank, worker):
    client = login_client(app, worker)
    page = client.get(f"/drills/banks/{bank.id}/practice").get_data(as_text=True)
    shown = VERSION.search(page).group(1)
    existing = current_versions(bank.id, ["Q1"])["Q1"]
    apply(bank, [(data("Q1", answer=[2]), existing)], now=datetime.now(UTC))  # the answer changes meanwhile
    db.session.commit()
    response = client.post(f"/drills/banks/{bank.id}/practice", data={"version": shown, "choice": "1"})
    assert 'data-practice-result="right"' in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_mistake_book_lets_go_after_two_right_answers_on_different_days(app, bank, worker):
    versions = current_versions(bank.id)
    version = versions["Q1"][1]
    monday = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai

    def answer(choice: int, when: datetime) -> None:
        practice.answer(worker, bank, version, [choice], now=when)
        db.session.commit()

    def in_book() -> bool:
        return practice.in_mistake_book(worker.id, version.question_id)

    answer(0, monday)
    assert in_book()
    answer(1, monday)
    answer(1, monday + timedelta(hours=10))  # 19:00 the same day in Shanghai: still the same day
    assert in_book()
    answer(0, monday + timedelta(days=1))  # wrong again: the right answers so far no longer count
    answer(1, monday + timedelta(days=1, hours=1))
    answer(1, monday + timedelta(days=1, hours=2))
    assert in_book()
    answer(1, monday + timedelta(days=2))
    assert not in_book()
    mistake = db.session.scalar(select(Mistake).filter_by(user_id=worker.id))
    assert mistake.wrong_count == 2 and mistake.cleared_at is not None
    answer(0, monday + timedelta(days=3))  # back in the book after a new mistake
    assert in_book()


def test_favourites_and_progress_per_tag(app, bank, worker):
    client = login_client(app, worker)
    url = f"/drills/banks/{bank.id}/questions/{_id('Q2')}/favourite"
    assert client.post(url).status_code == 302
    page = client.get(f"/drills/banks/{bank.id}/practice?mode=favourites").get_data(as_text=True)
    assert CODE.search(page).group(1) == "Q2"
    client.post(url)
    assert "data-nothing-to-practise" in client.get(f"/drills/banks/{bank.id}/practice?mode=favourites").get_data(
        as_text=True)
    versions = current_versions(bank.id)
    practice.answer(worker, bank, versions["Q1"][1], [1], now=datetime.now(UTC))
    practice.answer(worker, bank, versions["Q1"][1], [0], now=datetime.now(UTC))
    db.session.commit()
    progress = {row["tag"]: row for row in practice.progress_by_tag(worker.id, bank.id)}
    assert progress["安全用电"]["questions"] == 2 and progress["安全用电"]["practised"] == 1
    assert progress["安全用电"]["percent"] == 50 and progress["电工基础"]["percent"] is None
    assert "data-tag-progress" in client.get(f"/drills/banks/{bank.id}").get_data(as_text=True)
    assert client.post(f"/drills/banks/{bank.id}/questions/999999/favourite").status_code == 404
