"""Competitions: eligibility (every rule at its edges), entering alone and in teams, the approval chain
with quotas and the overall cap, scope, exports, results (ties, awards, import, publication,
certificates, promotions), public pages and reminders. The quota race is in test_competitions_race."""

from __future__ import annotations

import io
import itertools
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from classroom import create_app
from classroom.accounts.models import User
from classroom.audit import AuditEvent
from classroom.database import statement_engines, utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.timefmt import zone
from classroom.unions.models import TradeUnion
from courses.catalog.models import Course
from courses.certificates import revocation as certificate_services
from courses.certificates.models import ExternalSkillCertificate
from courses.competitions import approvals, entries, jobs, publication, results
from courses.competitions.eligibility import Facts, SkillFact, check, load_facts
from courses.competitions.models import (
    Competition,
    CompetitionEvent,
    CompetitionFollow,
    Entry,
    EntryMember,
    PromotionRecord,
    Quota,
    Score,
    Stage,
)
from courses.enrollment.models import Enrollment
from tests.factories import login_client
from tests.helpers import assert_inert, assert_inert_cell
from tests.markup import elements
from tests.test_certificates import certificate_of, complete
from tests.xlsx_raw import assert_xlsx_inert

_numbers = itertools.count(1)
AWARD_RULE = {"first": 1, "second": 2, "third": 3, "merit": 0}


# ---- builders -------------------------------------------------------------------------------------

@pytest.fixture
def make_competition(tree):
    """make_competition(organizer=tree.city, …) → a published competition whose sign-up is open."""

    def make(title: str = "全市职工职业技能大赛", *, organizer: TradeUnion | None = None, status: str = "published",
             **fields) -> Competition:
        now = utcnow()
        fields.setdefault("signup_opens_at", now - timedelta(days=1))
        fields.setdefault("signup_closes_at", now + timedelta(days=10))
        fields.setdefault("year", now.year)
        fields.setdefault("level", "city")
        fields.setdefault("notice_md", "## 竞赛通知\n\n报名请联系工会。")
        competition = Competition(title=title, organizer_union_id=(organizer or tree.city).id, status=status,
                                  created_at=now, updated_at=now,
                                  published_at=now if status != "draft" else None, **fields)
        db.session.add(competition)
        db.session.commit()
        return competition

    return make


@pytest.fixture
def make_event():
    def make(competition: Competition, name: str = "电工（个人赛）", **fields) -> CompetitionEvent:
        fields.setdefault("trade", "电工")
        fields.setdefault("award_rule", dict(AWARD_RULE))
        event = CompetitionEvent(competition_id=competition.id, name=name, confirmed_count=0, **fields)
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def electrician(make_user):
    """make_user with the facts an electrician competition asks about."""

    def make(name: str, union, **fields):
        fields.setdefault("skill_level", 3)
        fields.setdefault("birth_year", utcnow().year - 35)
        fields.setdefault("years_in_trade", 8)
        fields.setdefault("trade", "电工")
        return make_user(name, union=union, **fields)

    return make


def verified_certificate(user, occupation: str = "电工", level: int = 3, issued_on: date | None = None, *,
                         status: str = "verified", union=None) -> ExternalSkillCertificate:
    """An external skill certificate on record (verified unless ``status`` says otherwise)."""
    number = next(_numbers)
    row = ExternalSkillCertificate(
        user_id=user.id, union_id=union.id if union else None, number=f"S07313200010526{level}{number:06d}",
        occupation=occupation, level=level, evaluation_body="市职业技能鉴定中心",
        issued_on=issued_on or date(2024, 6, 1), scan_name="scan.png", scan_stored_name=secrets.token_hex(16) + ".png",
        scan_content_type="image/png", scan_size=10, status=status, submitted_at=utcnow(),
        decided_at=utcnow() if status != "submitted" else None)
    db.session.add(row)
    db.session.commit()
    return row


def the_competition_is_over(competition: Competition) -> None:
    """Sign-up closed an hour ago and every round has taken place (moved back together, a minute ago at
    the latest): what publishing the results and awarding by hand wait for."""
    now = utcnow()
    competition.signup_closes_at = now - timedelta(hours=1)
    stages = db.session.scalars(select(Stage).where(Stage.competition_id == competition.id)).all()
    shift = max((stage.ends_at for stage in stages), default=now) - (now - timedelta(minutes=1))
    for stage in stages:
        stage.starts_at, stage.ends_at = stage.starts_at - shift, stage.ends_at - shift
    db.session.commit()


def local_today(app) -> date:
    return utcnow().astimezone(zone(app.config["DEFAULT_TIMEZONE"])).date()


