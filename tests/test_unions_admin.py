"""The union tree (site admins), role grants, member listings."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from classroom.accounts.models import RoleGrant
from classroom.audit import AuditEvent
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from tests.factories import PASSWORD
from tests.helpers import data_texts, sql_statements


def login(app, user):
    client = app.test_client()
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    return client


def test_add_rename_and_move_update_paths(app, tree, site_admin):
    client = login(app, site_admin)
    response = client.post(f"/unions/{tree.a1.id}/children/new", data={"name": "x", "kind": "grassroots"})
    assert response.status_code == 200 and "cannot have unions below" in response.get_data(as_text=True)
    client.post(f"/unions/{tree.district_a.id}/children/new",
                data={"name": "新厂工会", "kind": "grassroots", "code": "A3", "employer": "新厂"})
    a3 = db.session.scalar(select(TradeUnion).where(TradeUnion.code == "A3"))
    assert a3.path == f"{tree.district_a.path}{a3.id}/" and a3.depth == 2
    client.post(f"/unions/{a3.id}/edit", data={"name": "新厂联合工会", "employer": "新厂"})
    db.session.refresh(a3)
    assert a3.name == "新厂联合工会"
    # move district A (with its three grassroots unions) under the industry union
    client.post(f"/unions/{tree.district_a.id}/move", data={"move-parent_id": tree.industry.id})
    moved = db.session.scalars(select(TradeUnion).where(TradeUnion.code.in_(["DA", "A1", "A2", "A3"]))).all()
    for union in moved:
        db.session.refresh(union)
        assert union.path.startswith(f"/{tree.city.id}/{tree.industry.id}/{tree.district_a.id}/")
    assert {u.code: u.depth for u in moved} == {"DA": 2, "A1": 3, "A2": 3, "A3": 3}
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"union.create", "union.rename", "union.move"} <= actions


def test_a_union_cannot_move_below_itself(app, tree, site_admin):
    client = login(app, site_admin)
    page = client.post(f"/unions/{tree.district_a.id}/move", data={"move-parent_id": tree.a1.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "cannot be moved below itself" in page or "cannot have unions below" in page
    db.session.refresh(tree.district_a)
    assert tree.district_a.parent_id == tree.city.id


def test_grant_and_revoke_roles_are_audited(app, tree, site_admin, make_user):
    person = make_user("未来管理员", union=tree.b1)
    client = login(app, site_admin)
    client.post("/admin/roles", data={"mobile": person.mobile, "role": "union_admin", "union_code": "DB"})
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == person.id))
    assert (grant.role, grant.union_id) == ("union_admin", tree.district_b.id)
    page = login(app, person).get(f"/unions/{tree.district_b.id}/members").get_data(as_text=True)
    assert person.real_name in page
    duplicate = client.post("/admin/roles", data={"mobile": person.mobile, "role": "union_admin", "union_code": "DB"})
    assert "already holds" in duplicate.get_data(as_text=True)
    grant_id = grant.id
    client.post(f"/admin/roles/{grant_id}/revoke")
    assert db.session.scalar(select(RoleGrant.id).where(RoleGrant.id == grant_id)) is None
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["role.grant", "role.revoke"]
    assert login(app, person).get(f"/unions/{tree.district_b.id}/members").status_code == 403


def test_a_grant_names_a_known_person_and_union(app, tree, site_admin, make_user):
    person = make_user("未来讲师", union=tree.b1)
    client = login(app, site_admin)
    nobody = client.post("/admin/roles", data={"mobile": "13999999999", "role": "instructor", "union_code": "DB"})
    assert nobody.status_code == 200 and "No account has this mobile number." in nobody.get_data(as_text=True)
    nowhere = client.post("/admin/roles", data={"mobile": person.mobile, "role": "instructor", "union_code": "ZZ9"})
    assert nowhere.status_code == 200 and "No union has this code." in nowhere.get_data(as_text=True)
    assert db.session.scalar(select(RoleGrant.id).where(RoleGrant.user_id == person.id)) is None
    assert "role.grant" not in set(db.session.scalars(select(AuditEvent.action)))


def test_a_move_needs_a_parent_and_the_root_stays(app, tree, site_admin):
    client = login(app, site_admin)
    page = client.post(f"/unions/{tree.a1.id}/move", data={}, follow_redirects=True).get_data(as_text=True)
    assert "Choose the new parent union." in page
    root = client.post(f"/unions/{tree.city.id}/move", data={"move-parent_id": tree.industry.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "The city federation cannot be moved." in root
    db.session.refresh(tree.city)
    db.session.refresh(tree.a1)
    assert tree.city.parent_id is None and tree.a1.parent_id == tree.district_a.id
    assert "union.move" not in set(db.session.scalars(select(AuditEvent.action)))


def test_member_listing_filters_and_paginates(app, tree, make_admin, make_user):
    for index in range(25):
        make_user(f"电工{index:02d}", union=tree.a1, trade="电工", skill_level=3, worker_group="courier")
    make_user("焊工甲", union=tree.a2, trade="焊工", skill_level=5)
    make_user("外区人", union=tree.b1, trade="电工")
    client = login(app, make_admin(tree.district_a))
    page1 = client.get(f"/unions/{tree.district_a.id}/members?trade=电工").get_data(as_text=True)
    assert "25 people found" in page1 and "外区人" not in page1 and 'rel="next"' in page1
    page2 = client.get(link(page1, "next")).get_data(as_text=True)
    assert page2.count("电工0") + page2.count("电工1") + page2.count("电工2") >= 5
    assert "焊工甲" in client.get(f"/unions/{tree.district_a.id}/members?level=5").get_data(as_text=True)
    assert "1 person found" in client.get(f"/unions/{tree.district_a.id}/members?q=焊工").get_data(as_text=True)
    grouped = client.get(f"/unions/{tree.district_a.id}/members?group=courier").get_data(as_text=True)
    assert "25 people found" in grouped
    weird = client.get(f"/unions/{tree.district_a.id}/members?level=abc&status=zzz&q=%25_")
    assert weird.status_code == 200


def link(page: str, rel: str) -> str:
    """The href of the pager's rel="next" or rel="prev" link."""
    return html.unescape(re.search(rf'rel="{rel}" href="([^"]+)"', page).group(1))


