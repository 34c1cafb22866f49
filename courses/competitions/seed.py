"""Demo competitions for `flask seed-demo`: the city's skills contest with its sign-up open (an
individual electricians' event and a welders' team event, with entries at each step of the approval
chain) and last season's contest for couriers and delivery riders, its results published.

Everything goes through the competition services, as the organizer, the approving admins and the
entrants would do it in the app (eligibility, quota places, audit events, notifications, award
certificates). The demo worker 张小明 is left alone: he can enter himself. Runs after the demo people
and courses exist."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.timefmt import local_date, platform_zone
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from classroom.unions.scope import can_manage_union
from courses.competitions import approvals, authoring, entries, event_authoring, following, publication, results
from courses.competitions.eligibility import check, load_facts
from courses.competitions.models import (
    Competition,
    CompetitionEvent,
    CompetitionLevel,
    Entry,
    EntryMember,
    EntryStatus,
    StageKind,
)
from courses.competitions.seed_texts import FINISHED_NOTICE, NOTICE, PRACTICAL_VENUE, REJECTION

CITY = "SZGH"
DEMO_WORKER = "13800000006"
CITY_ADMIN, DISTRICT_ADMIN, GRASSROOTS_ADMIN = "13800000002", "13800000003", "13800000004"
STAFF = ("13800000001", "13800000002", "13800000003", "13800000004", "13800000005", "13800000006", "13800000007")

# Where each entry stops on its way: at its grassroots union, at the district (industry) union, approved
# and waiting for the organizer, confirmed, or rejected at its grassroots union.
GRASSROOTS, DISTRICT, APPROVED, CONFIRMED, REJECTED, FORMING = ("grassroots", "district", "approved", "confirmed",
                                                                "rejected", "forming")
ELECTRICIAN_STEPS = (CONFIRMED, GRASSROOTS, APPROVED, DISTRICT, CONFIRMED, REJECTED)  # as far as they go
WELDING_TEAMS = ((CONFIRMED, 3, "精焊先锋队"), (DISTRICT, 2, "匠心焊接队"), (FORMING, 2, "火花攻坚队"))
FOLLOWERS = 6

@dataclass
class Candidate:
    user: User
    union: TradeUnion
    member_since: datetime


def seed_competitions(*, now: datetime, rng: random.Random) -> None:
    """The two demo competitions, when the demo city and its admins exist."""
    city = db.session.scalar(select(TradeUnion).where(TradeUnion.code == CITY))
    staff = {user.mobile: user for user in db.session.scalars(select(User).where(User.mobile.in_(STAFF)))}
    organizer = staff.get(CITY_ADMIN)
    if city is None or organizer is None:
        return
    _inside_the_seed_transaction()
    admins = [staff[mobile] for mobile in (GRASSROOTS_ADMIN, DISTRICT_ADMIN, CITY_ADMIN) if mobile in staff]
    people = _members()
    _finished_competition(city, organizer, admins, people, now=now, rng=rng)
    _open_competition(city, organizer, admins, people, now=now, rng=rng)


def _inside_the_seed_transaction() -> None:
    """The services start their writes with begin_write(): on SQLite a BEGIN IMMEDIATE, ending a plain
    transaction that is open first. seed-demo builds the whole city in one transaction that has
    already written, so on SQLite it holds the write lock already: say so on its connection, and the
    services carry on inside it instead of ending it."""
    db.session.flush()
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.execution_options(sqlite_immediate=True)


def _members() -> list[Candidate]:
    """The active members who may take part (neither the staff nor the demo worker), in id order."""
    rows = db.session.execute(
        select(User, TradeUnion, Membership.started_at).join(Membership, Membership.user_id == User.id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.status == MembershipStatus.ACTIVE, User.mobile.not_in(STAFF))
        .order_by(User.id)).all()
    return [Candidate(user, union, since) for user, union, since in rows if since is not None]


def _days_from(now: datetime, days: int, at: time) -> datetime:
    """``at`` o'clock on the platform's clock, ``days`` after today there, in UTC."""
    tz = platform_zone()
    return datetime.combine(local_date(now, tz) + timedelta(days=days), at, tzinfo=tz).astimezone(UTC)


def _chinese_time(moment: datetime) -> str:
    """"2026年3月12日 13:00" on the platform's clock."""
    local = moment.astimezone(platform_zone())
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _build(organizer: User, city: TradeUnion, fields: dict, stages: list[dict], events: list[dict], *,
           created: datetime, published: datetime) -> Competition:
    competition = authoring.create_competition(organizer, {**fields, "organizer_union_id": city.id}, now=created)
    for stage in stages:
        authoring.save_stage(competition, stage, actor=organizer)
    for event in events:
        event_authoring.save_event(competition, event, actor=organizer)
    db.session.refresh(competition)
    authoring.publish(competition, actor=organizer, now=published)
    return competition