class QueryCounter:
    """Counts the statements sent to the database (not SQLite's BEGIN)."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        for engine in statement_engines(db.engine):
            sa_event.listen(engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        for engine in statement_engines(db.engine):
            sa_event.remove(engine, "before_cursor_execute", self._count)

    def _count(self, _connection, _cursor, statement, *args):
        self.count += not statement.startswith("BEGIN")


def entry_of(user, event) -> Entry | None:
    return db.session.scalar(select(Entry).join(EntryMember, EntryMember.entry_id == Entry.id)
                             .where(EntryMember.user_id == user.id, Entry.event_id == event.id)
                             .order_by(Entry.id.desc()))


def status_of(entry) -> str:
    db.session.expire_all()
    return db.session.get(Entry, entry.id).status


def kinds_for(user) -> list[str]:
    return db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


# ---- eligibility: the pure rule, table-driven -----------------------------------------------------

@pytest.fixture(scope="module")
def rule_app():
    return create_app("testing", DATABASE_URL="sqlite://")


@dataclass
class Case:
    name: str
    worker: dict
    event: dict
    facts: dict
    expected: list[str]
    at: timedelta = timedelta(0)  # now = sign-up opening + 1 day + this
    zh: list[str] | None = None  # the same reasons in zh_CN, as the issue words them


YEAR = 2026
OPENS = utcnow().replace(year=YEAR, month=3, day=1, hour=0, minute=0, second=0, microsecond=0)
CLOSES = OPENS + timedelta(days=30)
MEMBER = {"membership_status": "active", "union_id": 17, "union_path": "/1/4/17/"}
ABLE = {"skill_level": 3, "birth_year": 1990, "years_in_trade": 5}
CERT = SkillFact("电工", 3, date(2022, 3, 15))

CASES = [
    Case("eligible", ABLE, {}, MEMBER, []),
    Case("level at the boundary", ABLE, {"min_skill_level": 3}, MEMBER, []),
    Case("level one below", {**ABLE, "skill_level": 4}, {"min_skill_level": 3}, MEMBER,
         ["Requires skill level 3 (senior worker) or higher"], zh=["需要三级/高级工及以上"]),
    Case("a higher level is fine", {**ABLE, "skill_level": 1}, {"min_skill_level": 3}, MEMBER, []),
    Case("no level recorded", {**ABLE, "skill_level": None}, {"min_skill_level": 5}, MEMBER,
         ["Requires skill level 5 (junior worker) or higher"]),
    Case("exactly the oldest age", {**ABLE, "birth_year": YEAR - 35}, {"max_age": 35}, MEMBER, []),
    Case("one year too old", {**ABLE, "birth_year": YEAR - 36}, {"max_age": 35}, MEMBER,
         [f"Open to ages up to 35 (you are 36 in {YEAR})"]),
    Case("exactly the youngest age", {**ABLE, "birth_year": YEAR - 18}, {"min_age": 18, "max_age": 35}, MEMBER, []),
    Case("one year too young", {**ABLE, "birth_year": YEAR - 17}, {"min_age": 18}, MEMBER,
         [f"Open to ages 18 and over (you are 17 in {YEAR})"]),
    Case("no birth year", {**ABLE, "birth_year": None}, {"max_age": 50}, MEMBER, ["Enter your year of birth"]),
    Case("no birth year, no age rule", {**ABLE, "birth_year": None}, {}, MEMBER, []),
    Case("years in trade at the boundary", ABLE, {"min_years_in_trade": 5}, MEMBER, []),
    Case("years in trade one short", {**ABLE, "years_in_trade": 4}, {"min_years_in_trade": 5}, MEMBER,
         ["Requires at least 5 years in the trade"]),
    Case("years in trade unknown", {**ABLE, "years_in_trade": None}, {"min_years_in_trade": 1}, MEMBER,
         ["Requires at least 1 years in the trade"]),
    Case("lapsed membership", ABLE, {}, {**MEMBER, "membership_status": "lapsed"},
         ["Requires an active union membership"]),
    Case("applied membership", ABLE, {}, {**MEMBER, "membership_status": "applied"},
         ["Requires an active union membership"]),
    Case("applied membership is enough when not required", ABLE, {"requires_active_membership": False},
         {**MEMBER, "membership_status": "applied"}, []),
    Case("outside the organizer's subtree", ABLE, {}, {**MEMBER, "union_path": "/1/5/30/"},
         ["Only for members of 东城区总工会 and the unions below it"]),
    Case("no union at all", ABLE, {}, {}, ["Only for members of 东城区总工会 and the unions below it"]),
    Case("course completed", ABLE, {"required_course_id": 9}, {**MEMBER, "completed_course_ids": frozenset({9})}, []),
    Case("course not completed", ABLE, {"required_course_id": 9}, MEMBER,
         ["Requires completing the course 低压电工作业"]),
    Case("course completed, its certificate revoked", ABLE, {"required_course_id": 9},
         {**MEMBER, "revoked_course_ids": frozenset({9})}, ["Your certificate for the course 低压电工作业 was revoked"]),
    Case("no verified certificate (a submitted or rejected one is not a fact)", ABLE,
         {"required_certificate_occupation": "电工"}, MEMBER, ["Requires a verified 电工 skill certificate"],
         zh=["需要经审核的电工职业技能等级证书"]),
    Case("verified certificate", ABLE, {"required_certificate_occupation": "电工"}, {**MEMBER, "certificates": (CERT,)},
         []),
    Case("certificate of another occupation", ABLE, {"required_certificate_occupation": "电工"},
         {**MEMBER, "certificates": (SkillFact("焊工", 3, date(2024, 1, 1)),)},
         ["Requires a verified 电工 skill certificate"]),
    Case("certificate valid to its last day", ABLE, {"required_certificate_occupation": "电工",
                                                     "certificate_valid_years": 4},
         {**MEMBER, "certificates": (CERT,)}, [], at=timedelta(days=12)),  # 2026-03-14: 4 years less a day
    Case("certificate expired", ABLE, {"required_certificate_occupation": "电工", "certificate_valid_years": 4},
         {**MEMBER, "certificates": (CERT,)}, ["Your 电工 skill certificate has expired"], at=timedelta(days=13)),
    Case("an expired and a valid certificate", ABLE, {"required_certificate_occupation": "电工",
                                                      "certificate_valid_years": 4},
         {**MEMBER, "certificates": (CERT, SkillFact("电工", 2, date(2025, 1, 1)))}, [], at=timedelta(days=13)),
    Case("exactly when sign-up opens", ABLE, {}, MEMBER, [], at=-timedelta(days=1)),
    Case("a second before sign-up opens", ABLE, {}, MEMBER, ["Sign-up has not opened"],
         at=-timedelta(days=1, seconds=1), zh=["报名尚未开始"]),
    Case("a second before the close", ABLE, {}, MEMBER, [], at=timedelta(days=29) - timedelta(seconds=1)),
    Case("exactly at the close", ABLE, {}, MEMBER, ["Sign-up has closed"], at=timedelta(days=29), zh=["报名已截止"]),
    Case("sign-up closed", ABLE, {}, MEMBER, ["Sign-up has closed"], at=timedelta(days=40)),
    Case("sign-up not open", ABLE, {}, MEMBER, ["Sign-up has not opened"], at=-timedelta(days=2)),
    Case("several reasons at once", {**ABLE, "skill_level": 5, "birth_year": None},
         {"min_skill_level": 4, "max_age": 40}, {**MEMBER, "membership_status": "lapsed"},
         ["Requires an active union membership", "Requires skill level 4 (intermediate worker) or higher",
          "Enter your year of birth"], zh=["需要有效的工会会员身份", "需要四级/中级工及以上", "请填写出生年份"]),
    Case("closed and below the level", {**ABLE, "skill_level": 4}, {"min_skill_level": 3}, MEMBER,
         ["Sign-up has closed", "Requires skill level 3 (senior worker) or higher"], at=timedelta(days=29),
         zh=["报名已截止", "需要三级/高级工及以上"]),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_eligibility_rule(rule_app, case):
    organizer = TradeUnion(id=4, name="东城区总工会", path="/1/4/", depth=1)
    competition = Competition(year=YEAR, status="published", signup_opens_at=OPENS, signup_closes_at=CLOSES,
                              organizer_union=organizer)
    event = CompetitionEvent(competition=competition, required_course=Course(id=9, title="低压电工作业"),
                  **{"requires_active_membership": True, **case.event})
    worker = User(real_name="李电工", **case.worker)
    now = OPENS + timedelta(days=1) + case.at
    with rule_app.app_context():
        found = check(worker, event, now=now, facts=Facts(**case.facts))
        with force_locale("en"):
            assert [str(reason) for reason in found] == case.expected
        if case.zh is not None:
            with force_locale("zh_CN"):
                assert [str(reason) for reason in found] == case.zh


def card(page: str, event) -> str:
    """The HTML of one event's card on the notice page."""
    return page.split(f'data-event="{event.id}"', 1)[1].split("data-event=", 1)[0]


def test_the_event_page_says_eligible_or_why_not(app, tree, make_competition, make_event, electrician, make_course):
    competition = make_competition(organizer=tree.district_a, level="district")
    course = make_course("低压电工作业")
    senior = make_event(competition, "电工（高级）", min_skill_level=2, max_age=40)
    certified = make_event(competition, "电工（持证）", required_certificate_occupation="电工",
                           required_course_id=course.id)
    worker = electrician("李电工", tree.a1, birth_year=None)
    page = login_client(app, worker).get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert_inert(page)
    assert 'data-eligible="no"' in card(page, senior) and 'data-eligible="no"' in card(page, certified)
    assert "Requires skill level 2 (technician) or higher" in card(page, senior)
    assert "Enter your year of birth" in card(page, senior)
    assert "Requires a verified 电工 skill certificate" in card(page, certified)
    assert "Requires completing the course 低压电工作业" in card(page, certified)
    verified_certificate(worker)
    db.session.add(Enrollment(user_id=worker.id, course_id=course.id, status="completed", requested_at=utcnow(),
                              completed_at=utcnow()))
    db.session.commit()
    page = login_client(app, worker).get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert 'data-eligible="yes"' in card(page, certified) and "data-enter" in card(page, certified)
    assert 'data-eligible="no"' in card(page, senior) and "data-enter" not in card(page, senior)
    # The notice is public; entering stays with the organizer's subtree.
    outsider = electrician("王外区", tree.b1)
    other = login_client(app, outsider)
    page = other.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert "Only for members of 东城区总工会 and the unions below it" in card(page, certified)
    assert "data-enter" not in page
    refused = other.post(f"/competitions/events/{certified.id}/enter", follow_redirects=True).get_data(as_text=True)
    assert "You may not enter: Only for members of 东城区总工会" in refused and entry_of(outsider, certified) is None