def names_on(page: str) -> list[str]:
    return re.findall(r'/members/\d+">([^<]+)</a>', page)


def test_member_pages_walk_forward_and_back_by_keyset(app, tree, make_admin, make_user):
    """Each page is a keyset range: walking Next visits everyone once, newest first, and Previous
    walks back to the same pages; a forged cursor is the first page."""
    for index in range(45):
        make_user(f"工人{index:02d}", union=tree.a1 if index % 3 else tree.a2)
    client = login(app, make_admin(tree.district_a))
    first = client.get(f"/unions/{tree.district_a.id}/members").get_data(as_text=True)
    assert 'rel="prev"' not in first and "45 people found" in first
    pages, page = [first], first
    while 'rel="next"' in page:
        page = client.get(link(page, "next")).get_data(as_text=True)
        pages.append(page)
    seen = [name for page in pages for name in names_on(page)]
    assert len(pages) == 3 and seen == [f"工人{index:02d}" for index in reversed(range(45))]
    back = client.get(link(pages[2], "prev")).get_data(as_text=True)
    assert names_on(back) == names_on(pages[1])
    assert names_on(client.get(link(back, "prev")).get_data(as_text=True)) == names_on(first)
    for forged in ("x", "WzFd", "WyIyMDI2IiwxXQ", "W251bGwsbnVsbF0", "%00"):
        answer = client.get(f"/unions/{tree.district_a.id}/members?after={forged}")
        assert answer.status_code in (200, 400) and (answer.status_code == 400 or names_on(answer.get_data(as_text=True)) == names_on(first))


