# ruff: noqa: F811 - the shared fixtures are imported from tests.test_competitions and tests.test_exams
"""Authorization, operation by operation: every API operation whose path names an object is asked, with a
valid token, for another worker's object or another union's, and answers an audited 404 (the same as an id
that does not exist) and changes nothing. A test below keeps the list complete: an operation added to the
document with an object in its path and no case here fails it."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.notifications.services import notify
from classroom.unions.models import Membership
from courses.competitions.models import Entry, EntryMember
from courses.drills import mock
from courses.drills.banks import apply
from courses.drills.models import MockExam, QuestionBank
from courses.enrollment.services import enroll
from courses.study import exam_attempts
from tests.api_support import bearer, problem, sign_in
from tests.test_api_admin import _revision
from tests.test_certificates import certificate_of, complete
from tests.test_competitions import make_competition, make_event  # noqa: F401 - fixtures
from tests.test_exams import make_exam  # noqa: F401 - a fixture

W, A = "worker", "admin"  # whose token asks: a worker of A1, an administrator of district A
CASES = [  # (method, path in the document, who asks, the path's values, a body)
    ("GET", "/api/v1/courses/{course_id}", W, {"course_id": "hidden_course"}, None),
    ("GET", "/api/v1/courses/{course_id}/enrollment", W, {"course_id": "hidden_course"}, None),
    ("GET", "/api/v1/courses/{course_id}/lessons/{position}", W, {"course_id": "hidden_course", "position": 1}, None),
    ("POST", "/api/v1/courses/{course_id}/lessons/{position}/heartbeat", W,
     {"course_id": "hidden_course", "position": 1}, {}),
    ("POST", "/api/v1/courses/{course_id}/lessons/{position}/complete", W,
     {"course_id": "hidden_course", "position": 1}, None),
    ("GET", "/api/v1/courses/{course_id}/exam", W, {"course_id": "hidden_course"}, None),
    ("POST", "/api/v1/courses/{course_id}/exam/attempts", W, {"course_id": "hidden_course"}, None),
    ("GET", "/api/v1/enrollments/{enrollment_id}", W, {"enrollment_id": "their_enrollment"}, None),
    ("POST", "/api/v1/enrollments/{enrollment_id}/withdraw", W, {"enrollment_id": "their_enrollment"}, None),
    ("GET", "/api/v1/exam-attempts/{attempt_id}", W, {"attempt_id": "their_attempt"}, None),
    ("PUT", "/api/v1/exam-attempts/{attempt_id}/answers", W, {"attempt_id": "their_attempt"}, {"answers": {}}),
    ("POST", "/api/v1/exam-attempts/{attempt_id}/submit", W, {"attempt_id": "their_attempt"}, {}),
    ("GET", "/api/v1/me/memberships/{membership_id}", W, {"membership_id": "their_membership"}, None),
    ("POST", "/api/v1/notifications/{notification_id}/read", W, {"notification_id": "their_notification"}, None),
    ("GET", "/api/v1/me/certificates/{certificate_id}", W, {"certificate_id": "their_certificate"}, None),
    ("GET", "/api/v1/me/certificates/{certificate_id}/pdf", W, {"certificate_id": "their_certificate"}, None),
    ("GET", "/api/v1/competitions/{competition_id}", W, {"competition_id": "hidden_competition"}, None),
    ("GET", "/api/v1/competitions/{competition_id}/eligibility", W, {"competition_id": "hidden_competition"}, None),
    ("GET", "/api/v1/competitions/{competition_id}/results", W, {"competition_id": "hidden_competition"}, None),
    ("POST", "/api/v1/competitions/events/{event_id}/entries", W, {"event_id": "hidden_event"}, {}),
    ("GET", "/api/v1/competitions/entries/{entry_id}", W, {"entry_id": "their_entry"}, None),
    ("POST", "/api/v1/competitions/entries/{entry_id}/invitations", W, {"entry_id": "their_entry"},
     {"mobile": "13700000009"}),
    ("POST", "/api/v1/competitions/entries/{entry_id}/{action}", W, {"entry_id": "their_entry", "action": "submit"},
     None),
    ("POST", "/api/v1/competitions/entries/{entry_id}/{action}", W,
     {"entry_id": "their_entry", "action": "withdraw"}, None),
    ("POST", "/api/v1/competitions/invitations/{member_id}/{answer}", W,
     {"member_id": "their_invitation", "answer": "accept"}, None),
    ("POST", "/api/v1/competitions/invitations/{member_id}/{answer}", W,
     {"member_id": "their_invitation", "answer": "decline"}, None),
    ("GET", "/api/v1/drill-banks/{bank_id}/practice", W, {"bank_id": "hidden_bank"}, None),
    ("POST", "/api/v1/drill-banks/{bank_id}/practice/answers", W, {"bank_id": "hidden_bank"},
     {"version_id": 1}),
    ("GET", "/api/v1/drill-banks/{bank_id}/mistakes", W, {"bank_id": "hidden_bank"}, None),
    ("GET", "/api/v1/drill-banks/{bank_id}/rankings", W, {"bank_id": "hidden_bank"}, None),
    ("GET", "/api/v1/drill-banks/{bank_id}/exams", W, {"bank_id": "hidden_bank"}, None),
    ("PUT", "/api/v1/drill-banks/{bank_id}/favourites/{question_id}", W,
     {"bank_id": "hidden_bank", "question_id": "hidden_question"}, None),
    ("DELETE", "/api/v1/drill-banks/{bank_id}/favourites/{question_id}", W,
     {"bank_id": "hidden_bank", "question_id": "hidden_question"}, None),
    ("GET", "/api/v1/drill-banks/{bank_id}/images/{version_id}", W,
     {"bank_id": "hidden_bank", "version_id": "hidden_version"}, None),
    ("GET", "/api/v1/drill-banks/{bank_id}/daily", W, {"bank_id": "hidden_bank"}, None),
    ("POST", "/api/v1/drill-banks/{bank_id}/daily", W, {"bank_id": "hidden_bank"}, None),
    ("POST", "/api/v1/drill-banks/{bank_id}/daily/answers", W, {"bank_id": "hidden_bank"}, {"version_id": 1}),
    ("PUT", "/api/v1/drill-banks/{bank_id}/daily/plan", W, {"bank_id": "hidden_bank"}, None),
    ("DELETE", "/api/v1/drill-banks/{bank_id}/daily/plan", W, {"bank_id": "hidden_bank"}, None),
    ("GET", "/api/v1/drill-exams/{exam_id}", W, {"exam_id": "hidden_drill_exam"}, None),
    ("GET", "/api/v1/drill-exams/{exam_id}/rankings", W, {"exam_id": "hidden_drill_exam"}, None),
    ("POST", "/api/v1/drill-exams/{exam_id}/attempts", W, {"exam_id": "hidden_drill_exam"}, None),
    ("GET", "/api/v1/drill-attempts/{attempt_id}", W, {"attempt_id": "their_paper"}, None),
    ("PUT", "/api/v1/drill-attempts/{attempt_id}/answers/{number}", W, {"attempt_id": "their_paper", "number": 1},
     {"choices": [1]}),
    ("POST", "/api/v1/drill-attempts/{attempt_id}/submit", W, {"attempt_id": "their_paper"}, None),
    ("GET", "/api/v1/drill-attempts/{attempt_id}/images/{version_id}", W,
     {"attempt_id": "their_paper", "version_id": "their_paper_version"}, None),
    ("GET", "/api/v1/unions/{union_id}", A, {"union_id": "other_district"}, None),
    ("GET", "/api/v1/unions/{union_id}/members", A, {"union_id": "other_district"}, None),
    ("GET", "/api/v1/unions/{union_id}/applications", A, {"union_id": "other_district"}, None),
    ("GET", "/api/v1/unions/{union_id}/hours-report", A, {"union_id": "other_district"}, None),
    ("POST", "/api/v1/unions/{union_id}/applications/{membership_id}/approve", A,
     {"union_id": "own_district", "membership_id": "their_application"}, None),
    ("POST", "/api/v1/unions/{union_id}/applications/{membership_id}/reject", A,
     {"union_id": "own_district", "membership_id": "their_application"}, {"reason": "不符合"}),
    ("POST", "/api/v1/review/courses/{course_id}/publish", A, {"course_id": "their_pending_course"}, None),
    ("POST", "/api/v1/review/courses/{course_id}/send-back", A, {"course_id": "their_pending_course"},
     {"reason": "补充"}),
    ("POST", "/api/v1/review/revisions/{revision_id}/{decision}", A,
     {"revision_id": "their_revision", "decision": "approve"}, {}),
    ("POST", "/api/v1/review/revisions/{revision_id}/{decision}", A,
     {"revision_id": "their_revision", "decision": "reject"}, {}),
]
# Path parameters that name no object of anyone's: a calendar year of the caller's own hours, and the public
# verification's code (anyone may verify any certificate).
NOT_OBJECTS = {("GET", "/api/v1/me/hours/{year}/transcript"), ("GET", "/api/v1/certificates/verify/{code}")}


@pytest.fixture
def others(tree, make_user, make_admin, make_course, make_exam, make_competition, make_event, instructor):
    """Objects of a worker of B1 (another district) and of district B, none of them the askers'."""
    they = make_user("西城工人", union=tree.b1)
    hidden_course = make_course("西城内部课", scope=tree.district_b, lessons=1)
    make_exam(hidden_course)
    open_course = make_course("全市公开课", lessons=1)
    exam = make_exam(open_course)
    their_enrollment = enroll(they, open_course, now=utcnow())
    db.session.flush()
    their_attempt = exam_attempts.start_attempt(they, exam, now=utcnow())
    notify(they, "system", "authz-test", "给西城工人的通知", now=utcnow())
    certificate = certificate_of(complete(they, make_course("西城结业课", lessons=0, min_lesson_share=0,
                                                            certificate_months=36)))
    hidden_competition = make_competition("西城内部赛", organizer=tree.district_b, status="draft")
    hidden_event = make_event(hidden_competition)
    competition = make_competition("全市团体赛")
    team_event = make_event(competition, "团体赛", is_team=True, team_min=2, team_max=3)
    invitee = make_user("被邀请人", union=tree.b1)
    now = utcnow()
    entry = Entry(event_id=team_event.id, competition_id=competition.id, applicant_id=they.id, team_name="西城队",
                  nominating_union_id=tree.b1.id, created_at=now, status="forming")
    db.session.add(entry)
    db.session.flush()
    invitation = EntryMember(entry_id=entry.id, event_id=team_event.id, user_id=invitee.id, is_captain=False,
                             status="invited", is_active=False, invited_at=now)
    db.session.add_all([EntryMember(entry_id=entry.id, event_id=team_event.id, user_id=they.id, is_captain=True,
                                    status="accepted", is_active=True, invited_at=now, responded_at=now), invitation])
    applicant = make_user("西城申请人", union=tree.b1, status="applied")
    drills = their_drills(tree, they)
    db.session.commit()
    return SimpleNamespace(
        hidden_course=hidden_course.id, their_enrollment=their_enrollment.id, their_attempt=their_attempt.id,
        their_membership=db.session.scalar(select(Membership.id).where(Membership.user_id == they.id)),
        their_notification=db.session.scalar(select(func.max(Notification.id)).where(Notification.user_id == they.id)),
        their_certificate=certificate.id, hidden_competition=hidden_competition.id, hidden_event=hidden_event.id,
        their_entry=entry.id, their_invitation=invitation.id, other_district=tree.district_b.id,
        own_district=tree.district_a.id,
        their_application=db.session.scalar(select(Membership.id).where(Membership.user_id == applicant.id)),
        their_pending_course=make_course("西城待审", scope=tree.district_b, status="pending",
                                         submitted_at=utcnow() - timedelta(hours=1)).id,
        their_revision=_revision(make_course("西城已发布", scope=tree.district_b), instructor).id, **drills)