def test_a_worker_cannot_raise_their_own_skill_level_but_a_verified_certificate_does(
        app, tree, make_competition, make_event, electrician, make_admin):
    """The journey of the issue: a worker sees why they may not enter, gets their certificate verified,
    enters. Their profile cannot shortcut it."""
    competition = make_competition()
    event = make_event(competition, min_skill_level=3)
    worker = electrician("李电工", tree.a1, skill_level=4, locale="zh_CN")
    client = login_client(app, worker)
    settings = client.get("/me/settings").get_data(as_text=True)
    skill = elements(settings, "select", name="skill_level")
    assert len(skill) == 1 and "disabled" in skill[0].attrs  # shown, read-only
    assert 'id="skill_level-help"' in settings  # where it comes from (its translation may still be pending)
    response = client.post("/me/settings", data={"skill_level": "1", "trade": "维修电工", "locale": "zh_CN",
                                                 "timezone": "Asia/Shanghai"})
    assert response.status_code == 302
    db.session.refresh(worker)
    assert (worker.skill_level, worker.trade) == (4, "维修电工")  # the rest of the profile is saved
    page = client.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert 'data-eligible="no"' in card(page, event) and "需要三级/高级工及以上" in card(page, event)
    client.post(f"/competitions/events/{event.id}/enter")
    assert entry_of(worker, event) is None
    record = verified_certificate(worker, level=3, issued_on=local_today(app), status="submitted", union=tree.a1)
    admin = login_client(app, make_admin(tree.a1, "华东机电工会管理员"))
    assert admin.post(f"/certificates/skills/{record.id}/verify").status_code == 302
    db.session.refresh(worker)
    assert worker.skill_level == 3
    page = client.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert 'data-eligible="yes"' in card(page, event)
    client.post(f"/competitions/events/{event.id}/enter")
    assert entry_of(worker, event).status == "submitted"


def test_facts_count_only_verified_certificates_and_unrevoked_completions(
        app, tree, make_competition, make_event, electrician, make_course, make_admin):
    competition = make_competition()
    course = make_course("低压电工作业", lessons=0, min_lesson_share=0, certificate_months=36)
    by_course = make_event(competition, "电工（持课）", required_course_id=course.id)
    by_certificate = make_event(competition, "电工（持证）", required_certificate_occupation="电工")
    worker = electrician("李电工", tree.a1)
    enrollment = complete(worker, course)
    verified_certificate(worker, status="submitted", union=tree.a1)
    verified_certificate(worker, status="rejected", union=tree.a1)
    facts = load_facts([worker.id], [course.id])[worker.id]
    assert (facts.completed_course_ids, facts.revoked_course_ids, facts.certificates) == ({course.id}, set(), ())
    client = login_client(app, worker)
    page = client.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert 'data-eligible="yes"' in card(page, by_course)
    assert "Requires a verified 电工 skill certificate" in card(page, by_certificate)
    certificate_services.revoke(certificate_of(enrollment), "考核作弊", actor=make_admin(tree.city), now=utcnow())
    db.session.commit()
    facts = load_facts([worker.id], [course.id])[worker.id]
    assert (facts.completed_course_ids, facts.revoked_course_ids) == (set(), {course.id})
    page = client.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert "Your certificate for the course 低压电工作业 was revoked" in card(page, by_course)
    with pytest.raises(entries.NotEligible, match="was revoked"):
        entries.enter(worker, by_course, now=utcnow())


# ---- entering -----------------------------------------------------------------------------------------

def test_enter_once_withdraw_and_enter_again(app, tree, make_competition, make_event, electrician):
    competition = make_competition()
    event = make_event(competition)
    worker = electrician("李电工", tree.a1)
    client = login_client(app, worker)
    assert client.post(f"/competitions/events/{event.id}/enter").status_code == 302
    entry = entry_of(worker, event)
    assert (entry.status, entry.pending_union_id, entry.nominating_union_id) == ("submitted", tree.a1.id, tree.a1.id)
    again = client.post(f"/competitions/events/{event.id}/enter", follow_redirects=True).get_data(as_text=True)
    assert "already entered" in again
    assert db.session.scalar(select(func.count()).select_from(Entry)) == 1
    client.post(f"/competitions/entries/{entry.id}/withdraw")
    assert status_of(entry) == "withdrawn"
    client.post(f"/competitions/events/{event.id}/enter")
    assert entry_of(worker, event).status == "submitted"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Entry")).all()
    assert actions == ["competition.entry.submit", "competition.entry.withdraw", "competition.entry.submit"]


def test_ineligible_workers_and_closed_sign_up_are_refused(app, tree, make_competition, make_event, electrician):
    competition = make_competition(signup_closes_at=utcnow() + timedelta(minutes=1))
    event = make_event(competition, min_skill_level=2)
    worker = electrician("李电工", tree.a1)
    page = login_client(app, worker).post(f"/competitions/events/{event.id}/enter",
                                          follow_redirects=True).get_data(as_text=True)
    assert "You may not enter: Requires skill level 2 (technician) or higher" in page
    open_event = make_event(competition, "钳工")
    entries.enter(worker, open_event, now=utcnow())
    db.session.commit()
    entry = entry_of(worker, open_event)
    with pytest.raises(entries.DomainError, match="Sign-up has closed"):
        entries.withdraw(entry, actor=worker, now=utcnow() + timedelta(minutes=2))
    db.session.rollback()
    with pytest.raises(entries.NotEligible, match="Sign-up has closed"):
        entries.enter(electrician("晚来", tree.a1), open_event, now=utcnow() + timedelta(minutes=2))


def test_teams_form_complete_and_refuse_double_membership(app, tree, make_competition, make_event, electrician):
    competition = make_competition()
    event = make_event(competition, "配电运维（团体赛）", is_team=True, team_min=3, team_max=4)
    captain, second, third, fourth, fifth = (electrician(name, tree.a1) for name in ("队长甲", "队员乙", "队员丙",
                                                                                    "队员丁", "队员戊"))
    rival = electrician("别队队长", tree.a1)
    elsewhere = electrician("外单位", tree.a2)
    cap = login_client(app, captain)
    cap.post(f"/competitions/events/{event.id}/teams", data={"team_name": "东城电力一队"})
    team = entry_of(captain, event)
    assert team.status == "forming" and team.team_name == "东城电力一队"
    for person in (second, third):
        cap.post(f"/competitions/entries/{team.id}/invite", data={"mobile": person.mobile})
    refused = cap.post(f"/competitions/entries/{team.id}/invite", data={"mobile": elsewhere.mobile},
                       follow_redirects=True).get_data(as_text=True)
    assert "Team members belong to the captain&#39;s union" in refused
    assert kinds_for(second) == ["competition.invitation"]
    login_client(app, second).post(f"/competitions/invitations/{_member(team, second).id}/accept")
    page = cap.post(f"/competitions/entries/{team.id}/submit", follow_redirects=True).get_data(as_text=True)
    assert "needs at least 3 members who accepted; it has 2" in page and status_of(team) == "forming"
    # 丙 joins a rival team first: the invitation to the first team can no longer be accepted.
    riv = login_client(app, rival)
    riv.post(f"/competitions/events/{event.id}/teams", data={"team_name": "东城电力二队"})
    rival_team = entry_of(rival, event)
    riv.post(f"/competitions/entries/{rival_team.id}/invite", data={"mobile": third.mobile})
    third_client = login_client(app, third)
    third_client.post(f"/competitions/invitations/{_member(rival_team, third).id}/accept")
    answer = third_client.post(f"/competitions/invitations/{_member(team, third).id}/accept",
                               follow_redirects=True).get_data(as_text=True)
    assert "already entered this event" in answer and _member(team, third).status == "invited"
    again = riv.post(f"/competitions/entries/{rival_team.id}/invite", data={"mobile": second.mobile},
                     follow_redirects=True).get_data(as_text=True)
    assert "队员乙 is already in an entry of this event" in again
    cap.post(f"/competitions/entries/{team.id}/invite", data={"mobile": fourth.mobile})
    page = cap.post(f"/competitions/entries/{team.id}/invite", data={"mobile": fifth.mobile},
                    follow_redirects=True).get_data(as_text=True)
    assert "The team is full (4 members)" in page
    third_client.post(f"/competitions/invitations/{_member(team, third).id}/decline")
    cap.post(f"/competitions/entries/{team.id}/invite", data={"mobile": fifth.mobile})
    login_client(app, fourth).post(f"/competitions/invitations/{_member(team, fourth).id}/accept")
    cap.post(f"/competitions/entries/{team.id}/submit")
    assert status_of(team) == "submitted"
    assert sorted(p.real_name for p in approvals.team_people(team.id)) == ["队员丁", "队员乙", "队长甲"]
    assert _member(team, fifth) is None  # an open invitation lapses with the submission


