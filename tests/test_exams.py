"""Exams: building (HTTP, validation), taking (no answers in the page), server-side scoring,
attempt limits (also under concurrent starts), double and late submissions, shuffling,
the completion rule, and inert user text."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from classroom.database import utcnow
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from courses.enrollment.models import Enrollment
from courses.enrollment.services import enroll
from courses.study import exam_attempts as attempts
from courses.study import exam_building as building
from courses.study import exam_scoring as scoring
from courses.study.models import Exam, ExamAttempt, Question
from tests.concurrency import run_at_once
from tests.factories import login_client
from tests.helpers import assert_inert, data_texts, xss_payloads


def single(text: str, options: list[str], right: int, points: int = 1) -> dict:
    return {"text": text, "kind": "single", "points": points, "options": options, "correct": [right]}


def multiple(text: str, options: list[str], right: list[int], points: int = 1) -> dict:
    return {"text": text, "kind": "multiple", "points": points, "options": options, "correct": right}


# 4 points in all: 1 + 2 + 1
QUESTIONS = [
    single("触电急救第一步是什么？", ["立即拉人", "切断电源", "打电话"], right=1),
    multiple("哪些属于个人防护用品？", ["安全帽", "手机", "绝缘手套", "雨伞"], right=[0, 2], points=2),
    single("灭火器压力表指针应在？", ["绿区", "红区"], right=0),
]


@pytest.fixture
def make_exam(instructor):
    """make_exam(course, questions, attempt_limit=2, …) → an exam built through the services."""

    def make(course, questions=QUESTIONS, **settings) -> Exam:
        settings = {"title": "安全生产考试", "pass_score": 60, "attempt_limit": None, "time_limit_minutes": None,
                    "shuffle": False, **settings}
        exam = building.save_exam(course, settings, actor=instructor, now=utcnow())
        for question in questions:
            building.add_question(exam, question, actor=instructor)
        db.session.commit()
        return exam

    return make


@pytest.fixture
def enrolled(tree, make_user):
    """enrolled(course) → a worker of A1 enrolled in the course (through the service)."""

    def make(course, name: str = "李工"):
        worker = make_user(name, union=tree.a1)
        enroll(worker, course, now=utcnow())
        db.session.commit()
        return worker

    return make


def questions_of(exam) -> list[Question]:
    return db.session.scalars(select(Question).where(Question.exam_id == exam.id).order_by(Question.position)).all()


def attempts_of(worker) -> list[ExamAttempt]:
    return db.session.scalars(select(ExamAttempt).where(ExamAttempt.user_id == worker.id)
                              .order_by(ExamAttempt.number)).all()


def start(client, course):
    """Start (or resume) through the page; returns the attempt page's HTML."""
    response = client.post(f"/courses/{course.id}/exam/start")
    assert response.status_code == 302 and "/exam/attempts/" in response.location, response.location
    return client.get(response.location).get_data(as_text=True)


def question_markup(page: str) -> str:
    match = re.search(r"data-exam-questions>(.*?)</ol>", page, re.S)
    assert match, "no questions in the page"
    return match.group(1)


# ---- building --------------------------------------------------------------------------------------

