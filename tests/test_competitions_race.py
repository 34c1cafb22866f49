"""The quota race: 100 pending entries from 3 districts (3 grassroots unions each), quota 5 per
district, cap 12. Every grassroots approval is fired at once, then every confirmation at once: each
district ends with exactly 5 approved, the event with exactly 12 confirmed, and no request fails.
Five trials (a new event each) on every backend; benchmarks/competition_quota.py runs 20 over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from classroom.accounts.models import Role, User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.unions.models import Membership, UnionKind
from courses.competitions.models import Competition, CompetitionEvent, Entry, EntryMember, Quota
from tests.concurrency import run_at_once
from tests.factories import login_client

WORKERS, QUOTA, CAP, TRIALS = 100, 5, 12, 5
SESSION_COOKIE = "classroom_session"


@pytest.fixture
def field(make_union, make_user, password_hash):
    """City → 3 districts → 3 grassroots unions each; 100 active members spread over them; an admin
    per grassroots union; the organizer at the city."""
    city = make_union("市总工会", UnionKind.CITY, code="RACE")
    districts = [make_union(f"第{d}区总工会", UnionKind.DISTRICT, city, code=f"RD{d}") for d in range(3)]
    grassroots = [make_union(f"第{d}区第{g}工会", parent=districts[d], code=f"RG{d}{g}")
                  for d in range(3) for g in range(3)]
    now = utcnow()
    workers = [User(real_name=f"选手{i}", mobile=f"137{i:08d}", password_hash=password_hash, locale="en",
                    skill_level=3, birth_year=1990, created_at=now) for i in range(WORKERS)]
    db.session.add_all(workers)
    db.session.flush()
    homes = [grassroots[i % len(grassroots)] for i in range(WORKERS)]
    db.session.add_all([Membership(user_id=worker.id, union_id=home.id, status="active", member_no=f"R{worker.id}",
                                   applied_at=now, started_at=now) for worker, home in zip(workers, homes, strict=True)])
    competition = Competition(title="全市职工职业技能大赛", year=now.year, level="city", organizer_union_id=city.id,
                              status="published", signup_opens_at=now - timedelta(days=1),
                              signup_closes_at=now + timedelta(days=10), created_at=now, updated_at=now)
    db.session.add(competition)
    db.session.commit()
    admins = {union.id: make_user(f"管理员{union.code}", role=(Role.UNION_ADMIN, union)) for union in grassroots}
    organizer = make_user("市总管理员", role=(Role.UNION_ADMIN, city))
    return competition, districts, workers, homes, admins, organizer


def clients_as(app, user, count: int) -> list:
    """``count`` test clients sharing one log-in (one rate-limited log-in instead of ``count``)."""
    first = login_client(app, user)
    cookie = first.get_cookie(SESSION_COOKIE).value
    clients = [first]
    for _ in range(count - 1):
        client = app.test_client()
        client.set_cookie(SESSION_COOKIE, cookie)
        clients.append(client)
    return clients


def pending_entries(competition, workers, homes) -> tuple[CompetitionEvent, list[int]]:
    now = utcnow()
    event = CompetitionEvent(competition_id=competition.id, name=f"电工 {now.isoformat()}", trade="电工", quota_depth=1,
                  quota_per_union=QUOTA, overall_cap=CAP, confirmed_count=0, award_rule={})
    db.session.add(event)
    db.session.flush()
    rows = [Entry(event_id=event.id, competition_id=competition.id, applicant_id=worker.id,
                  nominating_union_id=home.id, pending_union_id=home.id, status="submitted", created_at=now,
                  submitted_at=now, members=[EntryMember(event_id=event.id, user_id=worker.id, is_captain=True,
                                                         status="accepted", is_active=True, invited_at=now)])
            for worker, home in zip(workers, homes, strict=True)]
    db.session.add_all(rows)
    db.session.commit()
    return event, [row.id for row in rows]


def test_concurrent_approvals_and_confirmations_never_pass_quota_or_cap(app, field):
    competition, districts, workers, homes, admins, organizer = field
    per_admin = {union_id: iter(clients_as(app, admin, sum(home.id == union_id for home in homes)))
                 for union_id, admin in admins.items()}
    approvers = [next(per_admin[home.id]) for home in homes]  # approvers[i] administers worker i's union
    confirmers = clients_as(app, organizer, 3 * QUOTA)
    for trial in range(TRIALS):
        event, entry_ids = pending_entries(competition, workers, homes)
        urls = [f"/competitions/entries/{entry_id}/approve" for entry_id in entry_ids]
        answers = run_at_once(WORKERS, lambda i, urls=urls: approvers[i].post(urls[i]))
        assert [getattr(answer, "status_code", answer) for answer in answers] == [302] * WORKERS, trial
        approved = dict(db.session.execute(
            select(Entry.quota_union_id, func.count()).where(Entry.event_id == event.id, Entry.status == "approved")
            .group_by(Entry.quota_union_id)).all())
        assert approved == {district.id: QUOTA for district in districts}, trial
        taken = dict(db.session.execute(select(Quota.union_id, Quota.taken).where(Quota.event_id == event.id)).all())
        assert taken == approved, trial
        waiting = db.session.scalars(select(Entry.id).where(Entry.event_id == event.id, Entry.status == "approved")
                                     ).all()
        urls = [f"/competitions/entries/{entry_id}/confirm" for entry_id in waiting]
        answers = run_at_once(len(urls), lambda i, urls=urls: confirmers[i].post(urls[i]))
        assert [getattr(answer, "status_code", answer) for answer in answers] == [302] * len(urls), trial
        statuses = db.session.scalars(select(Entry.status).where(Entry.event_id == event.id)).all()
        assert (statuses.count("confirmed"), statuses.count("approved")) == (CAP, 3 * QUOTA - CAP), trial
        assert db.session.get(CompetitionEvent, event.id).confirmed_count == CAP, trial
