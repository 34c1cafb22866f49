"""The city hours report for a year (its total and its breakdown by district), warm, against the
plain SQL that sums the ledger's minutes for that year grouped by district (joining the union
tree), on PostgreSQL with 1,000,000 workers and 10,000,000 ledger entries. The figures must be
identical; the page must take ≤ 0.05 × the plain SQL.

    .venv/bin/python -m benchmarks.hours_report [--workers 1000000] [--entries 10000000]

The data comes from `flask seed-scale --workers N --hours-per-worker K` (users and memberships by
COPY, the ledger by INSERT … SELECT, the rollups built from it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import date

import sqlalchemy as sa

from benchmarks.common import ADMIN_URL, flask, fresh_database

PLAIN_SQL = """
SELECT d.id, sum(e.minutes)
FROM hours_entry e
JOIN trade_union g ON g.id = e.union_id
JOIN trade_union d ON d.parent_id = :city AND g.path LIKE d.path || '%'
WHERE e.earned_on BETWEEN :start AND :end
GROUP BY d.id ORDER BY d.id
"""


def seed(url: str, workers: int, entries: int) -> tuple[int, int, int]:
    """`flask seed-scale` with its hours extension; returns (city id, a site admin's id, the year)."""
    flask(url, "seed-scale", "--workers", str(workers), "--hours-per-worker", str(max(1, entries // workers)))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        admin = connection.execute(sa.text("SELECT min(id) FROM \"user\"")).scalar()
        connection.execute(sa.text("INSERT INTO role_grant (user_id, role, union_id, granted_at) "
                                   "VALUES (:user, 'site_admin', :city, now())"), {"user": admin, "city": city})
        year = connection.execute(sa.text("SELECT max(extract(year FROM earned_on))::int FROM hours_entry")).scalar()
    engine.dispose()
    return city, admin, year


def existing(url: str) -> tuple[int, int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        admin = connection.execute(sa.text("SELECT user_id FROM role_grant WHERE role = 'site_admin'")).scalar()
        year = connection.execute(sa.text("SELECT max(year) FROM hours_year")).scalar()
    engine.dispose()
    return city, admin, year


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cache-seconds", type=int, default=300,
                        help="REPORT_CACHE_SECONDS for the page (0: every request reads the rollups)")
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run seeded")
    parser.add_argument("--target-hours", type=int, default=40,
                        help="the city's annual target (so the page computes the share meeting it); 0: none")
    args = parser.parse_args()
    if args.reuse:
        url = sa.engine.make_url(ADMIN_URL).set(database="classroom_bench_hours").render_as_string(hide_password=False)
        city_id, admin_id, year = existing(url)
    else:
        url = fresh_database("classroom_bench_hours")
        flask(url, "db", "upgrade")
        started = time.perf_counter()
        city_id, admin_id, year = seed(url, args.workers, args.entries)
        print(f"seeded {args.workers:,} workers and {args.entries:,} entries in {time.perf_counter() - started:.0f} s")

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE trade_union SET annual_target_minutes = :minutes WHERE parent_id IS NULL"),
                           {"minutes": args.target_hours * 45 or None})
    engine.dispose()

    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.accounts.services import start_login_session
    from classroom.database import utcnow
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=url, REPORT_CACHE_SECONDS=args.cache_seconds, WTF_CSRF_ENABLED=False)
    with app.app_context():
        engine = db.engine
        timings = []
        for _ in range(3):
            with engine.connect() as connection:
                started = time.perf_counter()
                plain = connection.execute(sa.text(PLAIN_SQL), {"city": city_id, "start": date(year, 1, 1),
                                                                "end": date(year, 12, 31)}).all()
                timings.append(time.perf_counter() - started)
        plain_seconds = statistics.median(timings)
        token = start_login_session(db.session.get(User, admin_id), ip=None, user_agent="bench", now=utcnow())
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    url_path = f"/reports/hours?union={city_id}&period=year&year={year}"
    started = time.perf_counter()
    first = client.get(url_path)
    cold_seconds = time.perf_counter() - started
    assert first.status_code == 200, first.status_code
    warm = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        page = client.get(url_path)
        warm.append(time.perf_counter() - started)
    warm_seconds = statistics.median(warm)
    html = page.get_data(as_text=True)
    shown = {int(union_id): int(minutes) for union_id, minutes in re.findall(
        r'data-union-row="(\d+)" data-union-minutes="(\d+)"', html)}
    expected = {int(union_id): int(minutes) for union_id, minutes in plain}
    total = int(re.search(r'data-total-minutes="(\d+)"', html).group(1))
    print(f"plain SQL (ledger, grouped by district)  {plain_seconds * 1000:9.1f} ms")
    print(f"report page, first (cold)                {cold_seconds * 1000:9.1f} ms")
    print(f"report page, warm (median of {args.repeat})        {warm_seconds * 1000:9.1f} ms  "
          f"(ratio {warm_seconds / plain_seconds:.3f}, target ≤ 0.05)")
    same = shown == expected and total == sum(expected.values())
    print(f"identical numbers: {same} ({len(expected)} districts, total {total:,} minutes)")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