def test_instructor_builds_an_exam_with_validation(app, make_course, instructor):
    course = make_course()
    client = login_client(app, instructor)
    url = f"/teach/courses/{course.id}/exam"
    assert "New exam" in client.get(url).get_data(as_text=True)
    settings = {"title": "期末考试", "pass_score": "150", "attempt_limit": "", "time_limit_minutes": "30",
                "shuffle": "y"}
    page = client.post(url, data=settings).get_data(as_text=True)
    assert "between 0 and 100" in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(Exam)) is None
    assert client.post(url, data={**settings, "pass_score": "70"}).status_code == 302
    exam = db.session.scalar(select(Exam))
    assert (exam.title, exam.pass_score, exam.attempt_limit, exam.time_limit_minutes, exam.shuffle) == \
        ("期末考试", 70, None, 30, True)

    new = f"/teach/courses/{course.id}/exam/questions/new"
    question = {"text": "哪个是对的？", "kind": "single", "points": "2", "options": "甲\n乙\n\n丙\n", "correct": "1,2"}
    for changes, message in [({}, "exactly one correct option"), ({"options": "甲"}, "Give 2 to 10 options"),
                             ({"correct": "5"}, "numbered from 1 to 3"), ({"correct": "一"}, "separated by commas"),
                             ({"options": "甲\n甲"}, "same text"), ({"points": "0"}, "between 1 and 100")]:
        response = client.post(new, data={**question, **changes})
        assert response.status_code == 200 and message in response.get_data(as_text=True), message
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0

    assert client.post(new, data={**question, "correct": " 2 "}).status_code == 302
    assert client.post(new, data={**question, "kind": "multiple", "correct": "1，3"}).status_code == 302
    first, second = questions_of(exam)
    assert (first.position, first.options, first.correct, first.points) == (1, ["甲", "乙", "丙"], [1], 2)
    assert (second.position, second.kind, second.correct) == (2, "multiple", [0, 2])

    edit = f"/teach/courses/{course.id}/exam/questions/{second.id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert "甲\n乙\n丙" in form and 'value="1,3"' in form
    assert client.post(edit, data={**question, "text": "改过的题", "kind": "multiple", "correct": "3"}).status_code == 302
    builder = client.get(url).get_data(as_text=True)
    assert "改过的题" in builder and "2 questions" in builder and "4 points in all" in builder

    assert client.post(f"/teach/courses/{course.id}/exam/questions/{first.id}/delete").status_code == 302
    db.session.expire_all()
    assert [(q.position, q.text) for q in questions_of(exam)] == [(1, "改过的题")]


def test_only_the_course_instructors_build_its_exam(app, tree, make_course, make_user, make_exam):
    course = make_course()
    exam = make_exam(course)
    question = questions_of(exam)[0]
    other = make_user("别的老师", union=tree.a1, role=("instructor", tree.a1))
    client = login_client(app, other)
    for url in (f"/teach/courses/{course.id}/exam", f"/teach/courses/{course.id}/exam/questions/new",
                f"/teach/courses/{course.id}/exam/questions/{question.id}/edit"):
        assert client.get(url).status_code == 404
    assert client.post(f"/teach/courses/{course.id}/exam/questions/{question.id}/delete").status_code == 404
    with pytest.raises(NotAllowed):
        building.add_question(exam, QUESTIONS[0], actor=other)


def test_questions_keep_their_structure_once_taken(make_course, make_exam, enrolled, instructor):
    course = make_course()
    exam = make_exam(course)
    worker = enrolled(course)
    attempts.start_attempt(worker, exam, now=utcnow())
    db.session.commit()
    question = questions_of(exam)[0]
    with pytest.raises(building.ExamLocked):
        building.update_question(question, {**QUESTIONS[0], "correct": [0]}, actor=instructor)
    db.session.rollback()
    for action in (lambda: building.add_question(exam, QUESTIONS[0], actor=instructor),
                   lambda: building.delete_question(question, actor=instructor)):
        with pytest.raises(building.ExamLocked):
            action()
        db.session.rollback()
    building.update_question(question, {**QUESTIONS[0], "text": "触电急救的第一步？"}, actor=instructor)  # rewording
    db.session.commit()
    assert questions_of(exam)[0].text == "触电急救的第一步？"


# ---- who may take it -------------------------------------------------------------------------------

def test_a_worker_who_is_not_enrolled_cannot_take_it(app, tree, make_course, make_user, make_exam):
    course = make_course()
    make_exam(course)
    client = login_client(app, make_user(union=tree.a1))
    response = client.get(f"/courses/{course.id}/exam")
    assert response.status_code == 302 and response.location.endswith(f"/courses/{course.id}")
    assert client.post(f"/courses/{course.id}/exam/start").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ExamAttempt)) == 0
    hidden = make_course(scope=tree.district_b)  # A1 is outside its scope
    make_exam(hidden)
    assert client.get(f"/courses/{hidden.id}/exam").status_code == 404
    assert client.post(f"/courses/{hidden.id}/exam/start").status_code == 404
    with pytest.raises(NotAllowed):
        attempts.start_attempt(make_user("路人"), building.exam_of(hidden.id), now=utcnow())


