"""Members per union and status are kept by the database: every way a membership is written (the
services, bulk statements, COPY in seed-scale, a hand-written UPDATE or DELETE) leaves the counters
equal to a count of the rows, and a subtree's figures are the sum of its unions' (kept per subtree by the fold,
and by a move of a node, so a node's figures read its own rows whatever its subtree's size)."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions import counter_checks, counters, jobs
from classroom.unions import tree as union_tree
from classroom.unions.counters import UnionMemberCount, UnionMemberDelta, UnionSubtreeCount
from classroom.unions.memberships import approve_membership, lapse_membership, reject_membership
from classroom.unions.models import Membership, MembershipStatus
from tests.helpers import sql_statements


def test_the_services_keep_the_counters(app, tree, make_user, make_admin):
    admin = make_admin(tree.city)
    active = [make_user(f"会员{index}", union=tree.a1) for index in range(3)]
    applicants = [make_user(f"申请{index}", union=tree.a1, status=MembershipStatus.APPLIED) for index in range(3)]
    make_user("别处", union=tree.b1)
    assert counter_checks.mismatches() == {}
    memberships = {m.user_id: m for m in db.session.scalars(select(Membership))}
    approve_membership(memberships[applicants[0].id], actor=admin, now=utcnow())
    reject_membership(memberships[applicants[1].id], "不符合条件", actor=admin, now=utcnow())
    lapse_membership(memberships[active[0].id], "离职", actor=admin, now=utcnow())
    db.session.commit()
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.a1) == {"active": 3, "applied": 1, "rejected": 1, "lapsed": 1}
    assert counters.subtree_counts(tree.city)["active"] == 4  # a1's three and b1's one


def test_bulk_statements_and_hand_written_sql_keep_the_counters(app, tree, make_user):
    people = [make_user(f"批量{index}") for index in range(6)]
    now = utcnow()
    db.session.execute(insert(Membership), [
        {"user_id": person.id, "union_id": (tree.a1 if index % 2 else tree.b1).id, "status": MembershipStatus.APPLIED,
         "applied_at": now} for index, person in enumerate(people)])
    db.session.commit()
    assert counter_checks.mismatches() == {}
    db.session.execute(update(Membership).where(Membership.union_id == tree.a1.id)
                       .values(status=MembershipStatus.ACTIVE))
    db.session.execute(update(Membership).where(Membership.union_id == tree.b1.id)
                       .values(union_id=tree.a1.id))  # three move to another union, status kept
    db.session.execute(update(Membership).values(reason="unchanged status and union"))  # no change to count
    db.session.commit()
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.a1) == {"active": 3, "applied": 3}
    db.session.execute(delete(Membership).where(Membership.status == MembershipStatus.APPLIED))
    db.session.commit()
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.a1).get("applied", 0) == 0


def test_a_rolled_back_change_leaves_the_counters_as_they_were(app, tree, make_user):
    make_user("甲", union=tree.a1)
    before = counters.subtree_counts(tree.city)
    db.session.add(Membership(user_id=make_user("乙").id, union_id=tree.a1.id, status=MembershipStatus.ACTIVE,
                              applied_at=utcnow()))
    db.session.flush()
    assert counters.subtree_counts(tree.city)["active"] == before["active"] + 1  # same transaction
    db.session.rollback()
    assert counters.subtree_counts(tree.city) == before


def test_recount_rebuilds_the_counters(app, tree, make_user):
    make_user("丙", union=tree.a1)
    db.session.add(UnionMemberDelta(union_id=tree.a1.id, status="active", delta=98))  # drifted (hand-written SQL)
    db.session.commit()
    assert counter_checks.mismatches()
    counter_checks.recount()
    db.session.commit()
    assert counter_checks.mismatches() == {}


def test_folding_moves_the_deltas_into_the_counts(app, tree, make_user):
    for index in range(4):
        make_user(f"折叠{index}", union=tree.a1)
    assert db.session.scalar(select(func.count()).select_from(UnionMemberDelta)) == 4
    assert jobs.fold(now=utcnow()) == {"folded": 1, "member_months": 1}  # and the four starts into their month
    assert db.session.scalar(select(func.count()).select_from(UnionMemberDelta)) == 0
    assert db.session.scalar(select(UnionMemberCount.members).filter_by(union_id=tree.a1.id, status="active")) == 4
    subtrees = dict(db.session.execute(select(UnionSubtreeCount.union_id, UnionSubtreeCount.members)
                                       .where(UnionSubtreeCount.status == "active")).all())
    assert subtrees == {tree.city.id: 4, tree.district_a.id: 4, tree.a1.id: 4}  # every node on a1's path
    make_user("折叠后", union=tree.a1)
    assert counters.subtree_counts(tree.a1) == {"active": 5}  # folded counts plus the new delta
    assert counter_checks.mismatches() == {}


def test_the_cli_checks_and_rebuilds_the_counters(app, runner, tree, make_user):
    make_user("丁", union=tree.a1)
    assert runner.invoke(args=["unions", "check"]).exit_code == 0
    db.session.add(UnionMemberDelta(union_id=tree.a1.id, status="active", delta=5))
    db.session.commit()
    drifted = runner.invoke(args=["unions", "check"])
    assert drifted.exit_code == 1 and "memberships 1, counter 6" in drifted.output
    assert runner.invoke(args=["unions", "recount"]).exit_code == 0
    assert runner.invoke(args=["unions", "check"]).exit_code == 0


def test_a_node_reads_its_own_subtree_rows_not_its_unions(app, tree, make_user):
    """After a fold the city's figures come from its own rows (and the deltas since): one statement that reads
    no union's count and joins no union, so its work does not grow with the number of unions."""
    for index in range(3):
        make_user(f"城{index}", union=tree.a1 if index else tree.b1)
    jobs.fold(now=utcnow())
    make_user("新人", union=tree.i1)  # a delta not folded yet
    db.session.commit()
    db.session.refresh(tree.city)
    db.session.refresh(tree.district_a)
    with sql_statements() as executed:
        assert counters.subtree_counts(tree.city) == {"active": 4}
    assert len(executed) == 1 and "union_subtree_count" in executed[0]
    assert "union_member_count" not in executed[0] and "trade_union" not in executed[0]
    with sql_statements() as executed:
        assert counters.subtree_counts(tree.district_a) == {"active": 2}
    assert len(executed) == 1 and "union_member_count" not in executed[0]


