"""Mock exams (issue 21): a paper per person by the blueprint, timed on the server (a reload keeps the
answers and the time), one open attempt, answers saved as the worker goes, and the deadline scan that
scores an unsubmitted paper exactly once, even run by two processes at the same moment (PostgreSQL)."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from courses.drills import jobs, mock
from courses.drills.banks import apply
from courses.drills.models import MockAttempt, MockExam, QuestionBank, QuestionVersion
from tests.concurrency import run_at_once
from tests.factories import login_client

BLUEPRINT = [{"kind": "single", "count": 4, "points": 2, "difficulty": 1, "tag": "安全用电"},
             {"kind": "multiple", "count": 3, "points": 2, "difficulty": None, "tag": None},
             {"kind": "true_false", "count": 2, "points": 1, "difficulty": 3, "tag": None},
             {"kind": "blank", "count": 1, "points": 1, "difficulty": None, "tag": "电工基础"}]


def content(n: int) -> dict:
    kind = ["single", "multiple", "true_false", "blank"][n % 4]
    return {"code": f"M{n:03d}", "kind": kind, "text": f"第{n}题", "difficulty": 1 + (n // 4) % 3,
            "options": ["甲", "乙", "丙", "丁"] if kind in ("single", "multiple") else [],
            "answer": [["五十", "50"]] if kind == "blank" else [0, 1] if kind == "multiple" else [0],
            "explanation": "解析", "tags": ["安全用电"] if n % 8 < 4 else ["电工基础"]}


@pytest.fixture
def exam(tree):
    bank = QuestionBank(union_id=tree.city.id, title="综合题库")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [(content(n), None) for n in range(240)], now=utcnow())
    exam = MockExam(bank_id=bank.id, title="安全生产模拟考", minutes=30, pass_score=60, blueprint=BLUEPRINT)
    db.session.add(exam)
    db.session.commit()
    return exam


def satisfies(paper: list, blueprint: list) -> bool:
    versions = {v.id: v for v in db.session.scalars(select(QuestionVersion).where(
        QuestionVersion.id.in_([item[0] for item in paper])))}
    start = 0
    for rule in blueprint:
        for version_id, points in paper[start:start + rule["count"]]:
            version = versions[version_id]
            if (version.kind != rule["kind"] or points != rule["points"]
                    or rule["difficulty"] not in (None, version.difficulty)
                    or (rule["tag"] and rule["tag"] not in version.tags)):
                return False
        start += rule["count"]
    return start == len(paper) and len(set(item[0] for item in paper)) == len(paper)


def test_two_workers_get_different_papers_each_satisfying_the_blueprint(app, tree, exam, make_user):
    first, second = make_user("甲", union=tree.a1), make_user("乙", union=tree.b1)
    papers = [mock.start(person, exam, now=utcnow()).paper for person in (first, second)]
    db.session.commit()
    assert papers[0] != papers[1]
    assert all(satisfies(paper, BLUEPRINT) for paper in papers)
    assert sum(rule["count"] for rule in BLUEPRINT) == len(papers[0]) == 10
    draws = {tuple(item[0] for item in mock.draw(BLUEPRINT, mock.candidates(exam.bank_id), random.Random(seed)))
             for seed in range(20)}
    assert len(draws) == 20


def test_a_reload_keeps_the_answers_and_the_time_one_open_attempt(app, tree, exam, make_user):
    worker = make_user("李工", union=tree.a1)
    client = login_client(app, worker)
    response = client.post(f"/drills/mock/{exam.id}/start")
    url = response.headers["Location"]
    assert client.post(f"/drills/mock/{exam.id}/start").headers["Location"] == url  # the same paper
    attempt = db.session.scalar(select(MockAttempt))
    single, blank = attempt.paper[0][0], attempt.paper[-1][0]
    assert client.post(url + "/answer", data={"version": single, "choice": "0"}).json == {"saved": 1}
    assert client.post(url + "/save", data={f"b{blank}": " ５０ "}).status_code == 302
    assert client.post(url + "/answer", data={"version": 999999, "choice": "0"}).status_code == 400
    page = client.get(url).get_data(as_text=True)
    assert f'id="c{single}-0" value="0" checked' in page and 'value="５０"' not in page and 'value=" ５０ "' in page
    assert "js/mock.js" in page and f'data-answer-url="{url}/answer"' in page
    left = int(re.search(r'data-seconds-left="(\d+)"', page).group(1))
    assert 30 * 60 - 5 <= left <= 30 * 60
    db.session.execute(MockAttempt.__table__.update().values(started_at=utcnow() - timedelta(minutes=20),
                                                            deadline_at=utcnow() + timedelta(minutes=10)))
    page = client.get(url).get_data(as_text=True)
    assert 10 * 60 - 5 <= int(re.search(r'data-seconds-left="(\d+)"', page).group(1)) <= 10 * 60
    assert db.session.scalar(select(func.count(MockAttempt.id))) == 1
    assert login_client(app, make_user("别人", union=tree.a1)).get(url).status_code == 404
    client.post(url + "/save", data={"submit": "1"})
    result = client.get(url).get_data(as_text=True)
    assert 'data-mock-score="18"' in result  # 2 + 1 of 17 points
    assert client.post(url + "/answer", data={"version": single, "choice": "1"}).status_code == 409


def test_answers_after_the_deadline_are_refused(app, tree, exam, make_user):
    worker = make_user("李工", union=tree.a1)
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    attempt = mock.start(worker, exam, now=start)
    db.session.commit()
    version = attempt.paper[0][0]
    mock.save_answers(attempt, {version: (["0"], [])}, now=start + timedelta(minutes=29))
    db.session.commit()
    with pytest.raises(mock.Conflict):
        mock.save_answers(attempt, {version: (["1"], [])}, now=start + timedelta(minutes=30))
    later = mock.start(worker, exam, now=start + timedelta(minutes=31))  # the old paper is closed first
    db.session.commit()
    db.session.refresh(attempt)
    assert later.id != attempt.id and attempt.auto_submitted and attempt.score == 12  # 2 of 17 points


def test_the_deadline_scan_scores_each_paper_once_with_two_processes(app, tree, exam, make_user, is_postgres):
    start = utcnow() - timedelta(hours=1)
    people = [make_user(f"工人{n}", union=tree.a1) for n in range(40)]
    for person in people:
        attempt = mock.start(person, exam, now=start)
        db.session.flush()
        mock.save_answers(attempt, {attempt.paper[0][0]: (["0"], [])}, now=start)
        db.session.commit()
    open_one = mock.start(make_user("还在考", union=tree.a1), exam, now=utcnow())
    db.session.commit()
    assert "drills.submit_expired" in current_app.extensions["classroom"].jobs
    now = utcnow()

    def run(_index: int) -> int:
        with app.app_context():
            try:
                return jobs.submit_expired(now=now)
            finally:
                db.session.remove()

    results = run_at_once(2, run) if is_postgres else [run(0), run(1)]
    assert sorted(results, reverse=True)[0] + sorted(results)[0] == 40, results
    scored = db.session.scalars(select(MockAttempt).where(MockAttempt.submitted_at.is_not(None))).all()
    assert len(scored) == 40 and {attempt.score for attempt in scored} == {12}
    assert all(attempt.auto_submitted for attempt in scored)
    events = Counter(db.session.scalars(select(AuditEvent.object_id).filter_by(action="drills.mock_submit")))
    assert len(events) == 40 and set(events.values()) == {1}
    db.session.refresh(open_one)
    assert open_one.submitted_at is None
    assert jobs.submit_expired(now=now) == 0


def test_editors_make_a_mock_exam_by_blueprint(app, tree, exam, make_user):
    from classroom.accounts.models import Role

    teacher = login_client(app, make_user("讲师", union=tree.city, role=(Role.INSTRUCTOR, tree.city)))
    url = f"/drills/manage/banks/{exam.bank_id}/mock"
    form = {"title": "月度模拟", "minutes": "45", "pass_score": "60",
            "blueprint": "单选, 5, 2, 1, 安全用电\nmultiple, 2\n判断，2，1，*"}
    assert teacher.post(url, data=form).status_code == 302
    saved = db.session.scalar(select(MockExam).filter_by(title="月度模拟"))
    assert saved.blueprint[0] == {"kind": "single", "count": 5, "points": 2, "difficulty": 1, "tag": "安全用电"}
    assert teacher.post(url, data={**form, "title": "太多", "blueprint": "single, 200"}).status_code == 200
    assert teacher.post(url, data={**form, "title": "乱写", "blueprint": "essay, 3"}).status_code == 200
    assert db.session.scalar(select(func.count(MockExam.id))) == 2
    worker = login_client(app, make_user("工人", union=tree.a1))
    assert worker.get(url).status_code == 404
    assert "月度模拟" in worker.get(f"/drills/banks/{exam.bank_id}").get_data(as_text=True)