def test_someone_elses_attempt_is_not_found(app, make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course)
    owner, other = enrolled(course, "甲"), enrolled(course, "乙")
    attempt = attempts.start_attempt(owner, exam, now=utcnow())
    db.session.commit()
    client = login_client(app, other)
    base = f"/courses/{course.id}/exam/attempts/{attempt.id}"
    assert client.get(base).status_code == 404
    assert client.post(base + "/submit", data={"q1": "2"}).status_code == 404
    assert client.get(base + "/result").status_code == 404
    second = make_course()
    make_exam(second)
    enroll(owner, second, now=utcnow())
    db.session.commit()  # the right owner, the wrong course
    assert login_client(app, owner).get(f"/courses/{second.id}/exam/attempts/{attempt.id}").status_code == 404
    db.session.refresh(attempt)
    assert attempt.submitted_at is None


# ---- taking it: nothing reveals the answers -------------------------------------------------------

def test_the_attempt_page_carries_no_trace_of_the_answers(app, make_course, make_exam, enrolled):
    first, second = make_course("课程甲"), make_course("课程乙")
    options = ["红色", "绿色", "蓝色"]
    make_exam(first, [single("安全出口标志是什么颜色？", options, right=0), multiple("选出暖色", options, [0])])
    make_exam(second, [single("安全出口标志是什么颜色？", options, right=1), multiple("选出暖色", options, [1, 2])])
    worker = enrolled(first)
    enroll(worker, second, now=utcnow())
    db.session.commit()
    client = login_client(app, worker)
    pages = [start(client, course) for course in (first, second)]
    for page in pages:
        assert "correct" not in page.lower() and "right" not in question_markup(page).lower()
        assert 'type="radio" name="q1"' in page and 'type="checkbox" name="q2"' in page
        assert [int(v) for v in re.findall(r'name="q1" id="[^"]+" value="(\d+)"', page)] == [1, 2, 3]
    assert question_markup(pages[0]) == question_markup(pages[1])  # different answers, identical markup


def test_taking_resumes_the_open_attempt(app, make_course, make_exam, enrolled):
    course = make_course()
    make_exam(course, time_limit_minutes=20)
    worker = enrolled(course)
    client = login_client(app, worker)
    start(client, course)
    start(client, course)
    take = client.get(f"/courses/{course.id}/exam").get_data(as_text=True)
    assert "data-continue-attempt" in take and "In progress" in take
    (attempt,) = attempts_of(worker)
    assert attempt.number == 1 and attempt.deadline_at - attempt.started_at == timedelta(minutes=20)


# ---- scoring ---------------------------------------------------------------------------------------