def test_a_nodes_children_are_counted_from_their_own_subtree_rows(app, tree, make_user):
    """The union page's children, each with its subtree's members and applicants: the children's folded rows
    plus the deltas not folded yet credited to the child above them; no union's own count is read."""
    from classroom.unions.queries import children_with_counts

    make_user("东一", union=tree.a1)
    make_user("东二", union=tree.a2, status=MembershipStatus.APPLIED)
    make_user("西一", union=tree.b1)
    jobs.fold(now=utcnow())
    make_user("东三", union=tree.a1)  # deltas not folded yet
    make_user("交一", union=tree.i1)
    make_user("区直属", union=tree.district_b)
    db.session.commit()
    db.session.refresh(tree.city)
    with sql_statements() as executed:
        found = {child.code: (active, applied) for child, active, applied in children_with_counts(tree.city)}
    assert found == {"DA": (2, 1), "DB": (2, 0), "IN": (1, 0)}
    assert len(executed) == 1 and "union_member_count" not in executed[0]
    jobs.fold(now=utcnow())
    assert {child.code: (active, applied) for child, active, applied in children_with_counts(tree.city)} == found
    db.session.refresh(tree.district_a)
    assert {child.code: (active, applied) for child, active, applied in children_with_counts(tree.district_a)} \
        == {"A1": (2, 0), "A2": (0, 1)}


def test_moving_a_node_moves_its_subtree_figures(app, tree, make_user):
    """A move takes the node's folded figures off the nodes it left and onto those it joined; its deltas not
    folded yet follow its new path, before and after the next fold."""
    for index in range(3):
        make_user(f"搬{index}", union=tree.a1)
    make_user("申请人", union=tree.a1, status=MembershipStatus.APPLIED)
    make_user("西城", union=tree.b1)
    jobs.fold(now=utcnow())
    make_user("未折叠", union=tree.a1)  # a delta not folded yet
    db.session.commit()
    union_tree.move_union(tree.a1, tree.district_b, actor=None)
    db.session.commit()
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.district_a) in ({}, {"active": 0, "applied": 0})
    assert counters.subtree_counts(tree.district_b) == {"active": 5, "applied": 1}
    assert counters.subtree_counts(tree.city) == {"active": 5, "applied": 1}
    jobs.fold(now=utcnow())
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.district_b) == {"active": 5, "applied": 1}


def test_the_check_finds_a_subtree_count_adrift(app, tree, make_user):
    make_user("漂移", union=tree.a1)
    jobs.fold(now=utcnow())
    db.session.execute(update(UnionSubtreeCount).where(UnionSubtreeCount.union_id == tree.district_a.id)
                       .values(members=UnionSubtreeCount.members + 2))
    db.session.commit()
    assert counter_checks.mismatches() == {(tree.district_a.id, "active in its subtree"): (1, 3)}
    counter_checks.recount()
    db.session.commit()
    assert counter_checks.mismatches() == {}
    assert counters.subtree_counts(tree.district_a) == {"active": 1}
