# ruff: noqa: F811 - the exam builder is imported from tests.test_exams
"""A worker's whole journey through the API alone (the app's door): register and apply to a union, an
administrator approves (through the API too), enroll, study the lesson by heartbeats, pass the exam, check in
to the class, read the hours and the transcript, find the certificate and verify it without credentials.
Only the instructor's preparation (the exam, opening check-in) goes through the services beforehand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from classroom.database import utcnow
from classroom.extensions import db
from courses.attendance import checkin as checkins
from courses.catalog.models import ClassSession
from tests.api_support import bearer, sign_in
from tests.factories import PASSWORD
from tests.test_exams import QUESTIONS, make_exam  # noqa: F401 - a fixture

RIGHT = {number: [question["options"][i] for i in question["correct"]]
         for number, question in enumerate(QUESTIONS, start=1)}


@pytest.fixture
def course(make_course, make_exam, instructor):
    """One lesson, one class starting in ten minutes (check-in open), an exam to pass: all three required."""
    course = make_course("安全生产全流程", lessons=1, min_lesson_share=100, min_attendance_share=100,
                         min_exam_score=60)
    now = utcnow()
    session = ClassSession(course_id=course.id, starts_at=now + timedelta(minutes=10),
                           ends_at=now + timedelta(minutes=100), venue_name="东城区职工服务站", credit_minutes=90)
    db.session.add(session)
    db.session.commit()
    make_exam(course)
    checkin = checkins.open_checkin(session, actor=instructor, now=now)
    db.session.commit()
    return course, session, checkin


def test_a_worker_s_whole_journey_runs_through_the_api(app, client, tree, make_admin, course, monkeypatch):
    course, session, checkin = course
    admin = bearer(sign_in(client, make_admin(tree.a1, "基层管理员"), device="管理电脑")["access_token"])

    # register (applying to the union) and wait for approval
    found = client.get("/api/v1/auth/unions", query_string={"q": "华东"}).get_json()["items"]
    assert tree.a1.id in [union["id"] for union in found]
    registered = client.post("/api/v1/auth/register", json={
        "mobile": "13912345678", "password": PASSWORD, "real_name": "赵新工", "consent": True,
        "union_id": tree.a1.id, "device_name": "赵的手机"})
    assert registered.status_code == 201, registered.get_json()
    me = bearer(registered.get_json()["access_token"])
    [application] = client.get("/api/v1/me/memberships", headers=me).get_json()["items"]
    assert application["status"] == "applied" and application["union"]["id"] == tree.a1.id
    waiting = client.get(f"/api/v1/unions/{tree.a1.id}/applications", headers=admin).get_json()["items"]
    assert application["id"] in [row["id"] for row in waiting]
    approved = client.post(f"/api/v1/unions/{tree.a1.id}/applications/{application['id']}/approve", headers=admin)
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"

    # find the course and enroll
    listed = client.get("/api/v1/courses", query_string={"q": "全流程"}, headers=me).get_json()["items"]
    assert [item["id"] for item in listed] == [course.id]
    enrolled = client.post("/api/v1/enrollments", json={"course_id": course.id},
                           headers={**me, "Idempotency-Key": "enroll-1"})
    assert enrolled.status_code == 201 and enrolled.get_json()["status"] == "enrolled"

    # study the lesson: a heartbeat every 30 s for its half of 10 minutes
    start, clock = utcnow(), {"seconds": 0}
    monkeypatch.setattr("courses.study.api.utcnow", lambda: start + timedelta(seconds=clock["seconds"]))
    lesson_url = f"/api/v1/courses/{course.id}/lessons/1"
    assert client.get(lesson_url, headers=me).status_code == 200
    assert client.post(f"{lesson_url}/complete", headers=me).status_code == 409  # not studied yet
    for clock["seconds"] in range(30, 331, 30):
        assert client.post(f"{lesson_url}/heartbeat", json={}, headers=me).status_code == 200
    done = client.post(f"{lesson_url}/complete", headers=me).get_json()
    assert done["course_completed"] is False  # the exam and the class remain
    monkeypatch.undo()

    # pass the exam, scored on the server
    attempt = client.post(f"/api/v1/courses/{course.id}/exam/attempts", headers=me)
    assert attempt.status_code == 201
    sheet = attempt.get_json()
    answers = {str(question["number"]): [option["position"] for option in question["options"]
                                         if option["text"] in RIGHT[question["number"]]]
               for question in sheet["questions"]}
    submitted = client.post(f"/api/v1/exam-attempts/{sheet['id']}/submit", json={"answers": answers}, headers=me)
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["score"] == 100 and submitted.get_json()["passed"] is True
    assert submitted.get_json()["course_completed"] is False  # the class remains

    # check in to the class with the code shown there
    code = checkins.code_at(checkin, utcnow())
    checked = client.post("/api/v1/attendance/checkins", json={"code": code, "session_id": session.id},
                          headers={**me, "Idempotency-Key": "checkin-1"})
    assert checked.status_code == 200 and checked.get_json()["status"] == "present"
    mine = client.get("/api/v1/me/courses", headers=me).get_json()["items"]
    assert [(row["course"]["id"], row["status"]) for row in mine] == [(course.id, "completed")]

    # hours: the lesson's and the class's, in the ledger and the year's total, with the transcript
    hours = client.get("/api/v1/me/hours", headers=me).get_json()
    [year] = hours["years"]
    assert year["minutes"] == 10 + 90
    ledger = client.get("/api/v1/me/hours/entries", query_string={"year": year["year"]}, headers=me).get_json()
    assert sorted(entry["minutes"] for entry in ledger["items"]) == [10, 90]
    transcript = client.get(year["transcript_url"], headers=me)
    assert transcript.status_code == 200 and transcript.data.startswith(b"%PDF")

    # the certificate, and its verification by anyone
    [certificate] = client.get("/api/v1/me/certificates", headers=me).get_json()["items"]
    assert certificate["kind"] == "course" and certificate["status"] == "valid"
    assert certificate["course_id"] == course.id
    assert client.get(certificate["pdf_url"], headers=me).data.startswith(b"%PDF")
    token = certificate["verify_url"].rsplit("/", 1)[1]
    verified = client.get(f"/api/v1/certificates/verify/{token}", headers={"Origin": "https://verifier.example"})
    assert verified.status_code == 200 and verified.headers["Access-Control-Allow-Origin"] == "*"
    record = verified.get_json()
    assert record["serial"] == certificate["serial"] and record["status"] == "valid"
    assert record["signature_valid"] is True and "赵新工" not in str(record)  # the holder's name masked
    by_serial = client.get(f"/api/v1/certificates/verify/{certificate['serial']}").get_json()
    assert by_serial["serial"] == certificate["serial"]
    keys = client.get("/api/v1/certificates/keys").get_json()["keys"]
    assert record["key_id"] in [key["kid"] for key in keys]
