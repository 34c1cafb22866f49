"""The administrators' API: members, applications, the hours report and the course review queue, for a union
administrator's token (their subtree only: another union's object is an audited 404) and partner keys (their
subtree and scopes only: a key scoped ``hours:read`` reads its district's hours and writes nothing)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from classroom.api.keys import create_key
from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions.models import Membership
from courses.catalog.models import Course, CourseRevision
from tests.api_support import bearer, problem, sign_in
from tests.test_hours import TODAY, credit


@pytest.fixture
def district_admin(make_admin, tree):
    return make_admin(tree.district_a, "东城管理员")


@pytest.fixture
def admin_token(client, district_admin) -> str:
    return sign_in(client, district_admin)["access_token"]


def key_for(union, *scopes: str, actor) -> str:
    secret = create_key(union, name="合作系统", scopes=list(scopes), actor=actor, now=utcnow()).secret
    db.session.commit()
    return secret


def denied_ids(object_type: str) -> list[int]:
    return sorted(db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "scope.denied", AuditEvent.object_type == object_type)))


def pages(client, url: str, headers: dict) -> list[dict]:
    """Every item of a cursor-paged list, following next_cursor."""
    items, cursor = [], None
    while True:
        answer = client.get(url, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        items += body["items"]
        if not (cursor := body["next_cursor"]):
            return items


# ---- members and applications ---------------------------------------------------------------------

def test_members_come_a_cursor_page_at_a_time_with_the_pages_filters(client, tree, make_user, admin_token):
    people = [make_user(f"东城工人{n}", union=tree.a1, trade="电工", skill_level=4) for n in range(3)]
    people.append(make_user("卫生员", union=tree.a2, worker_group="caregiver"))
    make_user("西城工人", union=tree.b1)
    url, key = f"/api/v1/unions/{tree.district_a.id}/members", bearer(admin_token)
    listed = pages(client, url, key)
    assert sorted(item["person"]["id"] for item in listed) == sorted(person.id for person in people)
    assert listed[0]["person"]["id"] == people[-1].id  # newest first
    assert listed[0]["union"] == {"id": tree.a2.id, "name": tree.a2.name}
    assert listed[0]["person"]["mobile"] == people[-1].mobile  # the union's admin reads mobiles in full
    for query, expected in (({"trade": "电工"}, 3), ({"level": "4"}, 3), ({"group": "caregiver"}, 1),
                            ({"q": "卫生"}, 1), ({"status": "applied"}, 0)):
        assert len(client.get(url, query_string=query, headers=key).get_json()["items"]) == expected, query
    problem(client.get(url, query_string={"level": "9"}, headers=key), 422, "validation-failed")
    problem(client.get(url, query_string={"cursor": "bm90IGEgY3Vyc29y"}, headers=key), 400, "invalid-cursor")


def test_applications_are_approved_and_rejected_once(client, tree, make_user, admin_token):
    first, second = (make_user(name, union=tree.a1, status="applied") for name in ("申请人甲", "申请人乙"))
    base, key = f"/api/v1/unions/{tree.district_a.id}/applications", bearer(admin_token)
    assert [item["person"]["id"] for item in pages(client, base, key)] == [first.id, second.id]  # oldest first
    first_id, second_id = (db.session.scalar(select(Membership.id).where(Membership.user_id == person.id))
                           for person in (first, second))
    approved = client.post(f"{base}/{first_id}/approve", headers=key)
    assert approved.status_code == 200 and approved.get_json()["status"] == "active"
    assert re.fullmatch(r"A1-\d{6}", approved.get_json()["member_no"])
    problem(client.post(f"{base}/{first_id}/approve", headers=key), 409, "conflict")
    problem(client.post(f"{base}/{second_id}/reject", json={"reason": "  "}, headers=key), 422, "invalid")
    rejected = client.post(f"{base}/{second_id}/reject", json={"reason": "请上传劳动合同"}, headers=key)
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["reason"] == "请上传劳动合同"
    assert client.get(base, headers=key).get_json()["items"] == []


def test_a_key_with_applications_write_decides_within_its_subtree(app, tree, make_user, district_admin):
    applicant = make_user("申请人", union=tree.a2, status="applied")
    outsider = make_user("西城申请人", union=tree.b1, status="applied")
    key = bearer(key_for(tree.district_a, "applications:write", actor=district_admin))
    client = app.test_client()
    membership_id, outside_id = (db.session.scalar(select(Membership.id).where(Membership.user_id == person.id))
                                 for person in (applicant, outsider))
    answer = client.post(f"/api/v1/unions/{tree.district_a.id}/applications/{membership_id}/approve", headers=key)
    assert answer.status_code == 200 and answer.get_json()["status"] == "active"
    decided = db.session.get(Membership, membership_id)
    assert decided.decided_by_id is None  # a key decided: its use is audited with the path
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "membership.approve", AuditEvent.object_id == membership_id)) == 1
    problem(client.post(f"/api/v1/unions/{tree.district_a.id}/applications/{outside_id}/approve", headers=key),
            404, "not-found")
    problem(client.post(f"/api/v1/unions/{tree.district_b.id}/applications/{outside_id}/approve", headers=key),
            404, "not-found")
    problem(client.get(f"/api/v1/unions/{tree.district_a.id}/members", headers=key), 403, "insufficient-scope")
    assert db.session.get(Membership, outside_id).status == "applied"


def test_a_worker_who_administers_nothing_is_refused(client, tree, make_user):
    token = bearer(sign_in(client, make_user("普通工人", union=tree.a1))["access_token"])
    for url in (f"/api/v1/unions/{tree.a1.id}/members", f"/api/v1/unions/{tree.a1.id}/hours-report",
                "/api/v1/review/courses", "/api/v1/review/revisions"):
        problem(client.get(url, headers=token), 403, "forbidden")


# ---- the hours report ------------------------------------------------------------------------------

def test_the_hours_report_gives_a_subtree_s_totals_by_child_union(client, tree, make_user, admin_token):
    credit(make_user("甲", union=tree.a1), 90)
    credit(make_user("乙", union=tree.a2), 45)
    credit(make_user("西城", union=tree.b1), 450)
    url, key = f"/api/v1/unions/{tree.district_a.id}/hours-report", bearer(admin_token)
    report = client.get(url, headers=key).get_json()
    assert report["period"] == {"kind": "year", "start": f"{TODAY.year}-01-01", "end": f"{TODAY.year}-12-31"}
    assert report["total"]["minutes"] == 135 and report["total"]["hours"] == 3.0
    assert report["total"]["union"]["id"] == tree.district_a.id and report["total"]["members"] == 2
    assert {row["union"]["id"]: row["minutes"] for row in report["children"]} == {tree.a1.id: 90, tree.a2.id: 45}
    month = client.get(url, query_string={"period": "month", "year": TODAY.year, "part": TODAY.month}, headers=key)
    assert month.get_json()["total"]["minutes"] == 135
    last_year = client.get(url, query_string={"year": TODAY.year - 1}, headers=key).get_json()
    assert last_year["total"]["minutes"] == 0
    custom = {"period": "custom", "start": (TODAY - timedelta(days=3)).isoformat(), "end": TODAY.isoformat()}
    assert client.get(url, query_string=custom, headers=key).get_json()["total"]["workers"] == 2
    problem(client.get(url, query_string={"period": "quarter"}, headers=key), 422, "invalid")
    problem(client.get(url, query_string={"period": "custom", "start": TODAY.isoformat()}, headers=key), 422,
            "invalid")


def test_a_key_scoped_hours_read_for_one_district_reads_it_and_nothing_more(app, client, tree, make_user,
                                                                           district_admin, make_course):
    credit(make_user("甲", union=tree.a1), 90)
    secret = key_for(tree.district_a, "hours:read", actor=district_admin)
    key, api = bearer(secret), app.test_client()
    assert api.get(f"/api/v1/unions/{tree.district_a.id}/hours-report", headers=key).get_json()["total"][
        "minutes"] == 90
    assert api.get(f"/api/v1/unions/{tree.a1.id}/hours-report", headers=key).status_code == 200
    for other in (tree.district_b, tree.b1, tree.city):
        problem(api.get(f"/api/v1/unions/{other.id}/hours-report", headers=key), 404, "not-found")
    assert denied_ids("TradeUnion") == sorted([tree.district_b.id, tree.b1.id, tree.city.id])
    problem(api.get(f"/api/v1/unions/{tree.district_a.id}/members", headers=key), 403, "insufficient-scope")
    make_course(scope=tree.district_a)
    changes_before = _changes()
    document = client.get("/api/v1/openapi.json").get_json()
    writes = [(method, path) for path, operations in document["paths"].items() for method, operation in
              operations.items() if method in ("post", "put", "patch", "delete") and operation.get("security")]
    assert len(writes) >= 12, writes
    for method, path in writes:
        url = re.sub(r"\{(\w+)\}", lambda match: _path_value(match.group(1), tree), path)
        answer = api.open(url, method=method.upper(), json={}, headers=dict(key, **{"If-Match": '"x"'}))
        assert answer.status_code in (403, 404), (method, url, answer.status_code, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json"
    assert _changes() == changes_before  # nothing written but the key's audited uses


def _path_value(name: str, tree) -> str:
    """A real id for a path parameter (the district's own objects where there are some), or a choice."""
    choices = {"action": "submit", "answer": "accept", "decision": "approve"}
    if name in choices:
        return choices[name]
    return str(tree.district_a.id if name == "union_id" else 1)


def _changes() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.not_in(["api_key.use", "scope.denied", "api_key.create"])).order_by(AuditEvent.id)))


