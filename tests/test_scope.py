"""Scope: union admins see and manage only their node's subtree; attempts outside are logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from classroom.audit import AuditEvent
from classroom.extensions import db
from classroom.unions import scope
from classroom.unions.models import Membership
from tests.factories import PASSWORD


def login(app, user):
    client = app.test_client()
    assert client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD}).status_code == 302
    return client


def test_visible_users_for_every_role(tree, make_user, make_admin, site_admin):
    a1_member = make_user("甲", union=tree.a1)
    a2_applicant = make_user("乙", union=tree.a2, status="applied")
    b1_member = make_user("丙", union=tree.b1)
    lone = make_user("丁")
    grassroots_admin = make_admin(tree.a1, "基层管理员")
    district_admin = make_admin(tree.district_a, "区管理员")
    city_admin = make_admin(tree.city, "市管理员")
    worker = make_user("戊", union=tree.a1)

    def visible(user):
        return set(db.session.scalars(scope.visible_users(user).with_only_columns(scope.User.id)))

    assert visible(grassroots_admin) == {a1_member.id, worker.id}
    assert visible(district_admin) == {a1_member.id, a2_applicant.id, worker.id}
    assert {a1_member.id, a2_applicant.id, b1_member.id, worker.id} <= visible(city_admin)
    assert lone.id not in visible(city_admin)  # no membership: nobody's member
    assert lone.id in visible(site_admin)
    assert visible(worker) == set()
    assert scope.can_see_user(worker, worker) and not scope.can_see_user(worker, a1_member)


def test_a_worker_gets_403_on_admin_pages(app, tree, make_user):
    worker = make_user(union=tree.a1)
    client = login(app, worker)
    for url in (f"/unions/{tree.a1.id}", f"/unions/{tree.a1.id}/members", "/unions/", "/admin/roles"):
        assert client.get(url).status_code == 403, url


def test_sibling_member_is_404_on_every_admin_route_and_logged(app, tree, make_user, make_admin):
    admin = make_admin(tree.a1)
    sibling = make_user("邻居", union=tree.a2, status="applied")
    sibling_membership = db.session.scalar(select(Membership).where(Membership.user_id == sibling.id))
    client = login(app, admin)
    a1, a2 = tree.a1.id, tree.a2.id
    attempts = [
        ("get", f"/unions/{a1}/members/{sibling.id}"),
        ("post", f"/unions/{a1}/applications/{sibling_membership.id}/approve"),
        ("post", f"/unions/{a1}/applications/{sibling_membership.id}/reject"),
        ("post", f"/unions/{a1}/memberships/{sibling_membership.id}/lapse"),
        ("get", f"/unions/{a2}"),
        ("get", f"/unions/{a2}/members"),
        ("get", f"/unions/{a2}/members/{sibling.id}"),
        ("get", f"/unions/{a2}/applications"),
        ("post", f"/unions/{a2}/applications/{sibling_membership.id}/approve"),
        ("post", f"/unions/{a2}/applications/{sibling_membership.id}/reject"),
        ("post", f"/unions/{a2}/memberships/{sibling_membership.id}/lapse"),
        ("get", f"/unions/{tree.district_a.id}"),
    ]
    for method, url in attempts:
        response = getattr(client, method)(url, data={"reason": "越权"})
        assert response.status_code == 404, url
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scope.denied")).all()
    assert len(denied) == len(attempts)
    assert all(event.actor_id == admin.id and event.ip for event in denied)
    assert {(e.object_type, e.object_id) for e in denied} >= {("User", sibling.id), ("Membership", sibling_membership.id),
                                                                ("TradeUnion", a2)}
    db.session.refresh(sibling_membership)
    assert sibling_membership.status == "applied"


def test_site_admin_only_pages(app, tree, make_admin):
    city_admin = make_admin(tree.city)
    client = login(app, city_admin)
    for url in (f"/unions/{tree.a1.id}/edit", f"/unions/{tree.city.id}/children/new", "/admin/roles"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("crafted", ["/unions/999999", "/unions/999999/members/1"])
def test_unknown_ids_are_404(app, tree, make_admin, crafted):
    client = login(app, make_admin(tree.city))
    assert client.get(crafted).status_code == 404
