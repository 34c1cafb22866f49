"""The API's conventions, end to end: problem documents for every error in the caller's language, cursor
pages, times with offsets, ETag / If-Match, Idempotency-Key (20 requests at once create one resource),
RateLimit headers, closed CORS (the document itself: test_api_document)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale
from marshmallow import Schema, fields
from sqlalchemy import func, select

from classroom.api import add_blueprint, idempotency, jobs
from classroom.api.door import idempotent, run
from classroom.api.models import IdempotencyRecord
from classroom.api.principal import current_person
from classroom.api.problems import KINDS
from classroom.api.spec import ApiBlueprint
from classroom.audit import AuditEvent, record_event
from classroom.database import utcnow
from classroom.extensions import db
from tests.api_support import bearer, problem, sign_in
from tests.concurrency import run_at_once

notes = ApiBlueprint("test_notes", __name__, url_prefix="/api/v1/test-notes")  # a resource that creates


class NoteSchema(Schema):
    text = fields.String(required=True)


class NoteOut(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)


@notes.route("", methods=["POST"])
@notes.auth(person=True)
@idempotent
@notes.arguments(NoteSchema)
@notes.response(201, NoteOut)
def create_note(data):
    time.sleep(0.2)  # a request long enough for the repeats to arrive while it runs
    event = run(lambda: record_event(current_person(), "test.note", object_type="Note", text=data["text"]))
    return {"id": event.id, "text": data["text"]}


@notes.route("/fail", methods=["POST"])
@notes.auth(person=True)
@idempotent
@notes.response(201, NoteOut)
def failing_note():
    raise RuntimeError("a bug")


@pytest.fixture
def app(app):
    add_blueprint(app, notes)
    return app


@pytest.fixture
def worker(make_user, tree):
    return make_user("李工", union=tree.a1)


@pytest.fixture
def token(client, worker) -> str:
    return sign_in(client, worker)["access_token"]


def notes_created() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.note"))


# ---- problem documents --------------------------------------------------------------------------

def test_every_kind_of_error_is_a_problem_document(client, token, worker, make_user, tree):
    auth = bearer(token)
    problem(client.get("/api/v1/no-such-thing", headers=auth), 404, "not-found")
    problem(client.get("/api/nothing-here"), 404, "not-found")
    refused = problem(client.delete("/api/v1/me", headers=auth), 405, "method-not-allowed")
    assert refused and set(client.delete("/api/v1/me").headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    problem(client.get("/api/v1/me"), 401, "unauthorized")
    problem(client.get("/api/v1/courses/999999", headers=auth), 404, "not-found")
    problem(client.post("/api/v1/auth/token", data="{not json", content_type="application/json"), 400,
            "bad-request")
    invalid = problem(client.post("/api/v1/auth/token", json={"password": "x", "extra": 1}), 422,
                      "validation-failed")
    assert invalid["errors"]["json"] == {"mobile": ["This field is required."],
                                         "device_name": ["This field is required."], "extra": ["Unknown field."]}
    problem(client.post("/api/v1/auth/token", data=b"x" * (1024 * 1024 + 1), content_type="application/json"),
            413, "payload-too-large")
    problem(client.patch("/api/v1/me", json={"trade": "电工"}, headers=auth), 428, "precondition-required")
    problem(client.patch("/api/v1/me", json={"trade": "电工"}, headers=bearer(token, **{"If-Match": '"0"'})), 412,
            "precondition-failed")
    make_user("张三", union=tree.a1, email="taken@example.cn")
    etag = client.get("/api/v1/me", headers=auth).headers["ETag"]
    conflict = problem(client.patch("/api/v1/me", json={"email": "taken@example.cn"},
                                    headers=bearer(token, **{"If-Match": etag})), 409, "conflict")
    assert conflict["errors"] == {"email": ["This email address belongs to another account."]}
    problem(client.patch("/api/v1/me", json={"timezone": "Mars/Base"}, headers=bearer(token, **{"If-Match": etag})),
            422, "invalid")
    problem(client.get("/api/v1/courses?cursor=not-a-cursor", headers=auth), 400, "invalid-cursor")
    problem(client.get("/api/v1/courses?limit=101", headers=auth), 422, "validation-failed")


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_a_server_error_is_a_problem_too_and_frees_its_idempotency_key(client, token):
    headers = bearer(token, **{"Idempotency-Key": "k-500"})
    body = problem(client.post("/api/v1/test-notes/fail", headers=headers), 500, "server-error")
    assert "a bug" not in str(body)
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0  # a retry may run


def test_titles_and_details_follow_accept_language(client, worker):
    wrong = {"mobile": worker.mobile, "password": "wrong-password-1", "device_name": "x"}
    with force_locale("zh_CN"):
        chinese = str(KINDS["login-failed"].detail)
    english = problem(client.post("/api/v1/auth/token", json=wrong, headers={"Accept-Language": "en"}), 401,
                      "login-failed")
    assert english["detail"] == "The mobile number, email or password is not right." != chinese
    asked = problem(client.post("/api/v1/auth/token", json=wrong, headers={"Accept-Language": "zh-CN,zh;q=0.9"}),
                    401, "login-failed")
    assert asked["detail"] == chinese
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    assert problem(client.post("/api/v1/auth/token", json=wrong), 401, "login-failed")["detail"] == chinese


def test_every_problem_type_has_its_page(client):
    page = client.get("/api/problems/precondition-failed")
    assert page.status_code == 200 and 'data-problem="precondition-failed"' in page.get_data(as_text=True)
    problem(client.get("/api/problems/no-such-kind"), 404, "not-found")


# ---- pages of lists, times -----------------------------------------------------------------------

def test_the_catalogue_pages_by_cursor_with_the_page_s_filters(client, token, make_course, tree):
    now = utcnow()
    courses = [make_course(f"课程{i}", mode="offline" if i % 2 else "online") for i in range(5)]
    for index, course in enumerate(courses):  # published one minute apart: newest first is the reverse
        course.published_at = now - timedelta(minutes=10 - index)
    hidden = make_course("别区课程", scope=tree.district_b)
    db.session.commit()
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/courses{query}", headers=bearer(token)).get_json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [course.id for course in reversed(courses)] and hidden.id not in seen
    offline = client.get("/api/v1/courses?mode=offline&sort=starting", headers=bearer(token)).get_json()
    assert {item["id"] for item in offline["items"]} == {courses[1].id, courses[3].id}
    item = client.get(f"/api/v1/courses/{courses[0].id}", headers=bearer(token)).get_json()
    assert [lesson["position"] for lesson in item["lessons"]] == [1, 2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", item["published_at"])
    assert datetime.fromisoformat(item["published_at"]) == courses[0].published_at
    problem(client.get(f"/api/v1/courses/{hidden.id}", headers=bearer(token)), 404, "not-found")


def test_sorts_page_without_gaps_or_repeats(client, token, make_course):
    courses = [make_course(f"排序{i}", enrolled_count=i % 3) for i in range(7)]
    for sort in ("newest", "popular", "starting"):
        seen, cursor = [], ""
        while cursor is not None:
            page = client.get(f"/api/v1/courses?sort={sort}&limit=3&cursor={cursor}", headers=bearer(token))
            seen += [item["id"] for item in page.get_json()["items"]]
            cursor = page.get_json()["next_cursor"]
        assert sorted(seen) == sorted(course.id for course in courses), sort


# ---- ETag and If-Match ---------------------------------------------------------------------------

def test_etag_on_reads_and_if_match_on_changes(client, token):
    read = client.get("/api/v1/me", headers=bearer(token))
    etag = read.headers["ETag"]
    assert read.headers["Cache-Control"] == "private, no-cache"
    unchanged = client.get("/api/v1/me", headers=bearer(token, **{"If-None-Match": etag}))
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    changed = client.patch("/api/v1/me", json={"trade": "焊工", "language": "zh_CN"},
                           headers=bearer(token, **{"If-Match": etag}))
    assert changed.status_code == 200 and changed.get_json()["trade"] == "焊工"
    assert changed.get_json()["language"] == "zh_CN" and changed.headers["ETag"] != etag
    problem(client.patch("/api/v1/me", json={"trade": "电工"}, headers=bearer(token, **{"If-Match": etag})), 412,
            "precondition-failed")
    assert client.get("/api/v1/me", headers=bearer(token)).headers["ETag"] == changed.headers["ETag"]


# ---- Idempotency-Key -----------------------------------------------------------------------------

def test_a_repeated_idempotency_key_gets_the_first_answer(client, token):
    headers = bearer(token, **{"Idempotency-Key": "note-1"})
    first = client.post("/api/v1/test-notes", json={"text": "一"}, headers=headers)
    again = client.post("/api/v1/test-notes", json={"text": "一"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and notes_created() == 1
    problem(client.post("/api/v1/test-notes", json={"text": "二"}, headers=headers), 422, "idempotency-key-reused")
    problem(client.post("/api/v1/test-notes", json={"text": "二"}, headers=bearer(token, **{"Idempotency-Key": ""})),
            400, "invalid-idempotency-key")
    client.post("/api/v1/test-notes", json={"text": "二"}, headers=bearer(token))
    client.post("/api/v1/test-notes", json={"text": "二"}, headers=bearer(token))
    assert notes_created() == 3  # without a key, each request creates


def test_a_refused_request_is_replayed_as_refused(client, token):
    headers = bearer(token, **{"Idempotency-Key": "bad-input"})
    first = problem(client.post("/api/v1/test-notes", json={}, headers=headers), 422, "validation-failed")
    assert client.post("/api/v1/test-notes", json={}, headers=headers).get_json() == first
    assert notes_created() == 0


def test_twenty_requests_at_once_with_one_key_create_once(app, token):
    clients = [app.test_client() for _ in range(20)]
    headers = bearer(token, **{"Idempotency-Key": "burst"})
    results = run_at_once(20, lambda i: clients[i].post("/api/v1/test-notes", json={"text": "并发"}, headers=headers))
    assert [getattr(r, "status_code", r) for r in results] == [201] * 20
    assert len({r.get_data() for r in results}) == 1
    assert notes_created() == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 19


def test_the_sweep_forgets_old_keys_and_expired_tokens(app, token):
    db.session.add(IdempotencyRecord(owner="user:1", key="old", fingerprint="x", status_code=201,
                                     created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    assert idempotency.answer_of("user:1", "old", now=utcnow()) is None  # past the window: a new request
    counts = jobs.sweep(now=utcnow() + timedelta(days=2))
    assert counts == {"idempotency_keys": 1, "tokens": 1}  # the access token; the refresh token lives 30 days


# ---- rate limits, CORS ---------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "3 per minute"}])
def test_ratelimit_headers_count_down_to_a_problem(client, token):
    seen = []
    for _ in range(3):
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 200
        seen.append((response.headers["RateLimit-Limit"], response.headers["RateLimit-Remaining"]))
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 61  # seconds, rounded up
    assert seen == [("3", "2"), ("3", "1"), ("3", "0")]
    refused = client.get("/api/v1/me", headers=bearer(token))
    problem(refused, 429, "too-many-requests")
    assert refused.headers["RateLimit-Remaining"] == "0" and 0 < int(refused.headers["Retry-After"]) <= 61


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "3 per minute"}])
def test_the_api_limit_counts_a_credential_across_endpoints(client, token):
    """API_RATE_LIMIT is per credential over the whole API (as documented), not per endpoint; another
    credential, or an anonymous caller by address, has its own count."""
    for path in ("/api/v1/me", "/api/v1/ping", "/api/v1/notifications"):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 200, path
    assert response.headers["RateLimit-Remaining"] == "0"
    problem(client.get("/api/v1/ping", headers=bearer(token)), 429, "too-many-requests")
    problem(client.get("/api/v1/me", headers=bearer(token)), 429, "too-many-requests")
    assert client.get("/api/v1/ping").status_code == 200  # (the address counted the log-in only)


def test_an_api_endpoint_with_no_limit_of_its_own_is_left_to_the_apis_count(app, client, token):
    """Flask-Limiter does no work for an API endpoint whose only limit is the API's own (its request filter);
    one with a limit of its own (the log-in) is still its to count."""
    from classroom.api.boundary import limits_of_its_own

    with app.test_request_context("/api/v1/me", headers=bearer(token)):
        app.preprocess_request()
        assert limits_of_its_own()
    with app.test_request_context("/api/v1/auth/login", method="POST"):
        assert not limits_of_its_own()
    with app.test_request_context("/login"):
        assert not limits_of_its_own()


def test_cors_stays_closed_on_the_api(client, token):
    preflight = client.options("/api/v1/me", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "GET",
                                                      "Access-Control-Request-Headers": "Authorization"})
    read = client.get("/api/v1/me", headers=bearer(token, Origin="https://evil.example"))
    for response in (preflight, read):
        assert not any(name.startswith("Access-Control-") for name, _value in response.headers)
