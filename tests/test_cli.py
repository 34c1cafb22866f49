"""flask seed-demo and flask create-admin."""

from __future__ import annotations

from sqlalchemy import func, select

from classroom.accounts.models import RoleGrant, User
from classroom.extensions import db
from classroom.unions.models import Membership, TradeUnion


def test_seed_demo_builds_a_realistic_city(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(select(TradeUnion.kind, func.count()).group_by(TradeUnion.kind)).all())
    assert kinds["city"] == 1 and kinds["district"] >= 3 and kinds["industry"] >= 2 and kinds["grassroots"] >= 12
    assert db.session.scalar(select(func.count()).select_from(User)) >= 300
    assert db.session.scalar(select(func.count(func.distinct(User.trade)))) >= 10
    assert db.session.scalar(select(func.count(func.distinct(User.skill_level)))) == 5
    assert db.session.scalar(select(func.count(func.distinct(User.worker_group)))) >= 8
    roles = set(db.session.scalars(select(RoleGrant.role)))
    assert roles == {"site_admin", "union_admin", "instructor"}
    admin_levels = set(db.session.scalars(
        select(TradeUnion.kind).join(RoleGrant, RoleGrant.union_id == TradeUnion.id).where(RoleGrant.role == "union_admin")))
    assert admin_levels == {"city", "district", "grassroots"}
    assert db.session.scalar(select(func.count()).select_from(Membership).where(Membership.status == "applied")) > 5
    numbers = db.session.scalars(select(Membership.member_no).where(Membership.member_no.is_not(None))).all()
    assert len(numbers) == len(set(numbers))
    assert "13800000001" in result.output and "Gonghui#2026" in result.output


def test_seed_demo_if_empty_keeps_the_data(runner):
    runner.invoke(args=["seed-demo", "--workers", "20"])
    before = db.session.scalar(select(func.count()).select_from(User))
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "not loaded again" in result.output and "13800000004" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert runner.invoke(args=["seed-demo"]).exit_code != 0


def test_create_admin(runner, client):
    result = runner.invoke(args=["create-admin", "--mobile", "13811112222", "--name", "管理员",
                                 "--password", "Union-Admin-2026"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.mobile == "13811112222"))
    assert user.is_site_admin
    assert client.post("/auth/login", data={"identifier": "13811112222", "password": "Union-Admin-2026"}).status_code == 302
    weak = runner.invoke(args=["create-admin", "--mobile", "13811113333", "--name", "x", "--password", "password123"])
    assert weak.exit_code != 0
