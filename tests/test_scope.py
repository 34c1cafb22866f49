"""Scope: union admins see and manage only their node's subtree; attempts outside are logged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.audit import AuditEvent
from classroom.extensions import db
from classroom.unions import scope
from classroom.unions.models import Membership
from tests.factories import PASSWORD
from tests.helpers import changed_rows, database_rows


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
    person, membership, union = ("User", sibling.id), ("Membership", sibling_membership.id), ("TradeUnion", a2)
    attempts = [  # (method, url, the object the audit event names)
        ("get", f"/unions/{a1}/members/{sibling.id}", person),
        ("post", f"/unions/{a1}/members/{sibling.id}/reset-link", person),
        ("post", f"/unions/{a1}/applications/{sibling_membership.id}/approve", membership),
        ("post", f"/unions/{a1}/applications/{sibling_membership.id}/reject", membership),
        ("post", f"/unions/{a1}/memberships/{sibling_membership.id}/lapse", membership),
        ("get", f"/unions/{a2}", union),
        ("get", f"/unions/{a2}/members", union),
        ("get", f"/unions/{a2}/members/{sibling.id}", union),
        ("post", f"/unions/{a2}/members/{sibling.id}/reset-link", union),
        ("get", f"/unions/{a2}/applications", union),
        ("post", f"/unions/{a2}/applications/{sibling_membership.id}/approve", union),
        ("post", f"/unions/{a2}/applications/{sibling_membership.id}/reject", union),
        ("post", f"/unions/{a2}/memberships/{sibling_membership.id}/lapse", union),
        ("get", f"/unions/{tree.district_a.id}", ("TradeUnion", tree.district_a.id)),
        ("get", f"/hours/members/{sibling.id}", person),
        ("post", f"/hours/members/{sibling.id}/adjust", person),
        ("post", f"/hours/members/{sibling.id}/external", person),
    ]
    before = database_rows(skip=("audit_event",))
    for method, url, target in attempts:
        seen = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        response = getattr(client, method)(url, data={"reason": "越权", "minutes": "600", "note": "越权",
                                                      "date_earned": "2025-01-01", "title": "越权"})
        assert response.status_code == 404, url
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.id > seen)).all()  # one, logged
        assert event.action == "scope.denied", url
        assert (event.actor_id, (event.object_type, event.object_id)) == (admin.id, target), url
        assert event.ip, url
    after = database_rows(skip=("audit_event",))
    assert after == before, changed_rows(before, after)  # nothing approved, lapsed, credited or issued


@pytest.mark.parametrize("level", ["a1", "city"])
def test_union_admins_get_403_on_the_site_admin_actions(app, tree, make_user, make_admin, site_admin, level):
    """Even a city-level union admin, and even for a member of their own union, cannot disable or
    enable accounts, grant or revoke roles: those are the site admin's."""
    admin = make_admin(getattr(tree, level))
    member = make_user("会员", union=tree.a1)
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == site_admin.id))
    client = login(app, admin)
    before = database_rows(skip=("audit_event",))
    for method, url, data in [
        ("post", f"/admin/users/{member.id}/disable", {}),
        ("post", f"/admin/users/{member.id}/enable", {}),
        ("post", f"/admin/users/{site_admin.id}/disable", {}),
        ("get", "/admin/roles", {}),
        ("post", "/admin/roles", {"mobile": admin.mobile, "role": Role.SITE_ADMIN, "union_code": tree.city.code}),
        ("post", "/admin/roles", {"mobile": member.mobile, "role": Role.UNION_ADMIN, "union_code": tree.a1.code}),
        ("post", f"/admin/roles/{grant.id}/revoke", {}),
    ]:
        assert getattr(client, method)(url, data=data).status_code == 403, url
    after = database_rows(skip=("audit_event",))
    assert after == before, changed_rows(before, after)
    assert db.session.get(User, member.id).is_active and not db.session.get(User, admin.id).is_site_admin


def test_site_admin_only_pages(app, tree, make_admin):
    city_admin = make_admin(tree.city)
    client = login(app, city_admin)
    for url in (f"/unions/{tree.a1.id}/edit", f"/unions/{tree.city.id}/children/new", "/admin/roles"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("crafted", ["/unions/999999", "/unions/999999/members/1"])
def test_unknown_ids_are_404(app, tree, make_admin, crafted):
    client = login(app, make_admin(tree.city))
    assert client.get(crafted).status_code == 404