def their_drills(tree, they) -> dict:
    """District B's question bank, its mock exam and a paper of B1's worker (a paper of a bank the asker
    may practise would do too: a paper is its owner's alone)."""
    bank = QuestionBank(union_id=tree.district_b.id, title="西城题库")
    db.session.add(bank)
    db.session.flush()
    question = apply(bank, [({"code": "X1", "kind": "single", "text": "题", "options": ["甲", "乙"], "answer": [0],
                              "explanation": "", "difficulty": 2, "tags": []}, None)], now=utcnow())[0]
    exam = MockExam(bank_id=bank.id, title="西城模拟考", blueprint=[{"kind": "single", "count": 1, "points": 1}])
    db.session.add(exam)
    db.session.commit()  # a start takes the write lock first (on SQLite: a new transaction)
    paper = mock.start(they, exam, now=utcnow())
    db.session.flush()
    return {"hidden_bank": bank.id, "hidden_question": question.id, "hidden_drill_exam": exam.id,
            "their_paper": paper.id, "hidden_version": paper.paper[0][0], "their_paper_version": paper.paper[0][0]}


@pytest.fixture
def tokens(client, tree, make_user, make_admin):
    return {W: bearer(sign_in(client, make_user("李工", union=tree.a1))["access_token"]),
            A: bearer(sign_in(client, make_admin(tree.district_a, "东城管理员"), device="管理电脑")["access_token"])}