def test_teams_still_forming_lapse_when_sign_up_closes(app, tree, make_competition, make_event, electrician):
    from courses.competitions.jobs import lapse_unsubmitted_teams

    closing = make_competition("即将截止的大赛")
    still_open = make_competition("仍在报名的大赛", signup_closes_at=utcnow() + timedelta(days=30))
    teams = {}
    for competition, names in ((closing, ("队长甲", "队员乙", "队员丙")), (still_open, ("队长丁", "队员戊", "队员己"))):
        event = make_event(competition, "配电运维（团体赛）", is_team=True, team_min=3, team_max=3)
        captain, joined, invited = (electrician(name, tree.a1) for name in names)
        client = login_client(app, captain)
        client.post(f"/competitions/events/{event.id}/teams", data={"team_name": f"{names[0]}的队"})
        team = entry_of(captain, event)
        for person in (joined, invited):
            client.post(f"/competitions/entries/{team.id}/invite", data={"mobile": person.mobile})
        login_client(app, joined).post(f"/competitions/invitations/{_member(team, joined).id}/accept")
        teams[competition.id] = (team, captain, joined, invited)
    closing.signup_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert lapse_unsubmitted_teams(now=utcnow()) == 1
    assert lapse_unsubmitted_teams(now=utcnow()) == 0  # a second run finds nothing
    team, captain, joined, invited = teams[closing.id]
    assert status_of(team) == "lapsed"
    assert status_of(teams[still_open.id][0]) == "forming"  # its sign-up is still open
    told = db.session.scalars(select(Notification.user_id).where(Notification.dedup_key.startswith(
        f"competition.team_lapsed:{team.id}:"))).all()
    assert sorted(told) == sorted([captain.id, joined.id])  # those who had joined, not the invitee
    active = db.session.scalars(select(EntryMember.is_active).where(EntryMember.entry_id == team.id)).all()
    assert active and not any(active)  # their places are free again
    page = login_client(app, captain).get("/competitions/mine").get_data(as_text=True)
    assert "Not submitted before sign-up closed" in page


def _member(entry, user) -> EntryMember:
    db.session.expire_all()
    return db.session.scalar(select(EntryMember).filter_by(entry_id=entry.id, user_id=user.id))


# ---- the approval chain ---------------------------------------------------------------------------

def test_chain_through_every_level_with_the_quota_at_the_district(app, tree, make_competition, make_event,
                                                                   electrician, make_admin):
    competition = make_competition(requires_intermediate_approval=True)
    event = make_event(competition, quota_depth=1, quota_per_union=1, overall_cap=5)
    first, second = electrician("李一", tree.a1), electrician("李二", tree.a2)
    grassroots_a1, grassroots_a2 = make_admin(tree.a1, "基层甲"), make_admin(tree.a2, "基层乙")
    district, organizer = make_admin(tree.district_a, "区总"), make_admin(tree.city, "市总")
    for person in (first, second):
        entries.enter(person, event, now=utcnow())
    db.session.commit()
    one, two = entry_of(first, event), entry_of(second, event)
    # The organizer may not confirm before the unions below have approved.
    assert "Only an approved entry" in login_client(app, organizer).post(
        f"/competitions/entries/{one.id}/confirm", follow_redirects=True).get_data(as_text=True)
    login_client(app, grassroots_a1).post(f"/competitions/entries/{one.id}/approve")
    login_client(app, grassroots_a2).post(f"/competitions/entries/{two.id}/approve")
    db.session.expire_all()
    assert (one.status, one.pending_union_id, one.quota_union_id) == ("submitted", tree.district_a.id, None)
    district_client = login_client(app, district)
    district_client.post(f"/competitions/entries/{one.id}/approve")
    page = district_client.post(f"/competitions/entries/{two.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "The quota of 东城区总工会 for this event is used up (1 places)" in page
    db.session.expire_all()
    assert (one.status, one.pending_union_id, one.quota_union_id) == ("approved", tree.city.id, tree.district_a.id)
    assert two.status == "submitted"
    org = login_client(app, organizer)
    org.post(f"/competitions/entries/{one.id}/confirm")
    assert status_of(one) == "confirmed" and db.session.get(CompetitionEvent, event.id).confirmed_count == 1
    # The organizer takes the first off the list: the district's place goes to the second.
    org.post(f"/competitions/entries/{one.id}/reject", data={"reason": "资格复核未通过"})
    db.session.expire_all()
    assert (one.status, one.quota_union_id, event.confirmed_count) == ("rejected", None, 0)
    district_client.post(f"/competitions/entries/{two.id}/approve")
    assert status_of(two) == "approved"
    assert kinds_for(first) == ["competition.entry"] * 4  # grassroots, district, confirmation, rejection
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == first.id)).all()
    assert titles[0].startswith("华东机电工会 approved") and "not approved" in titles[-1]
    steps = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Entry",
                                                               AuditEvent.object_id == one.id)).all()
    assert steps == ["competition.entry.submit", "competition.entry.approve", "competition.entry.approve",
                     "competition.entry.confirm", "competition.entry.reject"]


def test_quota_at_the_grassroots_approval_cap_at_confirmation_and_nomination(app, tree, make_competition, make_event,
                                                                             electrician, make_admin):
    competition = make_competition()
    event = make_event(competition, quota_depth=1, quota_per_union=2, overall_cap=2)
    a_people = [electrician(f"东{n}", tree.a1) for n in range(3)]
    b_person = electrician("西一", tree.b1)
    admin_a1, admin_b1, organizer = make_admin(tree.a1, "甲"), make_admin(tree.b1, "乙"), make_admin(tree.city, "市")
    for person in [*a_people, b_person]:
        entries.enter(person, event, now=utcnow())
    db.session.commit()
    a_entries = [entry_of(person, event) for person in a_people]
    a1 = login_client(app, admin_a1)
    for entry in a_entries:
        a1.post(f"/competitions/entries/{entry.id}/approve")
    assert [status_of(entry) for entry in a_entries] == ["approved", "approved", "submitted"]
    assert db.session.scalar(select(Quota.taken).filter_by(event_id=event.id, union_id=tree.district_a.id)) == 2
    # A rejection at the grassroots frees nothing (no place held); withdrawing an approved entry frees its place.
    login_client(app, a_people[0]).post(f"/competitions/entries/{a_entries[0].id}/withdraw")
    a1.post(f"/competitions/entries/{a_entries[2].id}/approve")
    assert status_of(a_entries[2]) == "approved"
    login_client(app, admin_b1).post(f"/competitions/entries/{entry_of(b_person, event).id}/approve")
    org = login_client(app, organizer)
    for entry in [a_entries[1], a_entries[2], entry_of(b_person, event)]:
        org.post(f"/competitions/entries/{entry.id}/confirm")
    statuses = [status_of(entry) for entry in (a_entries[1], a_entries[2], entry_of(b_person, event))]
    assert statuses == ["confirmed", "confirmed", "approved"]  # the cap of 2 holds
    venue = org.get(f"/competitions/{competition.id}/entries/print?event={event.id}").get_data(as_text=True)
    assert "东1" in venue and "东2" in venue and "西一" not in venue and "东0" not in venue
    summary = org.get(f"/competitions/{competition.id}/entries/summary").get_data(as_text=True)
    counts = sorted((row.get("data-status"), int(row.get("data-count") or 0))
                    for row in elements(summary, "tr") if "data-summary-row" in row.attrs)
    assert counts == [("approved", 1), ("confirmed", 2), ("withdrawn", 1)]  # B1 approved; A1 confirmed, withdrawn
    # Direct nomination: the grassroots admin's step is approved with it, taking B's district place.
    nominee = electrician("西二", tree.b1)
    page = login_client(app, admin_b1).post(f"/competitions/{competition.id}/nominate",
                                            data={"event_id": event.id, "mobile": nominee.mobile},
                                            follow_redirects=True).get_data(as_text=True)
    assert "西二 is nominated" in page
    nominated = entry_of(nominee, event)
    assert (nominated.status, nominated.nominated_by_id, nominated.quota_union_id) == (
        "approved", admin_b1.id, tree.district_b.id)
    refused = login_client(app, admin_b1).post(f"/competitions/{competition.id}/nominate",
                                               data={"event_id": event.id, "mobile": a_people[0].mobile},
                                               follow_redirects=True).get_data(as_text=True)
    assert "No member of your unions has this mobile number" in refused