def test_scoring_is_all_or_nothing_per_question_and_weighted(app, make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course)
    worker = enrolled(course)
    client = login_client(app, worker)
    start(client, course)
    attempt = attempts_of(worker)[0]
    response = client.post(f"/courses/{course.id}/exam/attempts/{attempt.id}/submit",
                           data={"q1": "2", "q2": ["1", "3"], "q3": "2"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "You passed with 75%." in page and 'data-score="75"' in page and 'data-passed="yes"' in page
    assert page.count('data-right="yes"') == 2 and page.count('data-right="no"') == 1
    assert "data-right-answer" not in page  # attempts remain: the right options stay hidden
    q1, q2, q3 = questions_of(exam)
    db.session.refresh(attempt)
    assert attempt.answers == {str(q1.id): [1], str(q2.id): [0, 2], str(q3.id): [1]}
    assert (attempt.score, attempt.passed, attempt.note) == (75, True, None)

    def score(answers: dict) -> int:
        return scoring.score_answers([q1, q2, q3], {str(q.id): value for q, value in zip([q1, q2, q3], answers, strict=True)})

    assert score([[1], [0], [0]]) == 50  # one of two right options earns nothing
    assert score([[1], [0, 1, 2], [0]]) == 50  # a wrong extra option earns nothing
    assert score([[], [0, 2], []]) == 50  # the 2-point question is half the exam
    assert score([[0, 1], [0, 2], [0]]) == 75  # two choices on a single-choice question
    assert score([[1], [2, 0], [0]]) == 100


def test_score_rounds_half_up():
    five, three = Question(id=1, points=5, correct=[0]), Question(id=2, points=3, correct=[1])
    assert scoring.score_answers([five, three], {"1": [0], "2": [0]}) == 63  # 62.5
    assert scoring.score_answers([five, three], {"2": [1]}) == 38  # 37.5


def test_pass_and_fail_follow_the_pass_mark(make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course, pass_score=80)
    worker = enrolled(course)
    attempt = attempts.start_attempt(worker, exam, now=utcnow())
    outcome = attempts.submit_attempt(attempt, {1: ["2"], 2: ["1", "3"]}, now=utcnow())
    assert (outcome.attempt.score, outcome.attempt.passed, outcome.late) == (75, False, False)
    attempt = attempts.start_attempt(worker, exam, now=utcnow())
    outcome = attempts.submit_attempt(attempt, {1: ["2"], 2: ["1", "3"], 3: ["1"]}, now=utcnow())
    assert (outcome.attempt.number, outcome.attempt.score, outcome.attempt.passed) == (2, 100, True)


# ---- attempts: the limit, concurrency, double and late submissions --------------------------------

def test_the_attempt_limit_refuses_a_third_attempt(app, make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course, attempt_limit=2)
    worker = enrolled(course)
    for _ in range(2):
        attempt = attempts.start_attempt(worker, exam, now=utcnow())
        attempts.submit_attempt(attempt, {1: ["1"]}, now=utcnow())
        db.session.commit()
    client = login_client(app, worker)
    page = client.post(f"/courses/{course.id}/exam/start", follow_redirects=True).get_data(as_text=True)
    assert "used all your attempts" in page and "data-no-attempts-left" in page and "data-start-exam" not in page
    assert [a.number for a in attempts_of(worker)] == [1, 2]
    result = client.get(f"/courses/{course.id}/exam/attempts/{attempts_of(worker)[1].id}/result")
    assert "data-right-answer" in result.get_data(as_text=True)  # no attempt left: the right options are shown
    with pytest.raises(attempts.AttemptsUsed):
        attempts.start_attempt(worker, exam, now=utcnow())


def test_concurrent_starts_create_one_attempt(app, make_course, make_exam, enrolled):
    course = make_course()
    make_exam(course, attempt_limit=1)
    worker = enrolled(course)
    clients = [login_client(app, worker) for _ in range(5)]
    url = f"/courses/{course.id}/exam/start"
    results = run_at_once(5, lambda i: clients[i].post(url))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 5
    assert db.session.scalar(select(func.count()).select_from(ExamAttempt)) == 1
    attempt = attempts_of(worker)[0]
    assert {result.location for result in results} == {f"/courses/{course.id}/exam/attempts/{attempt.id}"}


def test_a_double_submit_counts_once(app, make_course, make_exam, enrolled):
    course = make_course()
    make_exam(course)
    worker = enrolled(course)
    client = login_client(app, worker)
    start(client, course)
    attempt = attempts_of(worker)[0]
    url = f"/courses/{course.id}/exam/attempts/{attempt.id}/submit"
    assert client.post(url, data={"q1": "2", "q2": ["1", "3"], "q3": "1"}).status_code == 302
    again = client.post(url, data={"q1": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "already been submitted" in again
    db.session.refresh(attempt)
    assert (attempt.score, attempt.passed) == (100, True)


def test_concurrent_submits_score_once(app, make_course, make_exam, enrolled):
    course = make_course()
    make_exam(course)
    worker = enrolled(course)
    clients = [login_client(app, worker) for _ in range(4)]
    start(clients[0], course)
    attempt = attempts_of(worker)[0]
    url = f"/courses/{course.id}/exam/attempts/{attempt.id}/submit"
    answers = [{"q1": "2", "q2": ["1", "3"], "q3": "1"}, {"q1": "1"}, {"q3": "1"}, {}]
    results = run_at_once(4, lambda i: clients[i].post(url, data=answers[i]))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 4
    db.session.refresh(attempt)
    assert attempt.submitted_at is not None and attempt.score in (100, 0, 25)
    assert db.session.scalar(select(func.count()).select_from(ExamAttempt)) == 1


def test_a_late_submission_is_kept_with_score_zero(app, make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course, time_limit_minutes=30)
    worker = enrolled(course)
    attempt = attempts.start_attempt(worker, exam, now=utcnow() - timedelta(minutes=40))
    db.session.commit()
    client = login_client(app, worker)
    page = client.post(f"/courses/{course.id}/exam/attempts/{attempt.id}/submit",
                       data={"q1": "2", "q2": ["1", "3"], "q3": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Time ran out" in page and 'data-score="0"' in page and "data-timed-out" in page
    db.session.refresh(attempt)
    assert (attempt.score, attempt.passed, attempt.submitted_at is not None) == (0, False, True)
    assert attempt.note.startswith("Time ran out") and attempt.answers[str(questions_of(exam)[0].id)] == [1]


def test_the_grace_period_and_expired_attempts(make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course, time_limit_minutes=10, attempt_limit=3)
    worker = enrolled(course)
    begun = utcnow() - timedelta(hours=1)
    attempt = attempts.start_attempt(worker, exam, now=begun)
    outcome = attempts.submit_attempt(attempt, {1: ["2"], 2: ["1", "3"], 3: ["1"]},
                                   now=attempt.deadline_at + timedelta(seconds=50))
    assert (outcome.late, outcome.attempt.score) == (False, 100)
    forgotten = attempts.start_attempt(worker, exam, now=begun)  # left open: its time runs out
    fresh = attempts.start_attempt(worker, exam, now=utcnow())
    db.session.commit()
    db.session.refresh(forgotten)
    assert (forgotten.score, forgotten.passed, attempts.timed_out(forgotten)) == (0, False, True)
    assert fresh.number == 3 and fresh.submitted_at is None
    with pytest.raises(attempts.AlreadySubmitted):
        attempts.submit_attempt(forgotten, {1: ["2"]}, now=utcnow())


# ---- shuffling -----------------------------------------------------------------------------------------

def test_shuffled_order_is_stored_and_answers_map_back(app, make_course, make_exam, enrolled):
    course = make_course()
    letters = ["A", "B", "C", "D", "E"]
    exam = make_exam(course, [single(f"第{n}题", [f"{n}{x}" for x in letters], right=n % 5) for n in range(6)]
                     + [multiple("多选", letters, [1, 3], points=3)], shuffle=True)
    worker = enrolled(course)
    attempt = attempts.start_attempt(worker, exam, now=utcnow(), rng=random.Random(7))
    db.session.commit()
    questions = {q.id: q for q in questions_of(exam)}
    assert sorted(attempt.question_order) == sorted(questions) and attempt.question_order != sorted(questions)
    orders = attempt.option_orders
    assert set(orders) == {str(i) for i in questions} and all(sorted(o) == list(range(5)) for o in orders.values())
    assert any(order != list(range(5)) for order in orders.values())

    client = login_client(app, worker)
    page = client.get(f"/courses/{course.id}/exam/attempts/{attempt.id}").get_data(as_text=True)
    first = questions[attempt.question_order[0]]
    shown = data_texts(page, "data-option-of", "1")
    assert shown == [first.options[i] for i in orders[str(first.id)]]
    chosen = {f"q{n}": [str(orders[str(qid)].index(i) + 1) for i in questions[qid].correct]
              for n, qid in enumerate(attempt.question_order, 1)}
    page = client.post(f"/courses/{course.id}/exam/attempts/{attempt.id}/submit", data=chosen,
                       follow_redirects=True).get_data(as_text=True)
    assert 'data-score="100"' in page
    db.session.refresh(attempt)
    assert attempt.answers == {str(qid): q.correct for qid, q in questions.items()}


# ---- the completion rule -------------------------------------------------------------------------------

def test_passing_the_exam_completes_the_course(app, make_course, make_exam, enrolled):
    course = make_course(lessons=0, min_exam_score=60, min_lesson_share=0)
    exam = make_exam(course, pass_score=60)
    worker = enrolled(course)
    client = login_client(app, worker)
    start(client, course)
    url = f"/courses/{course.id}/exam/attempts/{attempts_of(worker)[0].id}/submit"
    page = client.post(url, data={"q1": "1"}, follow_redirects=True).get_data(as_text=True)  # 0 %
    assert "You scored 0%; the pass mark is 60%." in page
    enrollment = db.session.scalar(select(Enrollment).filter_by(user_id=worker.id))
    assert enrollment.status == "enrolled"
    start(client, course)
    url = f"/courses/{course.id}/exam/attempts/{attempts_of(worker)[1].id}/submit"
    page = client.post(url, data={"q1": "2", "q2": ["1", "3"]}, follow_redirects=True).get_data(as_text=True)  # 75 %
    assert "Congratulations" in page
    db.session.refresh(enrollment)
    assert enrollment.status == "completed" and enrollment.completed_at is not None
    assert exam.id == attempts_of(worker)[1].exam_id


def test_a_failed_exam_does_not_complete_the_course(make_course, make_exam, enrolled):
    course = make_course(lessons=0, min_exam_score=60, min_lesson_share=0)
    exam = make_exam(course, pass_score=50)
    worker = enrolled(course)
    attempt = attempts.start_attempt(worker, exam, now=utcnow())
    outcome = attempts.submit_attempt(attempt, {2: ["1", "3"]}, now=utcnow())  # 50 %: passes the exam, not the course
    db.session.commit()
    assert (outcome.attempt.passed, outcome.completed) == (True, False)
    assert db.session.scalar(select(Enrollment.status).filter_by(user_id=worker.id)) == "enrolled"


# ---- user text stays inert ----------------------------------------------------------------------------

def test_question_texts_and_options_render_inert(app, make_course, make_exam, enrolled, instructor):
    payloads = list(dict.fromkeys(xss_payloads()))
    chunks = [payloads[i:i + 10] for i in range(0, len(payloads), 10)]
    questions = [single(chunk[0], chunk if len(chunk) > 1 else [chunk[0], "否"], right=0) for chunk in chunks]
    questions += [single(text, ["是", "否"], right=0) for text in payloads]
    course = make_course()
    exam = make_exam(course, questions, attempt_limit=1)
    worker = enrolled(course)
    builder = login_client(app, instructor).get(f"/teach/courses/{course.id}/exam").get_data(as_text=True)
    assert_inert(builder)
    edit = login_client(app, instructor).get(
        f"/teach/courses/{course.id}/exam/questions/{questions_of(exam)[0].id}/edit").get_data(as_text=True)
    assert_inert(edit)
    client = login_client(app, worker)
    page = start(client, course)
    assert_inert(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    attempt = attempts_of(worker)[0]
    result = client.post(f"/courses/{course.id}/exam/attempts/{attempt.id}/submit", data={"q1": "1"},
                         follow_redirects=True).get_data(as_text=True)
    assert "data-right-answer" in result
    assert_inert(result)


def test_conflicts_are_domain_errors(make_course, make_exam, enrolled):
    course = make_course()
    exam = make_exam(course, [])
    worker = enrolled(course)
    with force_locale("en"), pytest.raises(Conflict, match="no questions"):
        attempts.start_attempt(worker, exam, now=utcnow())
