"""flask seed-demo's competitions: this year's city skills contest with its sign-up open (entries at
each step of the approval chain, quota places that add up) and last season's contest with its
results published; the demo worker sees them and may enter himself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.seed import DEMO_PASSWORD
from classroom.unions.models import TradeUnion
from courses.certificates.models import Certificate
from courses.competitions.eligibility import check, load_facts
from courses.competitions.models import (
    Competition,
    CompetitionEvent,
    Entry,
    EntryMember,
    MemberStatus,
    PromotionRecord,
    Quota,
)
from tests.factories import login_client

DEMO_WORKER = "13800000006"
HOLDING = ("approved", "confirmed")  # the statuses that hold a quota place


@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result


def open_contest() -> Competition:
    return db.session.scalar(select(Competition).where(Competition.title.endswith("年全市职工职业技能大赛")))


def card(page: str, event: CompetitionEvent) -> str:
    return page.split(f'data-event="{event.id}"', 1)[1].split("data-event=", 1)[0]


def test_the_city_skills_contest_is_open_for_sign_up(seeded):
    competition, now = open_contest(), utcnow()
    assert competition.status == "published" and competition.level == "city"
    assert competition.organizer_union.code == "SZGH" and competition.requires_intermediate_approval
    assert competition.signup_opens_at < now < competition.signup_closes_at <= now + timedelta(days=15)
    assert "## 关于举办" in competition.notice_md and "报名截止时间" in competition.notice_md
    theory, practical = competition.stages
    assert (theory.kind, theory.name, practical.kind, practical.name) == ("theory", "线上理论预赛", "practical", "实操决赛")
    assert competition.signup_closes_at < theory.starts_at < theory.ends_at < practical.starts_at < practical.ends_at
    assert practical.venue and theory.weight + practical.weight == 100
    electricians, welders = competition.events
    assert (electricians.trade, electricians.is_team, electricians.min_skill_level) == ("电工", False, 4)
    assert (electricians.min_age, electricians.max_age, electricians.requires_active_membership) == (18, 55, True)
    assert (electricians.quota_depth, electricians.quota_per_union, electricians.overall_cap) == (1, 5, 40)
    assert (welders.trade, welders.is_team, welders.team_min, welders.team_max) == ("焊工", True, 2, 3)

    entries = db.session.scalars(select(Entry).where(Entry.competition_id == competition.id)).all()
    assert {"submitted", "approved", "confirmed"} <= {entry.status for entry in entries}
    assert any(entry.pending_union.kind == "grassroots" for entry in entries if entry.status == "submitted")
    team = next(entry for entry in entries if entry.event_id == welders.id and entry.status == "confirmed")
    people = [member for member in team.members if member.status == MemberStatus.ACCEPTED]
    assert 2 <= len(people) <= 3 and sum(member.is_captain for member in people) == 1
    facts = load_facts([member.user_id for entry in entries for member in entry.members])
    for entry in entries:  # seeded workers who may really enter, of the event's trade, from one union per team
        for member in entry.members:
            assert not check(member.user, entry.event, now=now, facts=facts[member.user_id]), member.user.real_name
            assert member.user.trade == entry.event.trade
            assert facts[member.user_id].union_id == entry.nominating_union_id
    demo = db.session.scalar(select(User).where(User.mobile == DEMO_WORKER))
    assert not db.session.scalar(select(func.count()).select_from(EntryMember).where(EntryMember.user_id == demo.id))


def test_quota_places_and_confirmed_counts_add_up(seeded):
    events = db.session.scalars(select(CompetitionEvent)).all()
    assert len(events) >= 2
    quotas = db.session.scalars(select(Quota)).all()
    assert quotas
    for quota in quotas:
        below = select(TradeUnion.id).where(TradeUnion.path.startswith(quota.union.path))
        holding = db.session.scalar(select(func.count()).select_from(Entry).where(
            Entry.event_id == quota.event_id, Entry.status.in_(HOLDING), Entry.nominating_union_id.in_(below)))
        assert quota.taken == holding > 0, quota
        assert holding == db.session.scalar(select(func.count()).select_from(Entry).where(
            Entry.event_id == quota.event_id, Entry.quota_union_id == quota.union_id))
    for event in events:
        assert event.quota_per_union is None or all(q.taken <= event.quota_per_union for q in quotas
                                                    if q.event_id == event.id)
        confirmed = db.session.scalar(select(func.count()).select_from(Entry).where(
            Entry.event_id == event.id, Entry.status == "confirmed"))
        assert event.confirmed_count == confirmed and (event.overall_cap is None or confirmed <= event.overall_cap)
    waiting = db.session.scalars(select(Entry).where(Entry.status == "submitted")).all()
    assert waiting and all(entry.quota_union_id is None for entry in waiting)  # not past the district yet


def test_last_seasons_contest_has_its_results_and_awards(seeded, client):
    finished = db.session.scalar(select(Competition).where(Competition.status == "results_published"))
    assert finished is not None and finished.results_published_at < utcnow()
    winners = db.session.scalars(select(EntryMember).join(Entry, Entry.id == EntryMember.entry_id).where(
        Entry.competition_id == finished.id, Entry.award.is_not(None))).all()
    assert winners and all(member.certificate_id is not None for member in winners)
    awards = db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.kind == "award", Certificate.competition_id == finished.id))
    assert awards == len(winners)
    assert db.session.scalar(select(func.count()).select_from(PromotionRecord)) >= 1  # first prizes: pending
    page = client.get(f"/competitions/{finished.id}/results")
    assert page.status_code == 200 and finished.title in page.get_data(as_text=True)


def test_the_demo_worker_sees_the_contest_and_may_enter_the_electricians_event(app, seeded):
    competition = open_contest()
    electricians, welders = competition.events
    demo = db.session.scalar(select(User).where(User.mobile == DEMO_WORKER))
    worker = login_client(app, demo, password=DEMO_PASSWORD)
    listing = worker.get("/competitions/").get_data(as_text=True)
    assert competition.title in listing and "全市新就业形态劳动者职业技能竞赛" in listing
    page = worker.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert 'data-eligible="yes"' in card(page, electricians) and "data-enter" in card(page, electricians)
    assert 'data-eligible="no"' in card(page, welders) and "data-reason" in card(page, welders)
    assert worker.post(f"/competitions/events/{electricians.id}/enter").status_code == 302
    entry = db.session.scalar(select(Entry).where(Entry.applicant_id == demo.id))
    assert (entry.status, entry.pending_union.code) == ("submitted", "DC01")  # 孙建华 decides first


def test_a_small_demo_city_still_gets_its_contest(runner):
    result = runner.invoke(args=["seed-demo", "--workers", "20"])
    assert result.exit_code == 0, result.output
    assert open_contest().status == "published"