def confirmed_entries(event, people, union, *, team_name=None) -> Entry:
    """A confirmed entry of these people (the first the captain), written directly."""
    entry = Entry(event_id=event.id, competition_id=event.competition_id, applicant_id=people[0].id,
                  team_name=team_name, nominating_union_id=union.id, status="confirmed", submitted_at=utcnow(),
                  confirmed_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    db.session.add_all([EntryMember(entry_id=entry.id, event_id=event.id, user_id=person.id, is_captain=index == 0,
                                    status="accepted", is_active=True) for index, person in enumerate(people)])
    return entry


def print_numbers(page: str) -> list[str]:
    """The numbers of the venue list's lines, in order ("" for a team member's line after the first)."""
    return [row.get("data-number", "") or "" for row in elements(page, "tr") if "data-print-entry" in row.attrs]


def test_the_venue_list_prints_every_confirmed_entry_in_a_constant_number_of_queries(
        app, tree, make_competition, make_event, make_user, make_admin):
    competition = make_competition()
    event = make_event(competition)
    team_event = make_event(competition, "配电运维（团体赛）", is_team=True, team_min=2, team_max=2)
    org = login_client(app, make_admin(tree.city, "市总管理员"))
    url = f"/competitions/{competition.id}/entries/print?event={event.id}"
    for number in range(3):
        confirmed_entries(event, [make_user(f"早{number}")], tree.a1)
    db.session.commit()
    org.get(url)  # the first request of a session does one-off work
    with QueryCounter() as few:
        assert org.get(url).status_code == 200
    for number in range(130):  # more than any page size
        confirmed_entries(event, [make_user(f"选手{number}")], tree.b1 if number % 2 else tree.a1)
    waiting = confirmed_entries(event, [make_user("待确认")], tree.a1)
    waiting.status = "approved"
    db.session.commit()
    with QueryCounter() as many:
        response = org.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and many.count == few.count
    assert page.count("data-print-entry=") == 133 and "选手129" in page and "早0" in page and "待确认" not in page
    assert print_numbers(page) == [str(number) for number in range(1, 134)] and "Next" not in page  # no pages
    assert response.headers["Cache-Control"].count("no-store") == 1
    # A team prints one line per member, numbered once; a grassroots admin prints only their own.
    captain, mate = make_user("队长甲"), make_user("队员乙")
    confirmed_entries(team_event, [captain, mate], tree.a1, team_name="东城一队")
    db.session.commit()
    team_page = org.get(f"/competitions/{competition.id}/entries/print?event={team_event.id}").get_data(as_text=True)
    assert "东城一队: 队长甲" in team_page and "队员乙" in team_page and "东城一队: 队员乙" not in team_page
    assert print_numbers(team_page) == ["1", ""]  # the captain's line is numbered, the member's not
    own = login_client(app, make_admin(tree.b1, "银泰管理员")).get(url).get_data(as_text=True)
    assert own.count("data-print-entry=") == 65 and "早0" not in own


def test_other_districts_entries_cannot_be_seen_or_decided_by_url(app, tree, make_competition, make_event,
                                                                   electrician, make_admin):
    competition = make_competition()
    event = make_event(competition)
    worker = electrician("李电工", tree.a1)
    entries.enter(worker, event, now=utcnow())
    db.session.commit()
    entry = entry_of(worker, event)
    other = login_client(app, make_admin(tree.district_b, "西城管理员"))
    assert other.get(f"/competitions/entries/{entry.id}").status_code == 404
    for decision in ("approve", "reject", "confirm"):
        assert other.post(f"/competitions/entries/{entry.id}/{decision}", data={"reason": "x"}).status_code == 404
    assert status_of(entry) == "submitted"
    listing = other.get(f"/competitions/{competition.id}/entries").get_data(as_text=True)
    assert "李电工" not in listing and f'data-admin-entry="{entry.id}"' not in listing
    sheet = load_workbook(io.BytesIO(other.get(f"/competitions/{competition.id}/entries.xlsx").data)).active
    assert sheet.max_row == 1
    assert other.get("/competitions/approvals").get_data(as_text=True).count("data-admin-entry") == 0
    assert other.get(f"/competitions/{competition.id}/manage").status_code == 404
    denied = db.session.scalars(select(AuditEvent.object_type).where(AuditEvent.action == "scope.denied")).all()
    assert denied.count("Entry") == 4 and "Competition" in denied
    own = login_client(app, make_admin(tree.district_a, "东城管理员"))
    assert f'data-admin-entry="{entry.id}"' in own.get("/competitions/approvals").get_data(as_text=True)
    assert own.get(f"/competitions/entries/{entry.id}").status_code == 200


def test_export_masks_mobiles_by_rights_and_neutralizes_formulas(app, tree, make_competition, make_event,
                                                                  electrician, make_admin):
    competition = make_competition()
    event = make_event(competition, "=HYPERLINK(\"http://x\")", is_team=True, team_min=1, team_max=2)
    worker = electrician("李电工", tree.a1)
    entries.create_team(worker, event, "+SUM(A1)队", now=utcnow())
    db.session.commit()
    xlsx = login_client(app, make_admin(tree.a1)).get(f"/competitions/{competition.id}/entries.xlsx").data
    row = load_workbook(io.BytesIO(xlsx)).active[2]
    assert row[4].value == worker.mobile
    assert_inert_cell(row[0], event.name)
    assert_inert_cell(row[2], "+SUM(A1)队")
    assert assert_xlsx_inert(xlsx) == 2
    above = load_workbook(io.BytesIO(login_client(app, make_admin(tree.district_a)).get(
        f"/competitions/{competition.id}/entries.xlsx").data)).active
    assert [cell.value for cell in above[2]][4] == worker.mobile  # the district administers A1's members too
    scorer = load_workbook(io.BytesIO(login_client(app, make_admin(tree.district_b)).get(
        f"/competitions/{competition.id}/entries.xlsx").data)).active  # no entry of theirs: no row at all
    assert scorer.max_row == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "competition.entries.export")) == 3


# ---- results -------------------------------------------------------------------------------------------

def test_ranks_share_ties_and_awards_follow_the_rule():
    totals = [Decimal("90"), Decimal("95.5"), Decimal("90"), None, Decimal("80"), Decimal("99")]
    ranks = results.competition_ranks(totals)
    assert ranks == [3, 2, 3, None, 5, 1]
    rule = {"first": 1, "second": 2, "third": 3, "merit": 0}
    assert [results.award_for(rank, rule) for rank in [1, 2, 2, 4, 6, 7, None]] == [
        "first", "second", "second", "third", "third", None, None]
    assert [results.award_for(rank, {"first": 1, "second": 0, "third": 1}) for rank in (1, 1, 2, 3)] == [
        "first", "first", "third", None]
    assert results.weighted_total([(Decimal("80"), 30), (Decimal("91.5"), 70)]) == Decimal("88.05")


@pytest.fixture
def confirmed_field(tree, make_competition, make_event, electrician, make_admin):
    """A running competition (theory 30 %, practical 70 %) with four confirmed entrants of A1 and its organizer."""
    competition = make_competition()
    now = utcnow()
    theory = Stage(competition_id=competition.id, name="理论", kind="theory", starts_at=now + timedelta(days=20),
                   ends_at=now + timedelta(days=20, hours=2), venue="线上", weight=30)
    practice = Stage(competition_id=competition.id, name="实操", kind="practical", starts_at=now + timedelta(days=30),
                     ends_at=now + timedelta(days=30, hours=4), venue="市职工技能实训基地", weight=70)
    db.session.add_all([theory, practice])
    db.session.commit()
    event = make_event(competition, award_rule=dict(AWARD_RULE), honor_title="技术能手", honor_title_top=1,
                       promotion_award="first")
    organizer = make_admin(tree.city, "市总管理员")
    people = [electrician(name, tree.a1, skill_level=4) for name in ("张三明", "李四", "王五", "赵六")]
    for person in people:
        entry = entries.enter(person, event, now=now)
        entry = approvals.approve(entry, actor=organizer, now=now)
        approvals.confirm(entry, actor=organizer, now=now)
    db.session.commit()
    return competition, event, (theory, practice), organizer, people


