"""The union hours report's people (workers with hours, members at the period's end, members meeting the
target) come from rollups kept beside the ledger and the memberships: they must say what the ledger and the
memberships say, through moves, lapses, applications, reversals, local-day boundaries and target changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text, update

from classroom.accounts.models import User
from classroom.database import begin_write, utcnow
from classroom.extensions import db
from classroom.unions import jobs as union_jobs
from classroom.unions.history import UnionMemberMonth
from classroom.unions.memberships import apply_for_membership, approve_membership
from classroom.unions.models import Membership
from courses.hours import jobs as hours_jobs
from courses.hours import services as hours
from courses.hours.models import HoursUnionYear, HoursYear
from tests.concurrency import run_at_once
from tests.factories import login_client
from tests.hours_truth import differences, local_midnight, truth
from tests.markup import elements

YEAR = utcnow().astimezone(local_midnight(date(2000, 1, 1)).tzinfo).year  # this year in the platform's zone
LAST = YEAR - 1


def utc(year: int, month: int, day: int, hour: int = 2, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def join(person, union, started: datetime | None, *, status: str = "active", ended: datetime | None = None):
    membership = Membership(user_id=person.id, union_id=union.id, status=status, applied_at=started or utcnow(),
                            started_at=started, ended_at=ended)
    db.session.add(membership)
    db.session.commit()
    return membership


def move(person, old: Membership, union, at: datetime, *, status: str = "transferred") -> Membership:
    """The person leaves ``old`` at ``at`` (transferred, or lapsed) and, given a union, joins it then."""
    old.status, old.ended_at = status, at
    db.session.commit()
    return join(person, union, at) if union is not None else old


def credit(person, minutes: int, on: date, *, union=hours.NOW):
    hours.record_entry(user_id=person.id, minutes=minutes, source="external", earned_on=on, now=utcnow(),
                       source_key=f"t:{person.id}:{minutes}:{on}:{utcnow().timestamp()}", union_id=union)
    db.session.commit()


@pytest.fixture
def city_year(tree, make_user):
    """People whose memberships and hours test each rule; targets: the city 100, B1 30, the industry 0."""
    tree.city.annual_target_minutes, tree.b1.annual_target_minutes = 100, 30
    tree.industry.annual_target_minutes = 0
    db.session.commit()
    person = {name: make_user(name) for name in ("稳", "迁区内", "跨区", "退会", "申请", "负", "无时",
                                                 "跨年入", "年末入", "年初出", "冲回", "旧")}
    join(person["稳"], tree.a1, utc(LAST, 6, 1))
    credit(person["稳"], 120, date(YEAR, 3, 1))
    credit(person["稳"], 30, date(LAST, 8, 1))
    inside = join(person["迁区内"], tree.a1, utc(LAST, 1, 1))  # moves within district A, hours in both unions
    credit(person["迁区内"], 60, date(YEAR, 3, 1))
    move(person["迁区内"], inside, tree.a2, utc(YEAR, 5, 10))
    credit(person["迁区内"], 70, date(YEAR, 6, 1))
    across = join(person["跨区"], tree.a1, utc(LAST, 1, 1))  # from district A to B: 150 past the target in A1
    credit(person["跨区"], 150, date(YEAR, 2, 1))
    move(person["跨区"], across, tree.b1, utc(YEAR, 4, 1))
    credit(person["跨区"], 40, date(YEAR, 8, 1))
    leaving = join(person["退会"], tree.a2, utc(LAST, 2, 1))  # lapses after the second quarter
    credit(person["退会"], 200, date(YEAR, 5, 1))
    move(person["退会"], leaving, None, utc(YEAR, 9, 30, 4), status="lapsed")
    join(person["申请"], tree.b1, None, status="applied")  # an applicant's hours count for B1's workers only
    credit(person["申请"], 90, date(YEAR, 7, 1))
    join(person["负"], tree.i1, utc(LAST, 3, 1))  # below the industry's target of 0
    credit(person["负"], 20, date(YEAR, 1, 5))
    credit(person["负"], -35, date(YEAR, 1, 6))
    join(person["无时"], tree.i1, utc(LAST, 3, 1))  # no hours: meets a target of 0
    join(person["跨年入"], tree.a1, utc(LAST, 12, 31, 16, 30))  # 00:30 on New Year's Day in Shanghai
    credit(person["跨年入"], 45, date(LAST, 12, 31))
    join(person["年末入"], tree.b1, utc(LAST, 12, 31, 15, 59))  # 23:59 on New Year's Eve
    credit(person["年末入"], 50, date(YEAR, 1, 1))
    join(person["年初出"], tree.a1, utc(LAST - 1, 5, 1), status="lapsed", ended=utc(LAST, 12, 31, 16))
    reversed_ = join(person["冲回"], tree.a2, utc(LAST, 4, 1))  # a credit reversed under its union after a move
    credit(person["冲回"], 45, date(YEAR, 2, 1))
    move(person["冲回"], reversed_, tree.i1, utc(YEAR, 3, 1))
    credit(person["冲回"], -45, date(YEAR, 2, 1), union=tree.a2.id)
    old = join(person["旧"], tree.b1, utc(LAST - 1, 1, 1))  # left B1 after last year, 120 there last year
    credit(person["旧"], 120, date(LAST, 10, 1))
    move(person["旧"], old, tree.a1, utc(YEAR, 2, 1))
    return tree


def nodes(tree):
    return [tree.city, tree.district_a, tree.district_b, tree.industry, tree.a1, tree.a2, tree.b1, tree.i1]


def test_the_report_says_what_the_ledger_and_memberships_say(app, runner, city_year):
    assert differences(nodes(city_year), YEAR) == {}
    district_a = truth(city_year.district_a, date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert district_a[city_year.a1.id][1] + district_a[city_year.a2.id][1] == 5  # 迁区内 in both …
    assert district_a["total"][1] == 4  # … is one worker of the district
    city = truth(city_year.city, date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert city[city_year.district_a.id][1] + city[city_year.district_b.id][1] == city["total"][1] + 1  # 跨区
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    assert runner.invoke(args=["unions", "check"]).exit_code == 0
    assert union_jobs.fold(now=utcnow())["member_months"] > 0  # folded, the figures stay
    assert differences(nodes(city_year), YEAR) == {}


def test_a_target_changed_is_counted_at_once_and_recounted_by_the_job(app, runner, city_year):
    city_year.city.annual_target_minutes = 60  # as a hand-written change would (no service, no signal)
    city_year.industry.annual_target_minutes = None
    db.session.commit()
    assert differences(nodes(city_year), YEAR) == {}  # the stale unions counted from their rows
    assert hours_jobs.retarget(now=utcnow())["recounted"] > 0
    assert not db.session.scalars(select(HoursUnionYear).where(HoursUnionYear.target == 100)).all()
    assert differences(nodes(city_year), YEAR) == {}
    assert runner.invoke(args=["hours", "check"]).exit_code == 0


def test_hand_written_membership_changes_keep_the_rollups(app, runner, city_year):
    db.session.execute(text("UPDATE membership SET status = 'lapsed', ended_at = :at WHERE union_id = :union "
                            "AND status = 'active'"), {"at": utc(YEAR, 6, 15), "union": city_year.a1.id})
    db.session.execute(text("DELETE FROM membership WHERE union_id = :union"), {"union": city_year.i1.id})
    db.session.commit()
    assert differences(nodes(city_year), YEAR) == {}
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    assert runner.invoke(args=["unions", "check"]).exit_code == 0


@pytest.mark.parametrize(("corrupt", "in_report", "check"), [
    ("member months", True, "unions"), ("workers", True, "hours"), ("shared mark", True, "hours"),
    ("outside", True, "hours"), ("member mark", False, "hours")])
def test_a_rollup_that_drifts_from_the_ledger_shows(app, runner, city_year, corrupt, in_report, check):
    """The comparisons above are not vacuous: a rollup off by one changes a figure, and the checks say so
    (a wrong member mark shows in the check only: the figures read the counts it moves)."""
    a1, year = city_year.a1.id, YEAR
    statement = {
        "member months": update(UnionMemberMonth).where(UnionMemberMonth.union_id == a1)
        .values(delta=UnionMemberMonth.delta + 1),
        "workers": update(HoursUnionYear).where(HoursUnionYear.union_id == a1, HoursUnionYear.year == year)
        .values(workers=HoursUnionYear.workers + 1),
        "shared mark": update(HoursYear).where(HoursYear.year == year).values(shared=False),
        "outside": update(HoursUnionYear).where(HoursUnionYear.union_id == a1, HoursUnionYear.year == year)
        .values(outside=HoursUnionYear.outside + 1),
        "member mark": update(HoursYear).where(HoursYear.union_id == city_year.b1.id, HoursYear.year == year)
        .values(member=~HoursYear.member),
    }[corrupt]
    union_jobs.fold(now=utcnow())
    assert runner.invoke(args=[check, "check"]).exit_code == 0
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.commit()
    assert (differences(nodes(city_year), YEAR) != {}) is in_report
    assert runner.invoke(args=[check, "check"]).exit_code == 1


def test_the_page_shows_the_figures(app, city_year, make_admin):
    client = login_client(app, make_admin(city_year.city, "市管理员"))
    page = client.get(f"/reports/hours?union={city_year.city.id}&period=year&year={YEAR}").get_data(as_text=True)
    expected = truth(city_year.city, date(YEAR, 1, 1), date(YEAR, 12, 31))
    for district in (city_year.district_a, city_year.district_b, city_year.industry):
        minutes, workers, members, meeting = map(str, expected[district.id])
        assert elements(page, "tr", data_union_row=str(district.id), data_union_minutes=minutes,
                        data_union_workers=workers, data_union_members=members, data_union_meeting=meeting), district
    minutes, workers, members, meeting = map(str, expected["total"])
    assert elements(page, data_total_minutes=minutes) and elements(page, data_total_workers=workers)
    assert elements(page, data_total_members=members) and elements(page, data_total_meeting=meeting)


def test_membership_boundaries_follow_the_platforms_day(app, tree, make_user):
    """A membership begun at 00:30 on New Year's Day in Shanghai (16:30 UTC the day before) is no member at
    the end of the old year; one that ended at 00:00 was one."""
    early, late, ended = make_user("早"), make_user("晚"), make_user("止")
    join(early, tree.a1, utc(LAST, 12, 31, 15, 59))
    join(late, tree.a1, utc(LAST, 12, 31, 16, 30))
    join(ended, tree.a1, utc(LAST - 1, 1, 1), status="lapsed", ended=utc(LAST, 12, 31, 16))
    for person in (early, late, ended):
        credit(person, 200, date(LAST, 12, 31), union=tree.a1.id)
    tree.a1.annual_target_minutes = 100
    db.session.commit()
    last_year = truth(tree.a1, date(LAST, 1, 1), date(LAST, 12, 31))["total"]
    assert last_year == (600, 3, 2, 2)
    assert differences([tree.a1, tree.district_a], YEAR) == {}


def test_credits_racing_transfers_keep_the_rollups(app, runner, tree, make_user, make_admin):
    """Credits for people whose transfer is approved at the same moment: whichever commits first, the marks and
    counts agree with the memberships (a credit locks the person's memberships of its union for share)."""
    people = [make_user(f"并发{n}", union=tree.a1) for n in range(4)]
    approver_id = make_admin(tree.b1).id
    tree.city.annual_target_minutes = 100
    for person in people:
        apply_for_membership(person, tree.b1, now=utcnow())
    db.session.commit()
    applied = {person.id: db.session.scalar(select(Membership.id).where(
        Membership.user_id == person.id, Membership.status == "applied")) for person in people}
    ids = list(applied)

    def act(index: int) -> None:
        with app.app_context():
            begin_write(db.session)
            person_id = ids[index // 2]
            if index % 2:
                approve_membership(db.session.get_one(Membership, applied[person_id]),
                                   actor=db.session.get(User, approver_id), now=utcnow())
            else:
                hours.record_entry(user_id=person_id, minutes=150, source="external", earned_on=date(YEAR, 6, 1),
                                   source_key=f"race:{person_id}", now=utcnow())
            db.session.commit()

    assert not [result for result in run_at_once(2 * len(ids), act) if isinstance(result, BaseException)]
    assert runner.invoke(args=["hours", "check"]).exit_code == 0
    assert runner.invoke(args=["unions", "check"]).exit_code == 0
    assert differences(nodes(tree), YEAR) == {}