# ---- another union's objects -------------------------------------------------------------------------

def test_another_union_s_objects_are_an_audited_404_for_an_admin_token(client, tree, make_user, admin_token,
                                                                       make_admin, make_course, instructor):
    outsider = make_user("西城申请人", union=tree.b1, status="applied")
    membership_id = db.session.scalar(select(Membership.id).where(Membership.user_id == outsider.id))
    course = make_course("西城课程", scope=tree.district_b, status="pending", submitted_at=utcnow())
    revision = _revision(make_course("西城已发布", scope=tree.district_b), instructor)
    key = bearer(admin_token)
    other = tree.district_b.id
    for method, url, body in (
            ("GET", f"/api/v1/unions/{other}/members", None),
            ("GET", f"/api/v1/unions/{other}/applications", None),
            ("GET", f"/api/v1/unions/{other}/hours-report", None),
            ("POST", f"/api/v1/unions/{other}/applications/{membership_id}/approve", None),
            ("POST", f"/api/v1/unions/{other}/applications/{membership_id}/reject", {"reason": "不符合"}),
            ("POST", f"/api/v1/unions/{tree.district_a.id}/applications/{membership_id}/approve", None),
            ("POST", f"/api/v1/unions/{tree.district_a.id}/applications/{membership_id}/reject", {"reason": "否"}),
            ("POST", f"/api/v1/review/courses/{course.id}/publish", None),
            ("POST", f"/api/v1/review/courses/{course.id}/send-back", {"reason": "改"}),
            ("POST", f"/api/v1/review/revisions/{revision.id}/approve", {}),
            ("POST", f"/api/v1/review/revisions/{revision.id}/reject", {})):
        problem(client.open(url, method=method, json=body, headers=key), 404, "not-found")
    assert len(denied_ids("TradeUnion")) == 5 and denied_ids("Membership") == [membership_id] * 2
    assert denied_ids("Course") == sorted([course.id] * 2 + [revision.course_id] * 2)
    assert db.session.get(Membership, membership_id).status == "applied"
    assert db.session.get(Course, course.id).status == "pending"
    assert db.session.get(CourseRevision, revision.id).status == "pending"