def test_scores_rank_award_and_override(app, confirmed_field):
    competition, event, (theory, practice), organizer, people = confirmed_field
    ids = [entry_of(person, event).id for person in people]
    client = login_client(app, organizer)
    form = {f"score-{ids[0]}-{theory.id}": "90", f"score-{ids[0]}-{practice.id}": "90",  # 90.00
            f"score-{ids[1]}-{theory.id}": "100", f"score-{ids[1]}-{practice.id}": "85",  # 89.50
            f"score-{ids[2]}-{theory.id}": "80", f"score-{ids[2]}-{practice.id}": "92.5",  # 88.75
            f"score-{ids[3]}-{theory.id}": "95", f"score-{ids[3]}-{practice.id}": "85"}  # 88.00
    assert client.post(f"/competitions/events/{event.id}/scores", data={**form, f"score-{ids[0]}-{theory.id}": "x"}
                       ).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0  # one bad score: nothing saved
    client.post(f"/competitions/events/{event.id}/scores", data=form)
    ranked = {entry.id: entry for entry in db.session.scalars(select(Entry).where(Entry.event_id == event.id))}
    assert [(ranked[i].total, ranked[i].rank, ranked[i].award) for i in ids] == [
        (Decimal("90.00"), 1, "first"), (Decimal("89.50"), 2, "second"), (Decimal("88.75"), 3, "second"),
        (Decimal("88.00"), 4, "third")]
    assert ranked[ids[0]].honor_title == "技术能手" and ranked[ids[1]].honor_title is None
    # A tie: 王五 rises to 89.50, sharing rank 2 with 李四; 赵六 stays 4th.
    client.post(f"/competitions/events/{event.id}/scores", data={f"score-{ids[2]}-{theory.id}": "82.555"})
    assert db.session.scalar(select(Entry.rank).where(Entry.id == ids[2])) == 3  # three decimals: refused
    client.post(f"/competitions/events/{event.id}/scores", data={f"score-{ids[2]}-{theory.id}": "82.5"})
    db.session.expire_all()
    assert [db.session.get(Entry, i).rank for i in ids] == [1, 2, 2, 4]
    assert [db.session.get(Entry, i).award for i in ids] == ["first", "second", "second", "third"]
    the_competition_is_over(competition)  # awards by hand wait for the last round
    client.post(f"/competitions/entries/{ids[3]}/award", data={"award": "merit", "honor_title": "岗位能手"})
    client.post(f"/competitions/events/{event.id}/scores", data={f"score-{ids[3]}-{theory.id}": "96"})
    db.session.expire_all()
    last = db.session.get(Entry, ids[3])
    assert (last.award, last.honor_title, last.is_award_manual) == ("merit", "岗位能手", True)
    client.post(f"/competitions/entries/{ids[3]}/award", data={"award": "rule"})
    db.session.expire_all()
    assert (db.session.get(Entry, ids[3]).award, db.session.get(Entry, ids[3]).is_award_manual) == ("third", False)


