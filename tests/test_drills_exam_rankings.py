"""Rankings per round and per mock exam (issue 21): people by their best score, then the shorter time
(names masked except to themselves and the admins over them), unions by participation (a round: entries
that sat / confirmed entries of each nominating union; a mock exam: members who sat / members) and their
average score; a page linked from the round's page whose SQL statement count does not grow with people."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from classroom.database import utcnow
from classroom.extensions import db
from courses.competitions.models import Competition, CompetitionEvent, Entry, EntryMember, Stage
from courses.drills import rankings
from courses.drills.banks import apply, current_versions
from courses.drills.models import MockAttempt, MockExam, QuestionBank
from tests.factories import login_client
from tests.helpers import sql_statements

NAMES = re.compile(r"data-name>([^<]+)<")


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工理论")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [({"code": "R1", "kind": "true_false", "text": "判断", "options": [], "answer": [0],
                   "explanation": "", "difficulty": 2, "tags": []}, None)], now=utcnow())
    db.session.commit()
    return bank


def sat(exam: MockExam, user, score: int, seconds: int, entry: Entry | None = None) -> None:
    version = current_versions(exam.bank_id)["R1"][1]
    start = utcnow() - timedelta(hours=2)
    db.session.add(MockAttempt(exam_id=exam.id, user_id=user.id, paper=[[version.id, 1]], started_at=start,
                               deadline_at=start + timedelta(hours=1), submitted_at=start + timedelta(seconds=seconds),
                               score=score, entry_id=entry.id if entry else None))
    db.session.commit()


@pytest.fixture
def round_(tree, bank, make_admin):
    now = utcnow()
    competition = Competition(title="全区电工大赛", organizer_union_id=tree.district_a.id, status="published",
                              created_at=now, updated_at=now, published_at=now, signup_opens_at=now - timedelta(days=9),
                              signup_closes_at=now - timedelta(days=1), year=now.year, level="district",
                              notice_md="通知")
    db.session.add(competition)
    db.session.flush()
    event = CompetitionEvent(competition_id=competition.id, name="电工", trade="电工", confirmed_count=0,
                             award_rule={"first": 1, "second": 0, "third": 0, "excellence": 0})
    stage = Stage(competition_id=competition.id, name="理论", kind="theory", starts_at=now - timedelta(hours=3),
                  ends_at=now + timedelta(hours=1), weight=100)
    db.session.add_all([event, stage])
    db.session.flush()
    exam = MockExam(bank_id=bank.id, title="理论赛", minutes=60, pass_score=60, stage_id=stage.id,
                    blueprint=[{"kind": "true_false", "count": 1, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    db.session.commit()
    return {"competition": competition, "event": event, "exam": exam, "organizer": make_admin(tree.district_a)}


def enter(round_, person, union) -> Entry:
    now = utcnow()
    entry = Entry(event_id=round_["event"].id, competition_id=round_["competition"].id, applicant_id=person.id,
                  nominating_union_id=union.id, status="confirmed", submitted_at=now, confirmed_at=now)
    db.session.add(entry)
    db.session.flush()
    db.session.add(EntryMember(entry_id=entry.id, event_id=round_["event"].id, user_id=person.id, is_captain=True,
                               status="accepted", is_active=True))
    db.session.commit()
    return entry


def test_a_rounds_ranking_people_by_score_then_time_unions_by_entries_that_sat(app, tree, round_, make_user):
    exam = round_["exam"]
    people = {name: (make_user(name, union=union), union) for name, union in
              (("甲一号", tree.a1), ("乙二号", tree.a1), ("丙三号", tree.a2), ("丁四号", tree.a2))}
    entries = {name: enter(round_, person, union) for name, (person, union) in people.items()}
    sat(exam, people["甲一号"][0], 80, 300, entries["甲一号"])
    sat(exam, people["乙二号"][0], 80, 200, entries["乙二号"])
    sat(exam, people["丙三号"][0], 90, 600, entries["丙三号"])  # 丁四号 did not sit

    rows = rankings.exam_unions(exam)
    assert [(row.union.code, row.practised, row.members, row.rate, row.average) for row in rows] == [
        ("A1", 2, 2, 100, 80), ("A2", 1, 2, 50, 90)]
    entrant = login_client(app, people["甲一号"][0])
    round_page = entrant.get(f"/drills/mock/{exam.id}").get_data(as_text=True)
    url = f"/drills/mock/{exam.id}/rankings"
    assert f'href="{url}"' in round_page
    page = entrant.get(url).get_data(as_text=True)
    assert NAMES.findall(page) == ["丙*号", "乙*号", "甲一号"]  # 80 in 3:20 before 80 in 5:00; their own name in full
    assert "3:20" in page and "5:00" in page
    organizer = login_client(app, round_["organizer"])
    assert NAMES.findall(organizer.get(url).get_data(as_text=True)) == ["丙三号", "乙二号", "甲一号"]
    assert f'href="{url}"' in organizer.get(f"/drills/manage/rounds/{exam.id}").get_data(as_text=True)
    assert login_client(app, make_user("旁观者", union=tree.a1)).get(url).status_code == 404
    assert entrant.get("/drills/mock/999999/rankings").status_code == 404

    with sql_statements(app) as few:
        assert organizer.get(url).status_code == 200
    for n in range(6):  # more people, more unions' entries, more papers
        person = make_user(f"工人{n}号", union=tree.b1 if n % 2 else tree.a2)
        sat(exam, person, 50 + n, 100 + n, enter(round_, person, tree.b1 if n % 2 else tree.a2))
    with sql_statements(app) as many:
        page = organizer.get(url).get_data(as_text=True)
    assert len(NAMES.findall(page)) == 9 and 'data-union="B1"' in page
    assert len(many) == len(few) <= 10, (len(few), len(many))  # 9 on both backends today


def test_a_mock_exams_ranking_takes_each_persons_best_paper(app, tree, bank, make_user):
    exam = MockExam(bank_id=bank.id, title="模拟考", minutes=30, pass_score=60,
                    blueprint=[{"kind": "true_false", "count": 1, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    db.session.commit()
    first, second = make_user("王小一", union=tree.a1), make_user("赵大二", union=tree.a2)
    make_user("王小三", union=tree.a1)  # did not sit
    sat(exam, first, 50, 100)
    sat(exam, first, 70, 900)
    sat(exam, first, 70, 800)
    sat(exam, second, 60, 60)
    people = rankings.exam_people(second, exam)
    assert [(row.name, row.score, row.seconds) for row in people] == [("王*一", 70, 800), ("赵大二", 60, 60)]
    rows = rankings.exam_unions(exam)
    assert [(row.union.code, row.practised, row.members, row.rate, row.average) for row in rows] == [
        ("A2", 1, 1, 100, 60), ("A1", 1, 2, 50, 63)]
    page = login_client(app, first).get(f"/drills/mock/{exam.id}/rankings").get_data(as_text=True)
    assert NAMES.findall(page) == ["王小一", "赵*二"] and "Members who sat" in page
    assert login_client(app, make_user("外人", union=tree.b1)).get(f"/drills/mock/{exam.id}/rankings").status_code \
        == 404
