"""Members per union and status are kept by the database: every way a membership is written (the
services, bulk statements, COPY in seed-scale, a hand-written UPDATE or DELETE) leaves the counters
equal to a count of the rows, and a subtree's figures are the sum of its unions'."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions import counters, jobs
from classroom.unions.counters import UnionMemberCount, UnionMemberDelta
from classroom.unions.memberships import approve_membership, lapse_membership, reject_membership
from classroom.unions.models import Membership, MembershipStatus


def test_the_services_keep_the_counters(app, tree, make_user, make_admin):
    admin = make_admin(tree.city)
    active = [make_user(f"会员{index}", union=tree.a1) for index in range(3)]
    applicants = [make_user(f"申请{index}", union=tree.a1, status=MembershipStatus.APPLIED) for index in range(3)]
    make_user("别处", union=tree.b1)
    assert counters.mismatches() == {}
    memberships = {m.user_id: m for m in db.session.scalars(select(Membership))}
    approve_membership(memberships[applicants[0].id], actor=admin, now=utcnow())
    reject_membership(memberships[applicants[1].id], "不符合条件", actor=admin, now=utcnow())
    lapse_membership(memberships[active[0].id], "离职", actor=admin, now=utcnow())
    db.session.commit()
    assert counters.mismatches() == {}
    assert counters.subtree_counts(tree.a1) == {"active": 3, "applied": 1, "rejected": 1, "lapsed": 1}
    assert counters.subtree_counts(tree.city)["active"] == 4  # a1's three and b1's one


def test_bulk_statements_and_hand_written_sql_keep_the_counters(app, tree, make_user):
    people = [make_user(f"批量{index}") for index in range(6)]
    now = utcnow()
    db.session.execute(insert(Membership), [
        {"user_id": person.id, "union_id": (tree.a1 if index % 2 else tree.b1).id, "status": MembershipStatus.APPLIED,
         "applied_at": now} for index, person in enumerate(people)])
    db.session.commit()
    assert counters.mismatches() == {}
    db.session.execute(update(Membership).where(Membership.union_id == tree.a1.id)
                       .values(status=MembershipStatus.ACTIVE))
    db.session.execute(update(Membership).where(Membership.union_id == tree.b1.id)
                       .values(union_id=tree.a1.id))  # three move to another union, status kept
    db.session.execute(update(Membership).values(reason="unchanged status and union"))  # no change to count
    db.session.commit()
    assert counters.mismatches() == {}
    assert counters.subtree_counts(tree.a1) == {"active": 3, "applied": 3}
    db.session.execute(delete(Membership).where(Membership.status == MembershipStatus.APPLIED))
    db.session.commit()
    assert counters.mismatches() == {}
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
    assert counters.mismatches()
    counters.recount()
    db.session.commit()
    assert counters.mismatches() == {}


def test_folding_moves_the_deltas_into_the_counts(app, tree, make_user):
    for index in range(4):
        make_user(f"折叠{index}", union=tree.a1)
    assert db.session.scalar(select(func.count()).select_from(UnionMemberDelta)) == 4
    assert jobs.fold(now=utcnow()) == {"folded": 1, "member_months": 1}  # and the four starts into their month
    assert db.session.scalar(select(func.count()).select_from(UnionMemberDelta)) == 0
    assert db.session.scalar(select(UnionMemberCount.members).filter_by(union_id=tree.a1.id, status="active")) == 4
    make_user("折叠后", union=tree.a1)
    assert counters.subtree_counts(tree.a1) == {"active": 5}  # folded counts plus the new delta
    assert counters.mismatches() == {}


def test_the_cli_checks_and_rebuilds_the_counters(app, runner, tree, make_user):
    make_user("丁", union=tree.a1)
    assert runner.invoke(args=["unions", "check"]).exit_code == 0
    db.session.add(UnionMemberDelta(union_id=tree.a1.id, status="active", delta=5))
    db.session.commit()
    drifted = runner.invoke(args=["unions", "check"])
    assert drifted.exit_code == 1 and "memberships 1, counter 6" in drifted.output
    assert runner.invoke(args=["unions", "recount"]).exit_code == 0
    assert runner.invoke(args=["unions", "check"]).exit_code == 0