def _sheet(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_score_import_is_all_or_nothing(app, confirmed_field):
    competition, event, (theory, practice), organizer, people = confirmed_field
    client = login_client(app, organizer)
    bad = _sheet([["手机号", "姓名", "理论", "实操"], [people[0].mobile, "张三明", 90, 88],
                  ["13000000000", "", 80, 80], [people[1].mobile, "王五", 70, 70], ["", "李四", 101, 60],
                  [people[0].mobile, "", 1, 1]])
    response = client.post(f"/competitions/events/{event.id}/scores/import",
                           data={"file": (io.BytesIO(bad), "scores.xlsx")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Row 3: 13000000000 is not in a confirmed entry" in page and "Row 4: the name 王五 does not match" in page
    assert "Row 5: A score is a number from 0 to 100" in page and "Row 6: appears twice" in page
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    # The sheet to fill in is headed in the reader's language; the import takes either.
    english = load_workbook(io.BytesIO(client.get(f"/competitions/events/{event.id}/scores.xlsx").data)).active
    assert [cell.value for cell in english[1]] == ["Entry", "Name", "Mobile", "理论", "实操"]
    template = load_workbook(io.BytesIO(client.get(f"/competitions/events/{event.id}/scores.xlsx?lang=zh_CN").data)
                             ).active
    header = [cell.value for cell in template[1]]
    assert header == ["编号", "姓名", "手机号", "理论", "实操"] and template.max_row == 5
    good = _sheet([header, *[[row[0].value, row[1].value, "", 60 + index, 70] for index, row in
                             enumerate(template.iter_rows(min_row=2))]])
    client.post(f"/competitions/events/{event.id}/scores/import", data={"file": (io.BytesIO(good), "s.xlsx")},
                content_type="multipart/form-data")
    assert db.session.scalar(select(func.count()).select_from(Score)) == 8
    assert db.session.scalar(select(func.count()).select_from(Entry).where(Entry.rank == 1)) == 1
    # An English sheet (read back by a Chinese reader) and a sheet keyed by mobile only.
    by_number = _sheet([[cell.value for cell in english[1]], *[[row[0].value, row[1].value, "", 90 - index, 80]
                                                              for index, row in enumerate(english.iter_rows(min_row=2))]])
    client.post(f"/competitions/events/{event.id}/scores/import", data={"file": (io.BytesIO(by_number), "en.xlsx")},
                content_type="multipart/form-data")
    first = db.session.scalar(select(Entry).where(Entry.event_id == event.id, Entry.rank == 1))
    assert first.id == english.cell(row=2, column=1).value and first.total == Decimal("83.00")  # 90 × .3 + 80 × .7
    by_mobile = _sheet([["Mobile", "理论"], [people[3].mobile, 100]])
    client.post(f"/competitions/events/{event.id}/scores/import", data={"file": (io.BytesIO(by_mobile), "m.xlsx")},
                content_type="multipart/form-data")
    assert db.session.scalar(select(Score.points).where(Score.entry_id == entry_of(people[3], event).id,
                                                        Score.stage_id == theory.id)) == Decimal(100)
    unheaded = client.post(f"/competitions/events/{event.id}/scores/import",
                           data={"file": (io.BytesIO(_sheet([["谁", "理论"], ["x", 1]])), "u.xlsx")},
                           content_type="multipart/form-data")
    error = unheaded.get_data(as_text=True).split("data-import-errors>", 1)[1].split("</ul>", 1)[0]
    assert unheaded.status_code == 422 and all(name in error for name in ("编号", "手机号", "姓名"))  # the reader's words


@pytest.mark.parametrize("app_config", [{"UPLOAD_MAX_ROWS": 10, "UPLOAD_MAX_COLUMNS": 5, "UPLOAD_MAX_CELL_CHARS": 40}])
def test_score_sheet_past_the_upload_limits_is_refused_naming_the_limit(app, confirmed_field):
    _competition, event, _stages, organizer, people = confirmed_field
    client = login_client(app, organizer)
    header = ["手机号", "理论"]
    cases = [([header, *[[people[0].mobile, "90"]] * 10], "The file has more than 10 rows"),
             ([header, [people[0].mobile, "90", "", "", "", "x"]], "Row 2 has more than 5 columns"),
             ([header, [people[0].mobile, "9" * 41]], "Row 2 has a cell longer than 40 characters")]
    for rows, words in cases:
        text = "".join(",".join(row) + "\n" for row in rows).encode()
        for data, name in ((text, "scores.csv"), (_sheet(rows), "scores.xlsx")):
            response = client.post(f"/competitions/events/{event.id}/scores/import",
                                   data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
            assert response.status_code == 422 and words in response.get_data(as_text=True), (name, words)
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0


def test_publishing_results_masks_names_issues_certificates_and_records_promotions(app, client, confirmed_field):
    competition, event, (theory, practice), organizer, people = confirmed_field
    ids = [entry_of(person, event).id for person in people]
    scores = {ids[0]: {theory.id: Decimal(99), practice.id: Decimal(99)},
              ids[1]: {theory.id: Decimal(80), practice.id: Decimal(80)}}
    results.record_scores(event, scores, actor=organizer, now=utcnow())
    db.session.commit()
    assert client.get(f"/competitions/{competition.id}/results").status_code == 404  # not yet published
    the_competition_is_over(competition)
    org = login_client(app, organizer)
    org.post(f"/competitions/{competition.id}/results/publish")
    assert db.session.get(Competition, competition.id).status == "results_published"
    page = client.get(f"/competitions/{competition.id}/results").get_data(as_text=True)
    assert "张*明" in page and "张三明" not in page and "李*" in page
    assert 'data-rank="1"' in page and 'data-award="first"' in page and "技术能手" in page
    winner = people[0]
    assert "competition.results" in kinds_for(winner)
    mine = login_client(app, winner).get(f"/competitions/entries/{ids[0]}").get_data(as_text=True)
    assert 'data-award="first"' in mine and 'data-promotion="pending"' in mine
    promotion = db.session.scalar(select(PromotionRecord).filter_by(user_id=winner.id))
    assert (promotion.from_level, promotion.level, promotion.status) == (4, 3, "pending")
    assert db.session.scalar(select(func.count()).select_from(PromotionRecord)) == 1  # second prize: none
    jobs.effective_promotions(now=utcnow())
    assert db.session.get(PromotionRecord, promotion.id).status == "pending"
    verified_certificate(winner, level=3, issued_on=local_today(app))
    assert jobs.effective_promotions(now=utcnow()) == 1
    assert db.session.get(PromotionRecord, promotion.id).status == "effective"
    member = db.session.scalar(select(EntryMember).filter_by(entry_id=ids[0], user_id=winner.id))
    from courses.certificates import verification as certificates

    certificate = db.session.get(certificates.Certificate, member.certificate_id)
    assert certificate.kind == "award" and certificate.competition_id == competition.id
    assert certificates.signature_holds(certificate)
    verify = client.get(f"/verify?serial={certificate.serial}")
    body = verify.get_data(as_text=True)
    assert verify.status_code == 200 and "张*明" in body and 'data-award' in body and "valid" in body.lower()
    pdf = login_client(app, winner).get(f"/certificates/{certificate.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    badge = login_client(app, winner).get(f"/certificates/{certificate.id}/badge.jwt")
    assert badge.status_code == 200


def _published_with_a_promotion(confirmed_field, app) -> tuple[User, PromotionRecord]:
    competition, event, (theory, practice), organizer, people = confirmed_field
    first = entry_of(people[0], event)
    results.record_scores(event, {first.id: {theory.id: Decimal(99), practice.id: Decimal(99)}}, actor=organizer,
                          now=utcnow())
    the_competition_is_over(competition)
    publication.publish_results(competition, actor=organizer, now=utcnow())
    db.session.commit()
    return people[0], db.session.scalar(select(PromotionRecord).filter_by(user_id=people[0].id))


def test_a_promotion_takes_effect_only_with_a_certificate_issued_on_or_after_the_award(app, confirmed_field):
    winner, promotion = _published_with_a_promotion(confirmed_field, app)
    assert (promotion.level, promotion.status) == (3, "pending")
    today = local_today(app)
    verified_certificate(winner, level=3, issued_on=today - timedelta(days=1))  # held before the award
    verified_certificate(winner, level=2, issued_on=date(2020, 5, 1))  # even a higher one
    verified_certificate(winner, level=4, issued_on=today)  # after, but below the promoted level
    assert results.effective_promotions(now=utcnow()) == 0
    db.session.commit()
    assert db.session.get(PromotionRecord, promotion.id).status == "pending"
    verified_certificate(winner, level=3, issued_on=today)  # the new certificate, on the day of the award
    now = utcnow()
    assert results.effective_promotions(now=now) == 1
    db.session.commit()
    db.session.expire_all()
    done = db.session.get(PromotionRecord, promotion.id)
    assert (done.status, done.effective_at) == ("effective", now)
    assert results.effective_promotions(now=utcnow()) == 0  # once


def test_the_scheduled_promotion_scan_ignores_certificates_issued_before_the_award(app, confirmed_field):
    winner, promotion = _published_with_a_promotion(confirmed_field, app)
    verified_certificate(winner, level=3, issued_on=local_today(app) - timedelta(days=1))
    jobs.effective_promotions(now=utcnow())
    assert db.session.get(PromotionRecord, promotion.id).status == "pending"


# ---- public pages ---------------------------------------------------------------------------------

def test_public_pages_list_what_each_viewer_may_see(app, client, tree, make_competition, make_event, electrician):
    city = make_competition("全市技能大赛")
    district = make_competition("东城区岗位练兵", organizer=tree.district_a, level="district")
    draft = make_competition("未发布", status="draft")
    hostile = make_competition('<img src=x onerror="alert(1)">', notice_md="[x](javascript:alert(1)) <script>1</script>")
    west = make_competition("西城区岗位练兵", organizer=tree.district_b, level="district")
    shop = make_competition("银泰商场技能比武", organizer=tree.b1, level="enterprise")
    visitor = client.get("/competitions/").get_data(as_text=True)
    assert all(title in visitor for title in ("全市技能大赛", "东城区岗位练兵", "西城区岗位练兵", "银泰商场技能比武"))
    assert "未发布" not in visitor and "data-competition-tabs" not in visitor
    assert_inert(visitor)
    worker = login_client(app, electrician("李电工", tree.a1))
    listing = worker.get("/competitions/").get_data(as_text=True)  # those for the worker's unions first
    assert "东城区岗位练兵" in listing and "全市技能大赛" in listing and "西城区岗位练兵" not in listing
    everything = worker.get("/competitions/?show=all").get_data(as_text=True)
    assert "西城区岗位练兵" in everything and "银泰商场技能比武" in everything and "未发布" not in everything
    # Every published notice is public, whatever its level; drafts are not.
    for competition in (district, west, shop):
        assert client.get(f"/competitions/{competition.id}").status_code == 200
    assert client.get(f"/competitions/{draft.id}").status_code == 404
    assert worker.get(f"/competitions/{draft.id}").status_code == 404
    notice = client.get(f"/competitions/{hostile.id}").get_data(as_text=True)
    assert_inert(notice)
    assert "Log in to enter" not in notice  # no events yet
    make_event(city)
    assert "Log in to enter" in client.get(f"/competitions/{city.id}").get_data(as_text=True)


@pytest.mark.parametrize("level", ["enterprise", "district"])
def test_results_below_the_city_are_public_once_published_with_names_masked(
        app, client, tree, make_competition, make_event, electrician, make_admin, level):
    organizer_union = tree.a1 if level == "enterprise" else tree.district_a
    competition = make_competition("岗位练兵", organizer=organizer_union, level=level)
    event = make_event(competition)
    stage = Stage(competition_id=competition.id, name="实操", kind="practical", starts_at=utcnow(),
                  ends_at=utcnow() + timedelta(hours=2), weight=100)
    db.session.add(stage)
    organizer = make_admin(organizer_union, "组织者")
    worker = electrician("张三明", tree.a1)
    entry = entries.enter(worker, event, now=utcnow())
    if entry.status == "submitted":  # the enterprise's own union organizes: no step below it
        entry = approvals.approve(entry, actor=organizer, now=utcnow())
    approvals.confirm(entry, actor=organizer, now=utcnow())
    results.record_scores(event, {entry.id: {stage.id: Decimal(95)}}, actor=organizer, now=utcnow())
    db.session.commit()
    assert client.get(f"/competitions/{competition.id}").status_code == 200
    assert client.get(f"/competitions/{competition.id}/results").status_code == 404  # not yet published
    the_competition_is_over(competition)
    publication.publish_results(competition, actor=organizer, now=utcnow())
    db.session.commit()
    page = client.get(f"/competitions/{competition.id}/results").get_data(as_text=True)
    assert "张*明" in page and "张三明" not in page and 'data-rank="1"' in page
    outsider = login_client(app, electrician("王外区", tree.b1))
    assert outsider.get(f"/competitions/{competition.id}/results").status_code == 200
    # Entry pages stay with the unions concerned.
    other_admin = login_client(app, make_admin(tree.district_b, "西城管理员"))
    assert other_admin.get(f"/competitions/{competition.id}/entries").status_code == 404
    assert other_admin.get(f"/competitions/{competition.id}/entries/print?event={event.id}").status_code == 404


def test_an_event_requires_only_a_published_course(app, tree, make_competition, make_admin, make_course):
    """A draft (or a course under review) is nobody's to complete, and its title not the organizer's
    to read: naming it is refused; a published course is accepted."""
    draft = make_course("东城内部草稿课程", scope=tree.a1, status="draft")
    published = make_course("低压电工作业")
    competition = make_competition("西城区电工竞赛", organizer=tree.district_b, status="draft", level="district")
    organizer = login_client(app, make_admin(tree.district_b, "西城管理员"))
    form = {"name": "电工", "trade": "电工", "requires_active_membership": "y", "award_first": "1"}
    page = organizer.post(f"/competitions/{competition.id}/events/new",
                          data={**form, "required_course_id": str(draft.id)}).get_data(as_text=True)
    assert "Choose a published course." in page
    assert db.session.scalar(select(func.count()).select_from(CompetitionEvent)) == 0
    assert "东城内部草稿课程" not in organizer.get(f"/competitions/{competition.id}").get_data(as_text=True)
    elsewhere = make_course("东城区内部课程", scope=tree.district_a)  # published, but not for 西城's members
    page = organizer.post(f"/competitions/{competition.id}/events/new",
                          data={**form, "required_course_id": str(elsewhere.id)}).get_data(as_text=True)
    assert "Choose a course open to all members of 西城区总工会." in page
    assert db.session.scalar(select(func.count()).select_from(CompetitionEvent)) == 0
    response = organizer.post(f"/competitions/{competition.id}/events/new",
                              data={**form, "required_course_id": str(published.id)})
    assert response.status_code == 302
    assert db.session.scalar(select(CompetitionEvent.required_course_id)) == published.id


def test_organizer_builds_and_publishes_a_competition_through_the_pages(app, tree, make_admin, electrician):
    organizer = login_client(app, make_admin(tree.district_a, "区总管理员"))
    form = {"title": "东城区电工技能竞赛", "year": "2026", "level": "district", "organizer_union_id": tree.city.id,
            "signup_opens_at": "2026-03-01T09:00", "signup_closes_at": "2026-02-01T09:00", "notice_md": "**通知**"}
    page = organizer.post("/competitions/new", data=form).get_data(as_text=True)
    assert "Choose a union you administer" in page
    page = organizer.post("/competitions/new", data={**form, "organizer_union_id": tree.district_a.id}).get_data(
        as_text=True)
    assert "Sign-up must close after it opens" in page
    response = organizer.post("/competitions/new", data={**form, "organizer_union_id": tree.district_a.id,
                                                          "signup_closes_at": "2026-03-20T18:00"})
    competition = db.session.scalar(select(Competition))
    assert response.headers["Location"].endswith(f"/competitions/{competition.id}/manage")
    assert competition.signup_opens_at.hour == 1  # 09:00 in Shanghai is 01:00 UTC
    assert "Add at least one event" in organizer.post(f"/competitions/{competition.id}/publish",
                                                      follow_redirects=True).get_data(as_text=True)
    organizer.post(f"/competitions/{competition.id}/stages/new", data={
        "name": "实操决赛", "kind": "practical", "starts_at": "2026-04-10T09:00", "ends_at": "2026-04-10T12:00",
        "venue": "区职工技能实训基地", "weight": "100"})
    page = organizer.post(f"/competitions/{competition.id}/events/new", data={
        "name": "电工", "trade": "电工", "quota_depth": "1", "min_skill_level": "3"}).get_data(as_text=True)
    assert "Set both the level of the quota unions" in page
    page = organizer.post(f"/competitions/{competition.id}/events/new", data={
        "name": "电工", "trade": "电工", "quota_depth": "2", "quota_per_union": "5", "min_skill_level": "3",
        "overall_cap": "12", "award_first": "1", "award_second": "2", "award_third": "3", "award_merit": "0",
        "requires_active_membership": "y"})
    event = db.session.scalar(select(CompetitionEvent))
    assert (event.quota_depth, event.quota_per_union, event.min_skill_level, event.award_rule["second"]) == (2, 5, 3, 2)
    upload = organizer.post(f"/competitions/{competition.id}/files", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(b"%PDF-1.4 rules"), "竞赛规程.pdf")})
    assert upload.status_code == 302
    organizer.post(f"/competitions/{competition.id}/publish")
    assert db.session.get(Competition, competition.id).status == "published"
    public = login_client(app, electrician("李电工", tree.a1)).get(f"/competitions/{competition.id}")
    assert "竞赛规程.pdf" in public.get_data(as_text=True) and "<strong>通知</strong>" in public.get_data(as_text=True)
    attachment_id = competition.attachments[0].id
    file = login_client(app, electrician("王电工", tree.a2)).get(
        f"/competitions/{competition.id}/files/{attachment_id}")
    assert file.data == b"%PDF-1.4 rules" and "attachment" in file.headers["Content-Disposition"]
    outsider = login_client(app, make_admin(tree.district_b, "西城"))
    assert outsider.post(f"/competitions/{competition.id}/events/new", data={"name": "x"}).status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id.is_not(None))))
    assert {"competition.create", "competition.stage.save", "competition.event.save", "competition.file.add",
            "competition.publish"} <= actions


