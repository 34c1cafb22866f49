"""网上练兵 through the API (issue 21, point 6): a worker's banks page by cursor, practice answers come back
right or wrong with the explanation and fill the mistake book, favourites are set idempotently, a bank
outside the worker's unions is an audited 404; a mock exam's paper comes without its answers, one open
paper at a time (409), answers are saved one at a time (a repeat replaces, an answer after the deadline is
refused and nothing is kept), the paper is scored once; the bank's ranking of unions pages by cursor."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from classroom.audit import AuditEvent
from classroom.database import statement_engines, utcnow
from classroom.domain import Conflict
from classroom.extensions import db
from courses.drills import daily, daily_api, mock, rankings, views
from courses.drills.banks import apply, current_versions
from courses.drills.models import (
    DailySet,
    DrillQuestion,
    Favourite,
    Mistake,
    MockAnswer,
    MockAttempt,
    MockExam,
    PracticeAnswer,
    QuestionBank,
)
from tests.api_support import bearer, problem, sign_in
from tests.factories import login_client
from tests.test_drills_images import FORM, png, upload


def data(code: str, kind: str = "single", answer=None) -> dict:
    return {"code": code, "kind": kind, "text": f"{code} 题干", "options": ["甲", "乙", "丙"] if kind != "blank" else [],
            "answer": answer if answer is not None else [1], "explanation": f"{code} 的解析", "difficulty": 2,
            "tags": ["安全用电"]}


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工题库", trade="电工")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [(data("Q1"), None), (data("Q2", kind="multiple", answer=[0, 2]), None),
                 (data("Q3", kind="blank", answer=[["欧姆", "Ohm"]]), None)], now=utcnow())
    db.session.commit()
    return bank


@pytest.fixture
def exam(bank):
    exam = MockExam(bank_id=bank.id, title="电工模拟考", minutes=30, pass_score=60,
                    blueprint=[{"kind": "single", "count": 1, "points": 2}, {"kind": "multiple", "count": 1, "points": 2},
                               {"kind": "blank", "count": 1, "points": 1}])
    db.session.add(exam)
    db.session.commit()
    return exam


@pytest.fixture
def worker(make_user, tree):
    return make_user("李工", union=tree.a1, trade="电工")


@pytest.fixture
def headers(client, worker):
    return bearer(sign_in(client, worker)["access_token"])


def test_banks_page_by_cursor_and_practice_fills_the_mistake_book(client, tree, bank, worker, headers):
    db.session.add(QuestionBank(union_id=tree.city.id, title="全市安全题库"))
    db.session.add(QuestionBank(union_id=tree.district_b.id, title="西城题库"))
    db.session.commit()
    first = client.get("/api/v1/drill-banks?limit=1", headers=headers).get_json()
    second = client.get(f"/api/v1/drill-banks?limit=1&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [row["title"] for row in first["items"] + second["items"]] == ["全市安全题库", "电工题库"]
    assert second["next_cursor"] is None and second["items"][0]["suggested"] is True
    shown = client.get(f"/api/v1/drill-banks/{bank.id}/practice", headers=headers).get_json()["question"]
    assert shown["code"] == "Q1" and [o["position"] for o in shown["options"]] == [1, 2, 3]
    assert "answer" not in shown and "correct" not in shown and "explanation" not in shown
    url = f"/api/v1/drill-banks/{bank.id}/practice/answers"
    wrong = client.post(url, json={"version_id": shown["version_id"], "choices": [1]}, headers=headers)
    assert wrong.status_code == 201, wrong.get_json()
    body = wrong.get_json()
    assert body["right"] is False and body["correct"] == {"choices": [2], "blanks": []}
    assert body["explanation"] == "Q1 的解析" and body["in_mistake_book"] is True
    book = client.get(f"/api/v1/drill-banks/{bank.id}/mistakes", headers=headers).get_json()
    assert [(row["code"], row["wrong_count"]) for row in book["items"]] == [("Q1", 1)] and not book["next_cursor"]
    right = client.post(url, json={"version_id": shown["version_id"], "choices": [2]}, headers=headers).get_json()
    assert right["right"] is True and right["in_mistake_book"] is True  # one right day is not enough
    following = client.get(f"/api/v1/drill-banks/{bank.id}/practice?after={shown['id']}", headers=headers)
    assert following.get_json()["question"]["code"] == "Q2"
    blank = client.get(f"/api/v1/drill-banks/{bank.id}/practice?after={shown['id'] + 1}", headers=headers)
    assert blank.get_json()["question"]["blanks"] == 1 and blank.get_json()["question"]["options"] == []
    typed = client.post(url, json={"version_id": blank.get_json()["question"]["version_id"], "blanks": [" ohm "]},
                        headers=headers).get_json()
    assert typed["right"] is True and typed["correct"] == {"choices": [], "blanks": [["欧姆", "Ohm"]]}
    assert db.session.scalar(select(func.count()).select_from(PracticeAnswer)) == 3


def test_favourites_are_set_and_cleared_idempotently(client, bank, worker, headers):
    question_id = client.get(f"/api/v1/drill-banks/{bank.id}/practice", headers=headers).get_json()["question"]["id"]
    url = f"/api/v1/drill-banks/{bank.id}/favourites/{question_id}"
    assert client.put(url, headers=headers).get_json() == {"question_id": question_id, "favourite": True}
    assert client.put(url, headers=headers).get_json()["favourite"] is True
    assert db.session.scalar(select(func.count()).select_from(Favourite)) == 1
    listed = client.get(f"/api/v1/drill-banks/{bank.id}/practice?mode=favourites", headers=headers).get_json()
    assert listed["question"]["id"] == question_id and listed["question"]["favourite"] is True
    assert client.delete(url, headers=headers).get_json()["favourite"] is False
    assert client.delete(url, headers=headers).get_json()["favourite"] is False
    assert db.session.scalar(select(func.count()).select_from(Favourite)) == 0
    nothing = client.get(f"/api/v1/drill-banks/{bank.id}/practice?mode=favourites", headers=headers).get_json()
    assert nothing == {"mode": "favourites", "question": None}
    problem(client.put(f"/api/v1/drill-banks/{bank.id}/favourites/999999", headers=headers), 404, "not-found")


def test_a_bank_outside_the_worker_s_unions_is_an_audited_404(client, tree, bank, exam, make_user):
    stranger = bearer(sign_in(client, make_user("外人", union=tree.b1))["access_token"])
    assert client.get("/api/v1/drill-banks", headers=stranger).get_json()["items"] == []
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for path in ("practice", "mistakes", "rankings", "exams"):
        problem(client.get(f"/api/v1/drill-banks/{bank.id}/{path}", headers=stranger), 404, "not-found")
    problem(client.post(f"/api/v1/drill-banks/{bank.id}/practice/answers", json={"version_id": 1},
                        headers=stranger), 404, "not-found")
    problem(client.get(f"/api/v1/drill-exams/{exam.id}", headers=stranger), 404, "not-found")
    problem(client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=stranger), 404, "not-found")
    db.session.rollback()
    denied = db.session.scalars(select(AuditEvent.object_type).where(AuditEvent.id > before,
                                                                      AuditEvent.action == "scope.denied")).all()
    assert sorted(denied) == ["MockExam"] * 2 + ["QuestionBank"] * 5
    assert db.session.scalar(select(func.count()).select_from(MockAttempt)) == 0


def test_bad_input_is_a_problem_document(client, bank, headers):
    url = f"/api/v1/drill-banks/{bank.id}/practice/answers"
    body = problem(client.post(url, json={"version_id": 1, "choices": ["A"]}, headers=headers), 422,
                   "validation-failed")
    assert "choices" in body["errors"]["json"]
    assert "version_id" in problem(client.post(url, json={}, headers=headers), 422, "validation-failed")["errors"]["json"]
    problem(client.post(url, json={"version_id": 999999}, headers=headers), 422, "invalid")  # not of this bank
    problem(client.get("/api/v1/drill-banks?cursor=not-a-cursor", headers=headers), 400, "invalid-cursor")
    problem(client.get(f"/api/v1/drill-banks/{bank.id}/rankings?cursor=bad", headers=headers), 400, "invalid-cursor")
    problem(client.get(f"/api/v1/drill-banks/{bank.id}/rankings?days=8", headers=headers), 422, "validation-failed")
    problem(client.get(f"/api/v1/drill-banks/{bank.id}/practice?mode=everything", headers=headers), 422,
            "validation-failed")
    problem(client.post(url, data="{", content_type="application/json", headers=headers), 400, "bad-request")
    assert db.session.scalar(select(func.count()).select_from(PracticeAnswer)) == 0


def test_a_mock_exam_paper_one_open_saved_as_the_worker_goes_scored_once(client, bank, exam, worker, headers):
    listed = client.get(f"/api/v1/drill-banks/{bank.id}/exams", headers=headers).get_json()
    assert [(row["id"], row["questions"], row["current_attempt_id"]) for row in listed["items"]] == [(exam.id, 3, None)]
    started = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers)
    assert started.status_code == 201, started.get_json()
    paper = started.get_json()
    assert 1790 <= paper["seconds_left"] <= 1800 and paper["score"] is None
    assert [(q["kind"], q["correct"], q["explanation"], q["right"]) for q in paper["questions"]] == [
        ("single", None, None, None), ("multiple", None, None, None), ("blank", None, None, None)]
    again = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers)
    assert "current_attempt_id" in problem(again, 409, "conflict")["detail"]
    assert client.get(f"/api/v1/drill-exams/{exam.id}", headers=headers).get_json()["current_attempt_id"] == paper["id"]
    base = f"/api/v1/drill-attempts/{paper['id']}/answers"
    assert client.put(f"{base}/1", json={"choices": [1]}, headers=headers).status_code == 200
    saved = client.put(f"{base}/1", json={"choices": [2]}, headers=headers)  # changed: replaced
    assert saved.status_code == 200 and saved.get_json()["choices"] == [2]
    assert client.put(f"{base}/2", json={"choices": [3, 1, 3]}, headers=headers).status_code == 200
    assert client.put(f"{base}/3", json={"blanks": ["OHM"]}, headers=headers).status_code == 200
    problem(client.put(f"{base}/4", json={"choices": [1]}, headers=headers), 404, "not-found")
    problem(client.put(f"{base}/1", json={"choices": [7]}, headers=headers), 422, "validation-failed")
    problem(client.put(f"{base}/1", json={"blanks": "x"}, headers=headers), 422, "validation-failed")
    assert db.session.scalar(select(func.count()).select_from(MockAnswer)) == 3
    reloaded = client.get(f"/api/v1/drill-attempts/{paper['id']}", headers=headers).get_json()
    assert [q["saved"] for q in reloaded["questions"]] == [{"choices": [2], "blanks": []},
                                                           {"choices": [1, 3], "blanks": []},
                                                           {"choices": [], "blanks": ["OHM"]}]
    assert reloaded["deadline_at"] == paper["deadline_at"]
    result = client.post(f"/api/v1/drill-attempts/{paper['id']}/submit", headers=headers)
    assert result.status_code == 200, result.get_json()
    scored = result.get_json()
    assert scored["score"] == 100 and scored["passed"] is True and scored["seconds_left"] == 0
    assert [q["right"] for q in scored["questions"]] == [True, True, True]
    assert scored["questions"][1]["correct"] == {"choices": [1, 3], "blanks": []}
    problem(client.post(f"/api/v1/drill-attempts/{paper['id']}/submit", headers=headers), 409, "conflict")
    problem(client.put(f"{base}/1", json={"choices": [1]}, headers=headers), 409, "conflict")
    assert client.get(f"/api/v1/drill-exams/{exam.id}", headers=headers).get_json()["best_score"] == 100


def test_an_answer_after_the_deadline_is_refused_and_not_kept(client, exam, headers):
    paper = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers).get_json()
    db.session.execute(update(MockAttempt).where(MockAttempt.id == paper["id"])
                       .values(deadline_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    refused = problem(client.put(f"/api/v1/drill-attempts/{paper['id']}/answers/1", json={"choices": [1]},
                                 headers=headers), 409, "conflict")
    assert "Time is up" in refused["detail"]
    assert db.session.scalar(select(func.count()).select_from(MockAnswer)) == 0
    assert client.get(f"/api/v1/drill-attempts/{paper['id']}", headers=headers).get_json()["seconds_left"] == 0


def test_a_repeated_start_with_one_idempotency_key_gets_the_first_paper(client, exam, headers):
    url = f"/api/v1/drill-exams/{exam.id}/attempts"
    first = client.post(url, headers={**headers, "Idempotency-Key": "start-1"})
    repeat = client.post(url, headers={**headers, "Idempotency-Key": "start-1"})
    assert first.status_code == repeat.status_code == 201
    assert repeat.headers["Idempotent-Replayed"] == "true" and repeat.get_json() == first.get_json()
    assert db.session.scalar(select(func.count()).select_from(MockAttempt)) == 1


def test_another_worker_s_paper_is_a_404(client, tree, exam, headers, make_user):
    other = bearer(sign_in(client, make_user("同事", union=tree.a1), device="另一台")["access_token"])
    paper = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=other).get_json()
    problem(client.get(f"/api/v1/drill-attempts/{paper['id']}", headers=headers), 404, "not-found")
    problem(client.put(f"/api/v1/drill-attempts/{paper['id']}/answers/1", json={"choices": [1]}, headers=headers),
            404, "not-found")
    problem(client.post(f"/api/v1/drill-attempts/{paper['id']}/submit", headers=headers), 404, "not-found")
    assert db.session.scalar(select(func.count()).select_from(MockAnswer)) == 0
    assert db.session.scalar(select(MockAttempt.submitted_at).where(MockAttempt.id == paper["id"])) is None


def test_the_bank_s_union_ranking_pages_by_cursor(client, tree, bank, worker, headers, make_user):
    make_user("同事", union=tree.a1)
    shown = client.get(f"/api/v1/drill-banks/{bank.id}/practice", headers=headers).get_json()["question"]
    client.post(f"/api/v1/drill-banks/{bank.id}/practice/answers", json={"version_id": shown["version_id"]},
                headers=headers)
    first = client.get(f"/api/v1/drill-banks/{bank.id}/rankings?limit=1", headers=headers).get_json()
    assert [(row["rank"], row["union_id"], row["members"], row["practised"], row["rate"])
            for row in first["items"]] == [(1, tree.a1.id, 2, 1, 50)]
    rest = client.get(f"/api/v1/drill-banks/{bank.id}/rankings?limit=100&cursor={first['next_cursor']}",
                      headers=headers).get_json()
    assert all(row["rank"] >= 2 and row["union_id"] != tree.a1.id for row in rest["items"])
    assert rest["next_cursor"] is None
    assert db.session.scalar(select(func.count()).select_from(Mistake)) == 1


def test_saving_an_answer_is_one_small_write_and_no_other_read_than_the_caller(
        app, client, exam, headers):
    paper = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers).get_json()
    url = f"/api/v1/drill-attempts/{paper['id']}/answers/1"
    assert client.put(url, json={"choices": [1]}, headers=headers).status_code == 200  # the paper's sheet, once
    seen: list[str] = []

    def note(_connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().split()[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            seen.append(" ".join(statement.split()[:4]))

    for engine in statement_engines(db.engine):
        event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.put(url, json={"choices": [2]}, headers=headers).status_code == 200
    finally:
        for engine in statement_engines(db.engine):
            event.remove(engine, "before_cursor_execute", note)
    assert [text.split()[0] for text in seen] == ["SELECT", "INSERT"], seen  # the caller's token; the upsert
    assert "drill_mock_answer" in seen[1], seen
    stored = db.session.scalars(select(MockAnswer.answer)).all()
    assert stored == [[1]]


def test_the_save_service_refuses_a_closed_paper_and_writes_nothing(app, exam, worker):
    attempt = mock.start(worker, exam, now=utcnow())
    db.session.commit()
    attempt_id, version_id, deadline = attempt.id, attempt.paper[0][0], attempt.deadline_at
    with pytest.raises(Conflict) as late:
        mock.save_answer(attempt_id, version_id, [0], now=deadline)
    assert not isinstance(late.value, mock.AlreadySubmitted)  # time is up
    db.session.rollback()
    mock.save_answer(attempt_id, version_id, [1], now=deadline - timedelta(seconds=1))
    db.session.commit()
    mock.submit(db.session.get_one(MockAttempt, attempt_id), now=utcnow())
    db.session.commit()
    with pytest.raises(mock.AlreadySubmitted):
        mock.save_answer(attempt_id, version_id, [0], now=utcnow())
    db.session.rollback()
    assert db.session.scalars(select(MockAnswer.answer)).all() == [[1]]  # only the answer given in time


MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
NAMES = re.compile(r"data-name>([^<]+)<")
PRACTICE_CODE = re.compile(r'data-practice-question="([^"]+)"')


@pytest.fixture
def daily_bank(tree):
    """Twelve true-or-false questions (right: position 1), three a day."""
    bank = QuestionBank(union_id=tree.district_a.id, title="每日电工", daily_size=3)
    db.session.add(bank)
    db.session.flush()
    apply(bank, [({**data(f"D{n:02d}", kind="true_false", answer=[0]), "options": []}, None) for n in range(12)],
          now=utcnow())
    db.session.commit()
    return bank


@pytest.fixture
def clock(monkeypatch):
    """The time the daily pages and the daily API read (both doors see the same day)."""
    now = {"at": MORNING}
    for module in (views, daily_api):
        monkeypatch.setattr(module, "utcnow", lambda: now["at"])
    return now


def test_the_daily_set_is_the_page_s_and_answering_it_keeps_the_streak(app, client, daily_bank, worker, headers,
                                                                       clock):
    url = f"/api/v1/drill-banks/{daily_bank.id}/daily"
    page = login_client(app, worker)
    before = client.get(url, headers=headers).get_json()
    assert (before["plan"], before["streak"], before["started"], before["questions"]) == (False, None, False, [])
    first = next(iter(current_versions(daily_bank.id).values()))[1]
    problem(client.post(f"{url}/answers", json={"version_id": first.id, "choices": [1]}, headers=headers), 409,
            "conflict")  # nothing drawn yet
    on = client.put(f"{url}/plan", headers=headers).get_json()
    assert on["plan"] is True and on["streak"] == {"days": 0, "done_today": False}
    assert 'data-daily="on"' in page.get(f"/drills/banks/{daily_bank.id}").get_data(as_text=True)
    page.post(f"/drills/banks/{daily_bank.id}/daily")  # the page draws today's set
    drawn = db.session.scalar(select(DailySet.questions).where(DailySet.user_id == worker.id))
    today = client.get(url, headers=headers).get_json()
    assert [row["id"] for row in today["questions"]] == drawn and len(drawn) == 3 and today["day"] == "2026-03-02"
    assert today["started"] is True and not any(row["answered"] for row in today["questions"])
    assert client.post(url, headers=headers).get_json()["questions"] == today["questions"]  # drawn once a day
    outside = next(version for question_id, version in ((q.id, v) for q, v in current_versions(daily_bank.id).values())
                   if question_id not in drawn)
    answers = db.session.scalar(select(func.count()).select_from(PracticeAnswer))
    problem(client.post(f"{url}/answers", json={"version_id": outside.id, "choices": [1]}, headers=headers), 409,
            "conflict")
    assert db.session.scalar(select(func.count()).select_from(PracticeAnswer)) == answers
    results = [client.post(f"{url}/answers", json={"version_id": row["version_id"], "choices": [2 if n else 1]},
                           headers=headers) for n, row in enumerate(today["questions"])]
    assert [result.status_code for result in results] == [201] * 3
    bodies = [result.get_json() for result in results]
    assert [(body["right"], body["in_mistake_book"]) for body in bodies] == [(True, False), (False, True),
                                                                             (False, True)]
    assert bodies[1]["explanation"] == f"{today['questions'][1]['code']} 的解析"
    assert [(body["daily"]["answered"], body["daily"]["done"]) for body in bodies] == [(1, False), (2, False),
                                                                                       (3, True)]
    assert bodies[2]["daily"]["streak"] == {"days": 1, "done_today": True}
    bank_page = page.get(f"/drills/banks/{daily_bank.id}").get_data(as_text=True)
    assert 'data-streak="1"' in bank_page and "data-daily-done" in bank_page  # the page reads what the API wrote

    clock["at"] = MORNING + timedelta(days=1)  # Tuesday: a new set, the streak alive until it is missed
    tuesday = client.get(url, headers=headers).get_json()
    assert (tuesday["started"], tuesday["streak"], tuesday["day"]) == (False, {"days": 1, "done_today": False},
                                                                       "2026-03-03")
    drawn_by_api = [row["id"] for row in client.post(url, headers=headers).get_json()["questions"]]
    assert drawn_by_api == daily.draw(worker.id, daily_bank.id, date(2026, 3, 3), 3,
                                      [q.id for q, _v in current_versions(daily_bank.id).values()])
    shown = PRACTICE_CODE.search(page.get(f"/drills/banks/{daily_bank.id}/practice?mode=daily").get_data(as_text=True))
    assert shown.group(1) == db.session.get_one(DrillQuestion, drawn_by_api[0]).code  # the page shows the API's set
    stale = next((row for row in today["questions"] if row["id"] not in drawn_by_api), None)
    if stale is not None:  # yesterday's question is not today's
        problem(client.post(f"{url}/answers", json={"version_id": stale["version_id"], "choices": [1]},
                            headers=headers), 409, "conflict")
    off = client.delete(f"{url}/plan", headers=headers).get_json()
    assert (off["plan"], off["streak"]) == (False, None) and off["started"] is True
    assert 'data-daily="off"' in page.get(f"/drills/banks/{daily_bank.id}").get_data(as_text=True)
    problem(client.get(f"/api/v1/drill-banks/{daily_bank.id}/practice?mode=daily", headers=headers), 422,
            "validation-failed")  # today's set is this resource, not a practice mode


def test_an_empty_bank_has_no_daily_set(client, tree, worker, headers):
    empty = QuestionBank(union_id=tree.district_a.id, title="空题库")
    db.session.add(empty)
    db.session.commit()
    problem(client.post(f"/api/v1/drill-banks/{empty.id}/daily", headers=headers), 409, "conflict")
    assert db.session.scalar(select(func.count()).select_from(DailySet)) == 0


def sat(exam: MockExam, user, score: int, seconds: int) -> None:
    version = current_versions(exam.bank_id)["Q1"][1]
    start = utcnow() - timedelta(hours=2)
    db.session.add(MockAttempt(exam_id=exam.id, user_id=user.id, paper=[[version.id, 1]], started_at=start,
                               deadline_at=start + timedelta(hours=1), submitted_at=start + timedelta(seconds=seconds),
                               score=score))
    db.session.commit()


def test_an_exam_s_rankings_mask_names_as_its_page_does(app, client, tree, exam, worker, headers, make_user,
                                                         make_admin):
    colleague, other = make_user("王小一", union=tree.a1), make_user("赵大二", union=tree.a2)
    sat(exam, colleague, 90, 300)
    sat(exam, other, 80, 100)
    sat(exam, worker, 80, 200)
    url = f"/api/v1/drill-exams/{exam.id}/rankings"
    mine = client.get(url, headers=headers).get_json()
    assert [(row["rank"], row["name"], row["score"], row["seconds"]) for row in mine["people"]] == [
        (1, "王*一", 90, 300), (2, "赵*二", 80, 100), (3, "李工", 80, 200)]  # only the caller's own name in full
    page = login_client(app, worker).get(f"/drills/mock/{exam.id}/rankings").get_data(as_text=True)
    assert NAMES.findall(page) == [row["name"] for row in mine["people"]]
    admin = make_admin(tree.district_a, "东城管理员")
    full = client.get(url, headers=bearer(sign_in(client, admin, device="管理电脑")["access_token"])).get_json()
    assert [row["name"] for row in full["people"]] == ["王小一", "赵大二", "李工"]
    assert NAMES.findall(login_client(app, admin).get(f"/drills/mock/{exam.id}/rankings").get_data(as_text=True)) \
        == ["王小一", "赵大二", "李工"]
    assert full["counted"] == "members" and full["unions"] == mine["unions"]
    assert [(row["union_id"], row["sat"], row["members"], row["rate"], row["average_score"])
            for row in mine["unions"]] == [(row.union.id, row.practised, row.members, row.rate, row.average)
                                           for row in rankings.exam_unions(exam)]
    assert sum(row["sat"] for row in mine["unions"]) == 3 and mine["unions"][0]["rate"] == 100
    stranger = bearer(sign_in(client, make_admin(tree.district_b, "西城管理员"))["access_token"])
    problem(client.get(url, headers=stranger), 404, "not-found")  # an admin out of scope: the bank is not theirs
    problem(client.get("/api/v1/drill-exams/999999/rankings", headers=headers), 404, "not-found")


def test_question_images_are_shown_and_served_only_to_who_may_see_them(app, client, tree, bank, worker, headers,
                                                                        make_admin, make_user):
    assert client.get(f"/api/v1/drill-banks/{bank.id}/practice", headers=headers).get_json()["question"]["image"] \
        is None
    pictured = QuestionBank(union_id=tree.district_a.id, title="仪表题库")
    db.session.add(pictured)
    db.session.commit()
    assert upload(login_client(app, make_admin(tree.district_a)), pictured, png(), "meter.png").status_code == 302
    version = current_versions(pictured.id)["P1"][1]
    shown = client.get(f"/api/v1/drill-banks/{pictured.id}/practice", headers=headers).get_json()["question"]
    url = f"/api/v1/drill-banks/{pictured.id}/images/{version.id}"
    assert shown["image"] == {"url": url, "alt": FORM["image_alt"]}
    served = client.get(url, headers=headers)
    assert served.status_code == 200 and served.data == png() and served.mimetype == "image/png"
    problem(client.get(url), 401, "unauthorized")
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    outsider = bearer(sign_in(client, make_user("外人", union=tree.b1))["access_token"])
    problem(client.get(url, headers=outsider), 404, "not-found")
    db.session.rollback()
    assert db.session.scalars(select(AuditEvent.object_type).where(AuditEvent.id > before,
                                                                    AuditEvent.action == "scope.denied")).all() \
        == ["QuestionBank"]
    other = current_versions(bank.id)["Q1"][1]
    problem(client.get(f"/api/v1/drill-banks/{pictured.id}/images/{other.id}", headers=headers), 404, "not-found")
    problem(client.get(f"/api/v1/drill-banks/{bank.id}/images/{other.id}", headers=headers), 404, "not-found")

    exam = MockExam(bank_id=pictured.id, title="仪表模拟", minutes=10, pass_score=60,
                    blueprint=[{"kind": "single", "count": 1, "points": 1}])
    db.session.add(exam)
    db.session.commit()
    paper = client.post(f"/api/v1/drill-exams/{exam.id}/attempts", headers=headers).get_json()
    on_paper = f"/api/v1/drill-attempts/{paper['id']}/images/{version.id}"
    assert paper["questions"][0]["image"] == {"url": on_paper, "alt": FORM["image_alt"]}
    assert client.get(on_paper, headers=headers).data == png()
    colleague = bearer(sign_in(client, make_user("同事", union=tree.a1))["access_token"])
    problem(client.get(on_paper, headers=colleague), 404, "not-found")  # the paper is its owner's alone
    problem(client.get(f"/api/v1/drill-attempts/{paper['id']}/images/{other.id}", headers=headers), 404,
            "not-found")