def _eligible(people: Iterable[Candidate], event: CompetitionEvent, *, at: datetime) -> list[Candidate]:
    """Those of the event's trade who were members by ``at`` and whom the event's rules admit then."""
    chosen = [person for person in people if person.user.trade == event.trade and person.member_since < at]
    facts = load_facts([person.user.id for person in chosen], [event.required_course_id])
    return [person for person in chosen if not check(person.user, event, now=at, facts=facts[person.user.id])]


def _decider(admins: list[User], entry: Entry) -> User:
    """The most local demo admin who decides the entry's current step (the city's admin at the latest)."""
    union = db.session.get_one(TradeUnion, entry.pending_union_id)
    return next(admin for admin in admins if can_manage_union(admin, union))


def _advance(entry: Entry, target: str, admins: list[User], organizer: User, *, at: datetime) -> Entry:
    """Take a submitted entry up the chain to ``target``, a day per step."""
    if target == REJECTED:
        return approvals.reject(entry, REJECTION, actor=_decider(admins, entry),
                                now=at + timedelta(days=1))
    steps = {GRASSROOTS: 0, DISTRICT: 1}.get(target, len(approvals.approval_chain(entry)))
    for step in range(1, steps + 1):
        entry = approvals.approve(entry, actor=_decider(admins, entry), now=at + timedelta(days=step))
    if target == CONFIRMED:
        entry = approvals.confirm(entry, actor=organizer, now=at + timedelta(days=steps + 1, hours=3))
    return entry


# ---- this year's contest: sign-up open ------------------------------------------------------------------

def _open_competition(city: TradeUnion, organizer: User, admins: list[User], people: list[Candidate], *,
                      now: datetime, rng: random.Random) -> None:
    year = local_date(now).year
    opens, closes = _days_from(now, -10, time(9, 0)), _days_from(now, 14, time(17, 0))
    theory = (_days_from(now, 21, time(9, 0)), _days_from(now, 21, time(11, 0)))
    practical = (_days_from(now, 35, time(8, 30)), _days_from(now, 35, time(17, 30)))
    notice = NOTICE.format(year=year, closes=_chinese_time(closes), venue=PRACTICAL_VENUE,
                           theory=f"{_chinese_time(theory[0])}–{_chinese_time(theory[1])[-5:]}",
                           practical=_chinese_time(practical[0]))
    rules = {"min_age": 18, "max_age": 55, "requires_active_membership": True, "quota_depth": 1,
             "honor_title": "市技术能手", "honor_title_top": 3, "promotion_award": "first"}
    competition = _build(
        organizer, city,
        {"title": f"{year}年全市职工职业技能大赛", "edition": "第十二届", "year": year, "level": CompetitionLevel.CITY,
         "notice_md": notice, "signup_opens_at": opens, "signup_closes_at": closes,
         "requires_intermediate_approval": True},
        [{"name": "线上理论预赛", "kind": StageKind.THEORY, "starts_at": theory[0], "ends_at": theory[1],
          "venue": "线上（职工学堂在线答题）", "weight": 30},
         {"name": "实操决赛", "kind": StageKind.PRACTICAL, "starts_at": practical[0], "ends_at": practical[1],
          "venue": PRACTICAL_VENUE, "weight": 70}],
        [{"trade": "电工", "name": "电工（个人赛）", "min_skill_level": 4, "min_years_in_trade": 2,
          "quota_per_union": 5, "overall_cap": 40, "award_rule": {"first": 1, "second": 3, "third": 6, "merit": 10},
          **rules},
         {"trade": "焊工", "name": "焊工（团体赛）", "is_team": True, "team_min": 2, "team_max": 3,
          "min_skill_level": 3, "quota_per_union": 2, "overall_cap": 20,
          "award_rule": {"first": 1, "second": 2, "third": 3, "merit": 4}, **rules}],
        created=opens - timedelta(days=5), published=opens)
    electricians, welders = competition.events
    starts = now - timedelta(days=8)
    candidates = _eligible(people, electricians, at=starts)
    for target, person in zip(ELECTRICIAN_STEPS, rng.sample(candidates, len(candidates)), strict=False):
        at = starts + timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 8))
        _advance(entries.enter(person.user, electricians, now=at), target, admins, organizer, at=at)
    _welding_teams(welders, _eligible(people, welders, at=starts), admins, organizer, at=starts, rng=rng)
    entered = set(db.session.scalars(select(EntryMember.user_id).where(
        EntryMember.event_id.in_([electricians.id, welders.id]))))
    others = [person.user for person in people if person.user.id not in entered]
    for user in rng.sample(others, min(FOLLOWERS, len(others))):  # they hear before sign-up closes
        following.set_following(user, competition, True, now=now - timedelta(days=rng.randint(1, 9)))