# ---- the course review queue ---------------------------------------------------------------------------

def _revision(course: Course, author) -> CourseRevision:
    revision = CourseRevision(course_id=course.id, changes={"capacity": 25}, submitted_by_id=author.id,
                              submitted_at=utcnow())
    db.session.add(revision)
    db.session.commit()
    return revision


def test_the_review_queue_publishes_sends_back_and_keeps_four_eyes(client, tree, make_course, make_user,
                                                                  district_admin, admin_token, instructor):
    waiting = make_course("待审课程", scope=tree.district_a, status="pending", submitted_at=utcnow())
    second = make_course("第二门", scope=tree.district_a, status="pending", submitted_at=utcnow())
    own = make_course("自己教的", scope=tree.district_a, status="pending", submitted_at=utcnow(),
                      teacher=district_admin)
    make_course("西城课程", scope=tree.district_b, status="pending", submitted_at=utcnow())
    key = bearer(admin_token)
    queue = pages(client, "/api/v1/review/courses", key)
    assert [(item["course"]["id"], item["may_publish"]) for item in queue] == [
        (waiting.id, True), (second.id, True), (own.id, False)]
    problem(client.post(f"/api/v1/review/courses/{own.id}/publish", headers=key), 403, "forbidden")
    published = client.post(f"/api/v1/review/courses/{waiting.id}/publish", headers=key)
    assert published.status_code == 200 and published.get_json()["course"]["status"] == "published"
    problem(client.post(f"/api/v1/review/courses/{waiting.id}/publish", headers=key), 409, "conflict")
    problem(client.post(f"/api/v1/review/courses/{second.id}/send-back", json={"reason": ""}, headers=key), 422,
            "invalid")
    sent = client.post(f"/api/v1/review/courses/{second.id}/send-back", json={"reason": "补充课时"}, headers=key)
    assert sent.get_json()["course"]["status"] == "draft"
    assert [item["course"]["id"] for item in client.get("/api/v1/review/courses", headers=key).get_json()[
        "items"]] == [own.id]