@pytest.mark.parametrize(("method", "path", "who", "values", "body"), CASES,
                         ids=[f"{c[0]} {c[1]} {'/'.join(map(str, c[3].values()))}" for c in CASES])
def test_another_s_object_is_a_404(client, others, tokens, method, path, who, values, body):
    url = path.format(**{name: getattr(others, value) if isinstance(value, str) and hasattr(others, value)
                         else value for name, value in values.items()})
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    answer = client.open(url, method=method, json=body, headers=tokens[who])
    problem(answer, 404, "not-found")
    db.session.rollback()
    denied = db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > before)).all()
    assert "scope.denied" in denied or method == "GET", denied  # a change refused is always audited
    assert [action for action in denied if action != "scope.denied"] == [], denied  # and nothing else happened


def test_every_operation_that_names_an_object_has_a_case(client):
    document = client.get("/api/v1/openapi.json").get_json()
    named = {(method.upper(), path) for path, operations in document["paths"].items() if "{" in path
             for method in operations if method != "parameters"}
    covered = {(method, path) for method, path, *_ in CASES}
    assert named - NOT_OBJECTS == covered, sorted(named - NOT_OBJECTS - covered)
    assert all(re.fullmatch(r"/api/v1/[a-z/{}_-]+", path) for _, path in covered)