# ---- reminders ------------------------------------------------------------------------------------

def test_reminders_reach_followers_admins_and_entrants_once(app, tree, make_competition, make_event, electrician,
                                                            make_admin):
    now = utcnow()
    competition = make_competition(signup_closes_at=now + timedelta(days=2))
    event = make_event(competition)
    follower, entrant, confirmed = (electrician(name, tree.a1) for name in ("关注者", "已报名", "已确认"))
    admin, organizer = make_admin(tree.a1, "基层管理员"), make_admin(tree.city, "市总")
    for person in (follower, entrant):
        db.session.add(CompetitionFollow(user_id=person.id, competition_id=competition.id, created_at=now))
    db.session.commit()
    entries.enter(entrant, event, now=now)
    entry = approvals.approve(entries.enter(confirmed, event, now=now), actor=organizer, now=now)
    approvals.confirm(entry, actor=organizer, now=now)
    db.session.add(Stage(competition_id=competition.id, name="实操决赛", kind="practical", venue="市职工技能实训基地",
                         starts_at=now + timedelta(hours=20), ends_at=now + timedelta(hours=23)))
    db.session.commit()
    assert jobs.closing_reminders(now=now) == 3  # the follower; the admins who may decide the entrant's entry
    assert jobs.closing_reminders(now=now) == 0
    closing = db.session.scalars(select(Notification.user_id).where(Notification.kind == "competition.closing")).all()
    assert sorted(closing) == sorted([follower.id, admin.id, organizer.id])
    assert jobs.stage_reminders(now=now) == 1 and jobs.stage_reminders(now=now) == 0
    stage = db.session.scalar(select(Notification).where(Notification.kind == "competition.stage"))
    assert stage.user_id == confirmed.id and "实操决赛" in stage.title and "市职工技能实训基地" in stage.body
    assert jobs.waiting_entries(now) == {admin.id: {"entries": 1}, organizer.id: {"entries": 1}}
    home = login_client(app, admin).get("/").get_data(as_text=True)
    assert 'data-waiting-entries="1"' in home