def test_the_review_queue_approves_and_rejects_changes(client, tree, make_course, district_admin, admin_token,
                                                      instructor, make_admin):
    course = make_course("已发布", scope=tree.district_a, capacity=20)
    revision = _revision(course, instructor)
    key = bearer(admin_token)
    [item] = client.get("/api/v1/review/revisions", headers=key).get_json()["items"]
    assert item["changes"] == {"fields": ["capacity"], "sessions": 0, "lessons": 0} and item["may_approve"]
    approved = client.post(f"/api/v1/review/revisions/{revision.id}/approve", json={"note": "同意"}, headers=key)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert db.session.get(Course, course.id).capacity == 25
    problem(client.post(f"/api/v1/review/revisions/{revision.id}/reject", json={}, headers=key), 409, "conflict")
    own = _revision(make_course("管理员的课", scope=tree.district_a), district_admin)
    [item] = client.get("/api/v1/review/revisions", headers=key).get_json()["items"]
    assert item["id"] == own.id and not item["may_approve"]
    problem(client.post(f"/api/v1/review/revisions/{own.id}/approve", json={}, headers=key), 403, "forbidden")
    assert client.post(f"/api/v1/review/revisions/{own.id}/reject", json={}, headers=key).get_json()[
        "status"] == "rejected"
    problem(client.post("/api/v1/review/revisions/999999/approve", json={}, headers=key), 404, "not-found")


def test_partner_keys_do_not_review(app, tree, district_admin, make_course):
    course = make_course(scope=tree.district_a, status="pending", submitted_at=utcnow())
    key = bearer(key_for(tree.district_a, *("hours:read", "members:read", "courses:read"), actor=district_admin))
    api = app.test_client()
    problem(api.get("/api/v1/review/courses", headers=key), 403, "person-required")
    problem(api.post(f"/api/v1/review/courses/{course.id}/publish", headers=key), 403, "person-required")
