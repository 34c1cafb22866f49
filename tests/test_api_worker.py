"""A worker's own resources through the API beyond the journey (test_api_journey): twenty sign-ups at once
with one Idempotency-Key make one enrollment and one answer; the hours (totals, ledger pages, transcript) and
certificates (mine, public verification, keys) answer as their pages do."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from classroom.extensions import db
from courses.enrollment.models import Enrollment
from tests.api_support import bearer, problem, sign_in
from tests.concurrency import run_at_once
from tests.test_certificates import certificate_of, complete
from tests.test_hours import TODAY, credit


def test_twenty_sign_ups_at_once_with_one_key_enroll_once(app, client, tree, make_user, make_course):
    course = make_course("并发报名课", capacity=30)
    worker = make_user("李工", union=tree.a1)
    headers = bearer(sign_in(client, worker)["access_token"], **{"Idempotency-Key": "enroll-burst"})
    clients, body = [app.test_client() for _ in range(20)], {"course_id": course.id}
    results = run_at_once(20, lambda i: clients[i].post("/api/v1/enrollments", json=body, headers=headers))
    assert [getattr(result, "status_code", result) for result in results] == [201] * 20
    assert len({result.get_data() for result in results}) == 1  # the same body, byte for byte
    assert sum(result.headers.get("Idempotent-Replayed") == "true" for result in results) == 19
    assert db.session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.user_id == worker.id)) == 1
    again = client.post("/api/v1/enrollments", json=body, headers=headers)  # a later repeat: the first answer
    assert again.status_code == 201 and again.get_data() == results[0].get_data()
    other_key = client.post("/api/v1/enrollments", json=body, headers={**headers, "Idempotency-Key": "another"})
    problem(other_key, 409, "conflict")  # a new request: already signed up


def test_hours_summary_ledger_pages_and_transcript(client, tree, make_user):
    worker = make_user("李工", union=tree.a1)
    for minutes in (30, 45, 60):
        credit(worker, minutes)
    credit(make_user("别人", union=tree.a1), 500)
    me = bearer(sign_in(client, worker)["access_token"])
    summary = client.get("/api/v1/me/hours", headers=me)
    assert summary.headers["ETag"]
    assert summary.get_json()["years"] == [{"year": TODAY.year, "minutes": 135,
                                            "transcript_url": f"/api/v1/me/hours/{TODAY.year}/transcript"}]
    first = client.get("/api/v1/me/hours/entries", query_string={"limit": 2}, headers=me).get_json()
    second = client.get("/api/v1/me/hours/entries", query_string={"limit": 2, "cursor": first["next_cursor"]},
                        headers=me).get_json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert sorted(entry["minutes"] for entry in first["items"] + second["items"]) == [30, 45, 60]
    assert client.get("/api/v1/me/hours/entries", query_string={"year": TODAY.year - 1},
                      headers=me).get_json()["items"] == []
    pdf = client.get(f"/api/v1/me/hours/{TODAY.year}/transcript", headers=me)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    problem(client.get(f"/api/v1/me/hours/{TODAY.year}/transcript"), 401, "unauthorized")
    problem(client.get("/api/v1/me/hours/1800/transcript", headers=me), 404, "not-found")


def test_certificates_mine_and_public_verification(client, tree, make_user, make_course):
    worker = make_user("李工", union=tree.a1)
    certificate = certificate_of(complete(worker, make_course("结业课", lessons=0, min_lesson_share=0,
                                                              certificate_months=36)))
    me = bearer(sign_in(client, worker)["access_token"])
    [mine] = client.get("/api/v1/me/certificates", headers=me).get_json()["items"]
    assert (mine["id"], mine["serial"], mine["status"]) == (certificate.id, certificate.serial, "valid")
    assert client.get(f"/api/v1/me/certificates/{certificate.id}", headers=me).get_json() == mine
    problem(client.get("/api/v1/certificates/verify/ZGXT-2026-0000000-X"), 404, "not-found")
    answer = client.get(f"/api/v1/certificates/verify/{certificate.token}")
    assert answer.get_json()["signature_valid"] is True and answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/me/certificates", headers=me).headers
    assert client.get("/api/v1/certificates/keys").get_json()["keys"][0]["kid"] == answer.get_json()["key_id"]


@pytest.mark.parametrize("app_config", [{"CATALOGUE_CACHE_SECONDS": 30}])
def test_a_catalogue_page_is_kept_per_union_as_the_page_keeps_it(client, tree, make_user, make_course):
    make_course("全市课")
    east, west = (bearer(sign_in(client, make_user(name, union=union), device=name)["access_token"])
                  for name, union in (("东", tree.a1), ("西", tree.b1)))
    first = client.get("/api/v1/courses", headers=east)
    make_course("东城新课", scope=tree.district_a)
    kept = client.get("/api/v1/courses", headers=east)
    assert kept.get_data() == first.get_data() and kept.headers["ETag"] == first.headers["ETag"]
    assert client.get("/api/v1/courses", headers={**east, "If-None-Match": first.headers["ETag"]}).status_code == 304
    assert [item["title"] for item in client.get("/api/v1/courses", headers=west).get_json()["items"]] == ["全市课"]
    fresh = client.get("/api/v1/courses", query_string={"limit": 5}, headers=east).get_json()["items"]
    assert [item["title"] for item in fresh] == ["东城新课", "全市课"]  # other arguments: another page
