"""The member lists' plans (issue 20): page 1 and a page deep in the list walk an index in the list's
order (no sort of the subtree; at most the page's own rows are ordered once read), in one union, across a
subtree and over the whole city, on SQLite
(EXPLAIN QUERY PLAN) and PostgreSQL (EXPLAIN, sequential scans off so a small table plans as a big one)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import insert, select

from classroom.accounts.models import User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions.models import Membership
from tests.factories import login_client
from tests.test_statements import recording

PEOPLE = 3000
NEXT = re.compile(r"[?&](?:amp;)?after=([A-Za-z0-9_-]+)")


def _members(unions) -> None:
    now = utcnow()
    db.session.execute(insert(User), [
        {"real_name": f"工人{n}", "mobile": str(13900000000 + n), "created_at": now} for n in range(PEOPLE)])
    ids = db.session.scalars(select(User.id).where(User.mobile.like("139%")).order_by(User.id)).all()
    db.session.execute(insert(Membership), [
        {"user_id": user_id, "union_id": unions[n % len(unions)].id, "status": "applied" if n % 7 == 0 else "active",
         "applied_at": now - timedelta(minutes=n)} for n, user_id in enumerate(ids)])
    db.session.commit()


def _plan(statement: str, parameters, postgres: bool) -> str:
    connection = db.session.connection()
    if postgres:
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("ANALYZE")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    else:
        connection.exec_driver_sql("ANALYZE")
        depth: dict[int, int] = {0: -1}
        rows = []
        for node, parent, _unused, detail in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                      parameters):
            depth[node] = depth.get(parent, -1) + 1
            rows.append(("  " * depth[node] + detail,))  # a node's depth shown by its indent
    db.session.rollback()
    return "\n".join(str(row[0]) for row in rows)


def _sorts_a_page_at_most(plan: str, postgres: bool, page: int) -> bool:
    """Whether every sort in ``plan`` orders no more than a page's rows: a member page walks the list's keys
    in index order (``page_keys``), then reads and orders the page's own rows."""
    if postgres:
        return all(int(rows) <= page for rows in re.findall(r"\bSort\s+\(cost=\S+ rows=(\d+)", plan))
    return all(not line.startswith(" ") and "page_keys" in plan
               for line in plan.splitlines() if "TEMP B-TREE FOR ORDER BY" in line)


def _list_statement(client, path: str) -> tuple[tuple[str, object], str]:
    """The member list's own statement when ``path`` is asked for, and the page's HTML."""
    with recording(with_parameters=True) as executed:
        answer = client.get(path)
    assert answer.status_code == 200, path
    [found] = [(s, p) for s, p in executed if "FROM membership" in s and "ORDER BY membership.applied_at" in s]
    return found, answer.get_data(as_text=True)


def test_member_lists_walk_an_index_in_their_order(app, tree, make_admin, is_postgres):
    _members([tree.a1, tree.a2, tree.b1, tree.i1])
    cases = [(make_admin(tree.city, mobile="13700000001"), tree.city),  # the whole city
             (make_admin(tree.district_a, mobile="13700000002"), tree.district_a),  # a subtree of two unions
             (make_admin(tree.a1, mobile="13700000003"), tree.a1)]  # one union
    checked = 0
    for admin, union in cases:
        client = login_client(app, admin)
        for path in (f"/unions/{union.id}/members", f"/unions/{union.id}/applications"):
            (statement, parameters), html = _list_statement(client, path)
            cursor = NEXT.search(html)
            assert cursor, path  # the list has a next page
            deep, _html = _list_statement(client, f"{path}?after={cursor.group(1)}")
            for sql, values in [(statement, parameters), deep]:
                plan = _plan(sql, values, is_postgres)
                if path.endswith("applications") and union is tree.district_a:
                    # a subtree's applications: the planner may search each union's waiting rows (the partial
                    # index holds only applications) and sort those, instead of walking them all in order
                    # (SQLite's planner, by the sample's statistics, picks the partial index, (union_id, status) or
                    # the walk of applied_at: each reads through an index, none scans the table)
                    membership = [line for line in plan.splitlines() if " membership " in f"{line} "]
                    assert ("waiting" in plan) if is_postgres else (
                        membership and all("USING INDEX" in line for line in membership)), (path, plan)
                else:
                    assert ("Index" if is_postgres else "INDEX") in plan, (path, plan)
                    assert _sorts_a_page_at_most(plan, is_postgres, app.config["PAGE_SIZE"] + 1), (path, plan)
                checked += 1
    assert checked == 12
