"""Competition quota race over real HTTP, against gunicorn with several workers on PostgreSQL.

Each trial: a new event (quota 5 per district union, overall cap 12) with 100 pending entries from
3 districts (3 grassroots unions each). The 9 grassroots admins fire all 100 approvals at once
(threads behind a barrier), then the organizer fires every confirmation at once. Every trial must
give exactly 5 approved per district, 12 confirmed, 0 errors (each answer a redirect).

    .venv/bin/python -m benchmarks.competition_quota [--trials 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar

import sqlalchemy as sa

from benchmarks.common import NoRedirect, database, gunicorn, record, row

PASSWORD = "Gonghui#2026"
ENTRIES, QUOTA, CAP = 100, 5, 12


def build_schema_and_people(url: str) -> dict:
    """Tables from the models (the competitions migration is the lead's), the tree, 100 workers, the
    admins and one published competition."""
    from classroom import create_app
    from classroom.accounts.models import Role, RoleGrant, User
    from classroom.extensions import db
    from classroom.security import hash_password
    from classroom.unions.models import Membership
    from classroom.unions.tree import create_union
    from courses.competitions.models import Competition

    app = create_app("testing", DATABASE_URL=url)
    with app.app_context():
        db.create_all()
        now, secret = datetime.now(UTC), hash_password(PASSWORD)
        city = create_union(None, "市总工会", "city", code="BCITY")
        districts = [create_union(city, f"第{d}区总工会", "district", code=f"BD{d}") for d in range(3)]
        grassroots = [create_union(districts[d], f"第{d}区第{g}工会", "grassroots", code=f"BG{d}{g}")
                      for d in range(3) for g in range(3)]
        people = [User(real_name=f"选手{i}", mobile=f"137{i:08d}", password_hash=secret, skill_level=3,
                       birth_year=1990, created_at=now) for i in range(ENTRIES)]
        admins = [User(real_name=f"管理员{i}", mobile=f"136{i:08d}", password_hash=secret, created_at=now)
                  for i in range(len(grassroots) + 1)]
        db.session.add_all(people + admins)
        db.session.flush()
        db.session.add_all([Membership(user_id=person.id, union_id=grassroots[i % 9].id, status="active",
                                       member_no=f"B{person.id}", applied_at=now, started_at=now)
                            for i, person in enumerate(people)])
        db.session.add_all([RoleGrant(user_id=admin.id, role=Role.UNION_ADMIN, union_id=union.id)
                            for admin, union in zip(admins, [*grassroots, city], strict=True)])
        competition = Competition(title="全市职工职业技能大赛", year=now.year, level="city", organizer_union_id=city.id,
                                  status="published", signup_opens_at=now - timedelta(days=1),
                                  signup_closes_at=now + timedelta(days=30), created_at=now, updated_at=now)
        db.session.add(competition)
        db.session.commit()
        result = {"competition": competition.id, "districts": [d.id for d in districts],
                  "people": [(person.id, grassroots[i % 9].id) for i, person in enumerate(people)],
                  "admins": {union.id: admin.mobile for admin, union in zip(admins[:-1], grassroots, strict=True)},
                  "organizer": admins[-1].mobile}
        db.engine.dispose()
    return result


def new_trial(engine, setup: dict, trial: int) -> tuple[int, list[tuple[int, int]]]:
    """A new event and its 100 pending entries: [(entry id, grassroots union id)]."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        event_id = connection.execute(sa.text(
            "INSERT INTO competition_event (competition_id, trade, name, is_team, requires_active_membership, "
            "quota_depth, quota_per_union, overall_cap, confirmed_count, award_rule) VALUES (:c, '电工', :name, "
            "false, true, 1, :quota, :cap, 0, '{}') RETURNING id"),
            {"c": setup["competition"], "name": f"电工 {trial}", "quota": QUOTA, "cap": CAP}).scalar()
        made = []
        for user_id, union_id in setup["people"]:
            entry_id = connection.execute(sa.text(
                "INSERT INTO competition_entry (event_id, competition_id, applicant_id, nominating_union_id, "
                "pending_union_id, status, is_award_manual, created_at, submitted_at) VALUES (:e, :c, :u, :g, :g, "
                "'submitted', false, :now, :now) RETURNING id"),
                {"e": event_id, "c": setup["competition"], "u": user_id, "g": union_id, "now": now}).scalar()
            connection.execute(sa.text(
                "INSERT INTO competition_entry_member (entry_id, event_id, user_id, is_captain, status, is_active, "
                "invited_at) VALUES (:entry, :e, :u, true, 'accepted', true, :now)"),
                {"entry": entry_id, "e": event_id, "u": user_id, "now": now})
            made.append((entry_id, union_id))
    return event_id, made