def _welding_teams(event: CompetitionEvent, candidates: list[Candidate], admins: list[User], organizer: User, *,
                   at: datetime, rng: random.Random) -> None:
    """Teams from one grassroots union each: one confirmed, one at its district, one still forming
    (its captain waits for an answer to an invitation), as far as the welders go."""
    by_union: dict[int, list[Candidate]] = {}
    for person in rng.sample(candidates, len(candidates)):
        by_union.setdefault(person.union.id, []).append(person)
    for target, size, name in WELDING_TEAMS:
        union_id = max(sorted(by_union), key=lambda key: len(by_union[key]), default=None)
        if union_id is None or len(by_union[union_id]) < 2:
            return
        team, by_union[union_id] = by_union[union_id][:size], by_union[union_id][size:]
        captain, *members = [person.user for person in team]
        entry = entries.create_team(captain, event, name, now=at)
        for number, member in enumerate(members, start=1):
            invitation = entries.invite(entry, member.mobile or "", actor=captain, now=at + timedelta(hours=number))
            if target != FORMING:
                entries.respond(invitation, True, actor=member, now=at + timedelta(hours=number + 4))
        if target != FORMING:
            entry = entries.submit_team(entry, actor=captain, now=at + timedelta(hours=20))
            _advance(entry, target, admins, organizer, at=at + timedelta(hours=20))
        at += timedelta(days=1)


# ---- last season's contest: results published ---------------------------------------------------------------

def _finished_competition(city: TradeUnion, organizer: User, admins: list[User], people: list[Candidate], *,
                          now: datetime, rng: random.Random) -> None:
    opens, closes = _days_from(now, -80, time(9, 0)), _days_from(now, -55, time(17, 0))
    theory = (_days_from(now, -48, time(9, 0)), _days_from(now, -48, time(10, 30)))
    practical = (_days_from(now, -41, time(8, 30)), _days_from(now, -41, time(17, 0)))
    published_results = _days_from(now, -30, time(10, 0))
    year = local_date(practical[0]).year
    trades = ("快递员", "网约送餐员")
    entering = opens + timedelta(days=5)
    if any(sum(p.user.trade == trade and p.member_since < entering for p in people) < 3 for trade in trades):
        return  # too few couriers and riders in a small demo city for a contest with results
    rules = {"min_age": 18, "max_age": 60, "requires_active_membership": True, "quota_depth": 1,
             "quota_per_union": 10, "overall_cap": 60, "award_rule": {"first": 1, "second": 1, "third": 2, "merit": 2},
             "honor_title": "全市技术能手", "honor_title_top": 1, "promotion_award": "first"}
    competition = _build(
        organizer, city,
        {"title": f"{year}年全市新就业形态劳动者职业技能竞赛", "edition": "第三届", "year": year,
         "level": CompetitionLevel.CITY, "notice_md": FINISHED_NOTICE.format(year=year), "signup_opens_at": opens,
         "signup_closes_at": closes, "requires_intermediate_approval": False},
        [{"name": "理论知识考试", "kind": StageKind.THEORY, "starts_at": theory[0], "ends_at": theory[1],
          "venue": "线上（职工学堂在线答题）", "weight": 30},
         {"name": "实操比赛", "kind": StageKind.PRACTICAL, "starts_at": practical[0], "ends_at": practical[1],
          "venue": "市邮政快递实训中心", "weight": 70}],
        [{"trade": trade, "name": f"{trade}（个人赛）", **rules} for trade in trades],
        created=opens - timedelta(days=7), published=opens)
    stages = competition.stages
    for event in competition.events:
        candidates = _eligible(people, event, at=entering)
        for person in rng.sample(candidates, min(8, len(candidates))):
            at = entering + timedelta(days=rng.randint(0, 15), hours=rng.randint(0, 8))
            _advance(entries.enter(person.user, event, now=at), CONFIRMED, admins, organizer, at=at)
        confirmed = db.session.scalars(select(Entry.id).where(Entry.event_id == event.id,
                                                              Entry.status == EntryStatus.CONFIRMED)
                                       .order_by(Entry.id)).all()
        scores = {entry_id: {stage.id: _points(rng) for stage in stages} for entry_id in confirmed}
        results.record_scores(event, scores, actor=organizer, now=practical[1] + timedelta(days=2))
    if db.session.scalar(select(Entry.id).where(Entry.competition_id == competition.id, Entry.rank.is_not(None))
                         .limit(1)) is not None:  # someone took part (the rules may have left nobody, years on)
        publication.publish_results(competition, actor=organizer, now=published_results)


def _points(rng: random.Random) -> Decimal:
    """A round's score out of 100, to the cent."""
    return (Decimal(rng.randint(5800, 9850)) / 100).quantize(results.CENT)
