"""flask seed-scale: a realistic tree and N workers, bulk-inserted, one shared password hash."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from classroom import cli
from classroom.accounts.models import Consent, User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.registry import registry
from classroom.seed import DEMO_PASSWORD
from classroom.unions.models import Membership, TradeUnion


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_scale_builds_a_realistic_city(app, runner, client):
    result = runner.invoke(args=["seed-scale", "--workers", "2000"])
    assert result.exit_code == 0, result.output
    assert "Seeded 2000 workers" in result.output
    assert count(User) == count(Membership) == count(Consent) == 2000
    assert db.session.scalar(select(func.count(func.distinct(User.password_hash)))) == 1
    assert db.session.scalar(select(func.count(func.distinct(User.mobile)))) == 2000
    assert db.session.scalar(select(func.count(func.distinct(User.trade)))) >= 8
    assert db.session.scalar(select(func.count(func.distinct(User.skill_level)))) == 5
    kinds = dict(db.session.execute(select(TradeUnion.kind, func.count()).group_by(TradeUnion.kind)).all())
    assert kinds["city"] == 1 and kinds["grassroots"] == 10 and kinds["district"] >= 3
    grassroots = db.session.scalars(select(TradeUnion).where(TradeUnion.kind == "grassroots")).all()
    for union in grassroots:
        assert union.path == f"{union.parent.path}{union.id}/" and union.code == f"U{union.id:06d}"
        numbers = db.session.scalars(select(Membership.member_no).where(Membership.union_id == union.id,
                                                                        Membership.status == "active")).all()
        assert sorted(numbers) == [f"{union.code}-{n:06d}" for n in range(1, union.member_seq + 1)]
    assert count(Membership, Membership.status == "applied") == len(range(0, 2000, 17))
    from classroom.unions import counter_checks

    assert counter_checks.mismatches() == {}  # COPY (PostgreSQL) and bulk inserts kept the member counters
    worker = db.session.scalar(select(User).join(Membership, Membership.user_id == User.id)
                               .where(Membership.status == "active").limit(1))
    assert client.post("/auth/login", data={"identifier": worker.mobile, "password": DEMO_PASSWORD}).status_code == 302
    assert "data-member-no" in client.get("/me").get_data(as_text=True)


def test_seed_scale_adds_to_an_existing_city(app, runner):
    assert runner.invoke(args=["seed-demo", "--workers", "20"]).exit_code == 0
    before = count(TradeUnion)
    for _ in range(2):
        result = runner.invoke(args=["seed-scale", "--workers", "300", "--unions", "3"])
        assert result.exit_code == 0, result.output
    assert count(TradeUnion) == before + 6  # new grassroots unions only: the districts are reused
    assert count(TradeUnion, TradeUnion.parent_id.is_(None)) == 1
    assert db.session.scalar(select(func.count(func.distinct(User.mobile)))) == count(User)
    late = User(real_name="后来者", mobile="13600000001", created_at=utcnow())  # the id sequence moved on
    db.session.add(late)
    db.session.commit()
    assert late.id == db.session.scalar(select(func.max(User.id)))


def test_features_extend_seed_scale_with_their_own_options(app, runner):
    seen = []

    def courses(context, *, courses_per_union: int = 0, **_options):
        seen.append((context.workers, len(context.unions), courses_per_union, context.first_user_id))

    option = click.Option(["--courses-per-union"], type=int, default=0)
    registry(app).scale_extensions.append((courses, (option,)))  # what a package's init_app does
    cli.init_app(app)  # the shell's commands come last in create_app: seed-scale takes the new option
    result = runner.invoke(args=["seed-scale", "--workers", "50", "--unions", "2", "--courses-per-union", "3"])
    assert result.exit_code == 0, result.output
    assert seen == [(50, 2, 3, 1)]
