"""The city hours report for a year (its total and its breakdown by district), warm, against the
plain SQL that sums the ledger's minutes for that year grouped by district (joining the union
tree), on PostgreSQL with 1,000,000 workers and 10,000,000 ledger entries. The figures must be
identical; the page must take ≤ 0.05 × the plain SQL.

    .venv/bin/python -m benchmarks.hours_report [--workers 1000000] [--entries 10000000]

The data is COPYed straight in, with the rollups built the way the ledger keeps them.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from benchmarks.common import flask, fresh_database
from benchmarks.reminders import copy_rows

DISTRICTS = 12
GRASSROOTS_PER_DISTRICT = 40
YEAR = 2026

PLAIN_SQL = """
SELECT d.id, sum(e.minutes)
FROM hours_entry e
JOIN trade_union g ON g.id = e.union_id
JOIN trade_union d ON d.parent_id = :city AND g.path LIKE d.path || '%'
WHERE e.earned_on BETWEEN :start AND :end
GROUP BY d.id ORDER BY d.id
"""


def seed(url: str, workers: int, entries: int) -> int:
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        unions = [(1, "市总工会", "CITY", "city", None, "/1/", 0)]
        next_id = 2
        grassroots = []
        for d in range(DISTRICTS):
            district = next_id
            unions.append((district, f"第{d + 1}区总工会", f"D{d:02d}", "district", 1, f"/1/{district}/", 1))
            next_id += 1
            for g in range(GRASSROOTS_PER_DISTRICT):
                unions.append((next_id, f"第{d + 1}区第{g + 1}基层工会", f"D{d:02d}G{g:02d}", "grassroots", district,
                               f"/1/{district}/{next_id}/", 2))
                grassroots.append(next_id)
                next_id += 1
        copy_rows(connection, "trade_union", ["id", "name", "code", "kind", "parent_id", "path", "depth", "member_seq",
                                              "created_at"],
                  ((*row, 0, now) for row in unions))
        copy_rows(connection, '"user"', ["id", "real_name", "mobile", "locale", "timezone", "notification_prefs",
                                         "is_active", "created_at", "trade"],
                  ((i, f"职工{i}", f"1{i:010d}", "zh_CN", "Asia/Shanghai", "{}", "t", now, "电工")
                   for i in range(1, workers + 2)))
        started = now - timedelta(days=800)
        copy_rows(connection, "membership", ["user_id", "union_id", "status", "member_no", "applied_at", "started_at"],
                  ((i, grassroots[i % len(grassroots)], "active", f"M{i}", started, started)
                   for i in range(1, workers + 1)))
        copy_rows(connection, "role_grant", ["user_id", "role", "union_id", "granted_at"],
                  [(workers + 1, "site_admin", 1, now)])
        copy_rows(connection, "hours_entry", ["user_id", "minutes", "source", "source_key", "earned_on", "union_id",
                                              "category", "title", "created_at"],
                  ((1 + n % workers, 45 + n % 60, "lesson", f"bench:{n}", date(YEAR, 1 + n % 12, 1 + n % 28),
                    grassroots[(1 + n % workers) % len(grassroots)], "电工", "课", now) for n in range(entries)))
        connection.execute(sa.text(
            "INSERT INTO hours_month (union_id, month, source, category, minutes, entries) "
            "SELECT union_id, date_trunc('month', earned_on)::date, source, category, sum(minutes), count(*) "
            "FROM hours_entry GROUP BY 1, 2, 3, 4"))
        connection.execute(sa.text(
            "INSERT INTO hours_year (user_id, year, union_id, minutes) "
            "SELECT user_id, extract(year FROM earned_on)::int, union_id, sum(minutes) FROM hours_entry GROUP BY 1, 2, 3"))
        for table in ('"user"', "trade_union"):
            connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return workers + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = fresh_database("classroom_bench_hours")
    flask(url, "db", "upgrade")
    started = time.perf_counter()
    admin_id = seed(url, args.workers, args.entries)
    print(f"seeded {args.workers:,} workers and {args.entries:,} entries in {time.perf_counter() - started:.0f} s")

    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.accounts.services import start_login_session
    from classroom.database import utcnow
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=url, REPORT_CACHE_SECONDS=300, WTF_CSRF_ENABLED=False)
    with app.app_context():
        engine = db.engine
        timings = []
        for _ in range(3):
            with engine.connect() as connection:
                started = time.perf_counter()
                plain = connection.execute(sa.text(PLAIN_SQL), {"city": 1, "start": date(YEAR, 1, 1),
                                                                "end": date(YEAR, 12, 31)}).all()
                timings.append(time.perf_counter() - started)
        plain_seconds = statistics.median(timings)
        token = start_login_session(db.session.get(User, admin_id), ip=None, user_agent="bench", now=utcnow())
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    url_path = f"/reports/hours?union=1&period=year&year={YEAR}"
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
