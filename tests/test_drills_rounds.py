"""Online theory rounds (issue 21): a competition's theory stage sat online by its confirmed entrants in
its window, one paper per entry due by the stage's end, the score flowing into the stage's results and
ranks (also when the deadline scan submits), and the organizer's correction audited."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from courses.competitions import results
from courses.competitions.models import Competition, CompetitionEvent, Entry, EntryMember, Score, Stage
from courses.drills import jobs, mock
from courses.drills.banks import apply
from courses.drills.models import MockAttempt, MockExam, QuestionBank
from tests.factories import login_client


def question(n: int) -> dict:
    return {"code": f"R{n:02d}", "kind": "true_false", "text": f"判断{n}", "options": [], "answer": [0],
            "explanation": "", "difficulty": 2, "tags": ["安全"]}


@pytest.fixture
def setting(tree, make_user, make_admin):
    now = utcnow()
    competition = Competition(title="全市电工大赛", organizer_union_id=tree.city.id, status="published",
                              created_at=now, updated_at=now, published_at=now, signup_opens_at=now - timedelta(days=9),
                              signup_closes_at=now - timedelta(days=1), year=now.year, level="city", notice_md="通知")
    db.session.add(competition)
    db.session.flush()
    event = CompetitionEvent(competition_id=competition.id, name="电工", trade="电工", confirmed_count=0,
                             award_rule={"first": 1, "second": 0, "third": 0, "excellence": 0})
    theory = Stage(competition_id=competition.id, name="理论", kind="theory", starts_at=now - timedelta(hours=1),
                   ends_at=now + timedelta(minutes=20), weight=100)
    db.session.add_all([event, theory])
    db.session.flush()
    bank = QuestionBank(union_id=tree.city.id, title="电工理论")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [(question(n), None) for n in range(10)], now=now)
    people = [make_user(name, union=tree.a1) for name in ("甲", "乙")]
    for person in people:
        entry = Entry(event_id=event.id, competition_id=competition.id, applicant_id=person.id,
                      nominating_union_id=tree.a1.id, status="confirmed", submitted_at=now, confirmed_at=now)
        db.session.add(entry)
        db.session.flush()
        db.session.add(EntryMember(entry_id=entry.id, event_id=event.id, user_id=person.id, is_captain=True,
                                   status="accepted", is_active=True))
    db.session.commit()
    return {"stage": theory, "event": event, "bank": bank, "people": people, "organizer": make_admin(tree.city)}


def test_a_theory_round_scores_into_the_stage_results_and_a_correction_is_audited(app, tree, setting, make_user):
    organizer = login_client(app, setting["organizer"])
    url = f"/drills/manage/stages/{setting['stage'].id}/round"
    assert url in organizer.get("/drills/manage").get_data(as_text=True)
    form = {"bank_id": setting["bank"].id, "title": "理论赛", "minutes": "60", "pass_score": "60",
            "blueprint": "判断, 4, 25"}
    assert organizer.post(url, data=form).status_code == 302
    assert organizer.post(url, data=form).status_code == 200  # one round per stage
    exam = db.session.scalar(select(MockExam).filter_by(stage_id=setting["stage"].id))
    assert login_client(app, make_user("旁观", union=tree.a1)).get(f"/drills/mock/{exam.id}").status_code == 404
    first = login_client(app, setting["people"][0])
    assert "理论赛" in first.get("/drills").get_data(as_text=True)
    paper_url = first.post(f"/drills/mock/{exam.id}/start").headers["Location"]
    attempt = db.session.scalar(select(MockAttempt))
    assert attempt.deadline_at == setting["stage"].ends_at  # 60 minutes, but the stage ends in 20
    answers = {f"c{version_id}": "0" for version_id, _points in attempt.paper[:3]}
    first.post(paper_url + "/save", data={**answers, "submit": "1"})
    assert 'data-mock-score="75"' in first.get(paper_url).get_data(as_text=True)
    first.post(f"/drills/mock/{exam.id}/start")
    assert db.session.query(MockAttempt).count() == 1  # one paper per entry

    mock.start(setting["people"][1], exam, now=utcnow())  # the second entrant starts and leaves it
    db.session.commit()
    assert jobs.submit_expired(now=setting["stage"].ends_at + timedelta(seconds=1)) == 1
    scores = {score.entry_id: score.points for score in db.session.scalars(select(Score))}
    entries = {entry.applicant_id: entry for entry in db.session.scalars(select(Entry))}
    assert scores == {entries[setting["people"][0].id].id: Decimal("75"), entries[setting["people"][1].id].id: 0}
    assert (entries[setting["people"][0].id].rank, entries[setting["people"][1].id].rank) == (1, 2)
    assert db.session.query(AuditEvent).filter_by(action="drills.round_score").count() == 2

    late = entries[setting["people"][1].id]
    results.record_scores(setting["event"], {late.id: {setting["stage"].id: Decimal("90")}},
                          actor=setting["organizer"], now=utcnow())
    db.session.commit()
    db.session.refresh(late)
    assert late.rank == 1 and db.session.query(AuditEvent).filter_by(action="competition.scores.record").count() == 1


def test_the_round_opens_only_in_its_window(app, tree, setting):
    stage = setting["stage"]
    exam = MockExam(bank_id=setting["bank"].id, title="理论赛", minutes=30, pass_score=60, stage_id=stage.id,
                    blueprint=[{"kind": "true_false", "count": 2, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    db.session.commit()
    with pytest.raises(mock.Conflict, match=re.escape("The round is open from")):
        mock.start(setting["people"][0], exam, now=stage.starts_at - timedelta(minutes=1))
    db.session.rollback()
    with pytest.raises(mock.Conflict, match="confirmed entrants"):
        mock.start(setting["organizer"], exam, now=stage.starts_at)


def test_the_organizer_sees_integrity_signals_which_block_nothing(app, tree, setting, make_user):
    exam = MockExam(bank_id=setting["bank"].id, title="理论赛", minutes=30, pass_score=60, stage_id=setting["stage"].id,
                    blueprint=[{"kind": "true_false", "count": 10, "points": 1, "difficulty": None, "tag": None}])
    db.session.add(exam)
    db.session.commit()
    clients = [login_client(app, person) for person in setting["people"]]
    urls = [client.post(f"/drills/mock/{exam.id}/start").headers["Location"] for client in clients]
    attempts = db.session.scalars(select(MockAttempt).order_by(MockAttempt.id)).all()
    wrong = {f"c{version_id}": "1" for version_id, _points in attempts[0].paper[:3]}  # all 10 on both papers
    for client, url in zip(clients, urls, strict=True):
        assert client.post(url + "/focus").json == {"counted": True}
        client.post(url + "/save", data={**wrong, "submit": "1"})
    assert clients[0].post(urls[0] + "/focus").status_code == 409  # closed: nothing counted
    report_url = f"/drills/manage/rounds/{exam.id}"
    page = login_client(app, setting["organizer"]).get(report_url).get_data(as_text=True)
    assert page.count("data-focus-lost>1<") == 2 and "甲" in page
    assert f"Papers {attempts[0].id} and {attempts[1].id}: 3 identical wrong answers" in page
    assert clients[0].get(report_url).status_code == 404
    assert login_client(app, make_user("区管理员", union=tree.a1, role=("union_admin", tree.district_a))).get(
        report_url).status_code == 404