def test_a_filtered_member_count_stops_at_the_bound(app, tree, make_admin, make_user, monkeypatch):
    from classroom import pagination

    monkeypatch.setattr(pagination, "COUNT_BOUND", 5)
    for index in range(8):
        make_user(f"焊工{index}", union=tree.a1, trade="焊工")
    client = login(app, make_admin(tree.district_a))
    filtered = client.get(f"/unions/{tree.district_a.id}/members?trade=焊工").get_data(as_text=True)
    assert "More than 5 people found" in filtered
    unfiltered = client.get(f"/unions/{tree.district_a.id}/members").get_data(as_text=True)
    assert "8 people found" in unfiltered  # from the member counters: exact, whatever the size


def test_a_search_tells_its_total_from_its_page(app, tree, make_admin, make_user, monkeypatch):
    """A search counts nothing past its page: exact when its matches fit on the first page, else "more
    than" a page with a hint to narrow it; a common name (COMMON_MATCHES people or more) walks the list's
    index and still finds every match, newest first, on both sides of a page break."""
    from classroom.unions import queries

    for index in range(23):
        make_user(f"王{index:02d}", union=tree.a1 if index % 2 else tree.a2)
    make_user("李四", union=tree.a1)
    make_user("王外区", union=tree.b1)
    client = login(app, make_admin(tree.district_a))
    few = client.get(f"/unions/{tree.district_a.id}/members?q=李").get_data(as_text=True)
    assert "1 person found" in few and "narrow the search" not in few
    for common in (1_000, 3):  # rare: joined from the people; common: the index walked
        monkeypatch.setattr(queries, "COMMON_MATCHES", common)
        first = client.get(f"/unions/{tree.district_a.id}/members?q=王").get_data(as_text=True)
        assert "More than 20 people found" in first and "narrow the search" in first
        second = client.get(link(first, "next")).get_data(as_text=True)
        assert "More than 20 people found" in second
        assert names_on(first) + names_on(second) == [f"王{index:02d}" for index in reversed(range(23))]
        assert "1 person found" in client.get(f"/unions/{tree.district_a.id}/members?q=王07").get_data(as_text=True)


KEY_WALK = re.compile(r"\(SELECT membership\.applied_at AS applied_at, membership\.id AS id\s+FROM membership\b(.*?)\)"
                      r"\s+AS page_keys", re.DOTALL)
PERSON_JOINED = re.compile(r'\bJOIN "?user"?\s')


def test_a_member_page_walks_keys_and_reads_only_its_own_rows(app, tree, make_admin, make_user, monkeypatch):
    """The member list walks its index for (applied_at, id) alone, joining no union, and a common name's walk
    no person either (the matching people are a hashed list of ids); the page's whole rows are read by their
    keys in the same statement. Next and Previous still page through them."""
    from classroom.unions import queries

    monkeypatch.setattr(queries, "COMMON_MATCHES", 3)
    for index in range(23):
        make_user(f"王{index:02d}", union=tree.a1)
    client = login(app, make_admin(tree.district_a))
    for query, person_joined in (("", False), ("?q=王", False), ("?trade=电工", True)):
        with sql_statements() as executed:
            first = client.get(f"/unions/{tree.district_a.id}/members{query}").get_data(as_text=True)
        walks = [found.group(1) for statement in executed if (found := KEY_WALK.search(statement))]
        assert len(walks) == 1, query
        assert "trade_union" not in walks[0] and bool(PERSON_JOINED.search(walks[0])) == person_joined, query
    first = client.get(f"/unions/{tree.district_a.id}/members?q=王").get_data(as_text=True)
    second = client.get(link(first, "next")).get_data(as_text=True)
    assert names_on(second) == ["王02", "王01", "王00"]
    assert names_on(client.get(link(second, "prev")).get_data(as_text=True)) == names_on(first)


def test_overview_counts_the_subtree(app, tree, make_admin, make_user):
    for _ in range(3):
        make_user(union=tree.a1)
    make_user(union=tree.a2, status="applied")
    make_user(union=tree.b1)
    page = login(app, make_admin(tree.city)).get(f"/unions/{tree.city.id}").get_data(as_text=True)
    assert data_texts(page, "data-count", "active") == ["4"] and data_texts(page, "data-count", "applied") == ["1"]
    assert "东城区总工会" in page and "西城区总工会" in page