class Session:
    """One log-in: its cookie and CSRF token, shared by the threads that post as this admin."""

    def __init__(self, base: str, mobile: str) -> None:
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/auth/login").read().decode()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        opener.open(base + "/auth/login", data=urllib.parse.urlencode(
            {"identifier": mobile, "password": PASSWORD, "csrf_token": token}).encode())
        page = opener.open(base + "/competitions/approvals").read().decode()
        self.token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        self.cookie = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
        self.base = base

    def post(self, path: str) -> int:
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(
            {"csrf_token": self.token}).encode(), headers={"Cookie": self.cookie})
        try:
            return urllib.request.build_opener(NoRedirect()).open(request).status
        except urllib.error.HTTPError as error:
            return error.code


def fire(calls: list[tuple[Session, str]]) -> tuple[list[int], float]:
    """Every POST at once; their statuses (or -1 for a failed connection) and the elapsed time."""
    barrier, statuses = threading.Barrier(len(calls)), [0] * len(calls)

    def run(index: int) -> None:
        session, path = calls[index]
        barrier.wait()
        try:
            statuses[index] = session.post(path)
        except Exception:  # noqa: BLE001 - counted as an error
            statuses[index] = -1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - started


def counts(engine, event_id: int, districts: list[int]) -> tuple[dict[int, int], int, int]:
    with engine.connect() as connection:
        approved = dict(connection.execute(sa.text(
            "SELECT quota_union_id, count(*) FROM competition_entry WHERE event_id=:e AND status IN "
            "('approved', 'confirmed') GROUP BY quota_union_id"), {"e": event_id}).all())
        confirmed = connection.execute(sa.text(
            "SELECT count(*) FROM competition_entry WHERE event_id=:e AND status='confirmed'"),
            {"e": event_id}).scalar()
        counter = connection.execute(sa.text("SELECT confirmed_count FROM competition_event WHERE id=:e"),
                                     {"e": event_id}).scalar()
    return {district: approved.get(district, 0) for district in districts}, confirmed, counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with database("competition") as url:
        failures = trials(url, args)
    record("competition_quota", [row("competition quota race: trials with 5 approved per district, 12 confirmed, "
                                     "0 errors", f"{args.trials - failures}/{args.trials}",
                                     target=f"{args.trials}/{args.trials}", met=not failures)])
    raise SystemExit(1 if failures else 0)


def trials(url: str, args) -> int:
    """Run the trials; how many failed."""
    setup = build_schema_and_people(url)
    engine = sa.create_engine(url)
    failures = 0
    with gunicorn(url, workers=args.workers, threads=4) as server:
        admins = {union_id: Session(server.base, mobile) for union_id, mobile in setup["admins"].items()}
        organizer = Session(server.base, setup["organizer"])
        for trial in range(1, args.trials + 1):
            event_id, made = new_trial(engine, setup, trial)
            statuses, approving = fire([(admins[union_id], f"/competitions/entries/{entry_id}/approve")
                                        for entry_id, union_id in made])
            per_district, _confirmed, _counter = counts(engine, event_id, setup["districts"])
            with engine.connect() as connection:
                waiting = connection.execute(sa.text(
                    "SELECT id FROM competition_entry WHERE event_id=:e AND status='approved'"),
                    {"e": event_id}).scalars().all()
            more, confirming = fire([(organizer, f"/competitions/entries/{entry_id}/confirm") for entry_id in waiting])
            _after, confirmed, counter = counts(engine, event_id, setup["districts"])
            errors = sum(status != 302 for status in statuses + more)
            ok = all(count == QUOTA for count in per_district.values()) and confirmed == counter == CAP and not errors
            failures += not ok
            print(f"trial {trial:2d}: approved per district {sorted(per_district.values())}, confirmed {confirmed} "
                  f"(counter {counter}), errors {errors}, approvals {approving * 1000:.0f} ms, "
                  f"confirmations {confirming * 1000:.0f} ms {'ok' if ok else 'FAILED'}")
    engine.dispose()
    print(f"{args.trials - failures}/{args.trials} trials correct")
    return failures

if __name__ == "__main__":
    main()
