"""The city hours report for a year (its total and its breakdown by district), warm, against the
plain SQL that sums the ledger's minutes for that year grouped by district (joining the union
tree), on PostgreSQL with 1,000,000 workers and 10,000,000 ledger entries. The figures must be
identical; the page must take ≤ 0.05 × the plain SQL (median of alternating rounds, with the
ratio of CPU per request: this process and the database's backends).

    .venv/bin/python -m benchmarks.hours_report [--workers 1000000] [--entries 10000000]
        [--cache-seconds 300 0] [--keep | --reuse DATABASE]

The data comes from `flask seed-scale --workers N --hours-per-worker K` (users and memberships by
COPY, the ledger by INSERT … SELECT, the rollups built from it).

"Identical" means: every district's minutes as the plain SQL sums them (a district without hours that
year shows 0 and has no row in the plain SQL's answer), the total, and each district's and the total's
workers with hours, members at the period's end and members meeting the annual target as `TRUTH_SQL`
counts them from the ledger and the memberships (untimed).
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from benchmarks.common import Meter, alternate, database, flask, record, repeat, row

ZONE = "Asia/Shanghai"  # the platform's (DEFAULT_TIMEZONE): the day a year ends
ROW = (r'data-union-row="(\d+)" data-union-minutes="(-?\d+)" data-union-workers="(\d+)" '
       r'data-union-members="(\d+)" data-union-meeting="(\d+)"')
TOTALS = ("minutes", "workers", "members", "meeting")

PLAIN_SQL = """
SELECT d.id, sum(e.minutes)
FROM hours_entry e
JOIN trade_union g ON g.id = e.union_id
JOIN trade_union d ON d.parent_id = :city AND g.path LIKE d.path || '%'
WHERE e.earned_on BETWEEN :start AND :end
GROUP BY d.id ORDER BY d.id
"""
# The other figures of the page, from the ledger and the memberships (checked once, not timed): per district
# (and, with :city as the district, the whole city) its workers with hours that year (distinct people whose
# minutes in one of its unions add up to more than 0), its members at the end of the year (local midnight
# :ends_at) and those of them whose minutes in their union reach its annual target (its own, else the nearest
# one set above it).
TRUTH_SQL = """
WITH person AS (SELECT user_id, union_id, sum(minutes) AS minutes FROM hours_entry
                WHERE earned_on BETWEEN :start AND :end GROUP BY user_id, union_id),
members AS (SELECT m.user_id, m.union_id FROM membership m
            WHERE m.status IN ('active', 'transferred', 'lapsed') AND m.started_at < :ends_at
              AND (m.ended_at IS NULL OR m.ended_at >= :ends_at)),
targets AS (SELECT u.id, (SELECT t.annual_target_minutes FROM trade_union t WHERE u.path LIKE t.path || '%'
                          AND t.annual_target_minutes IS NOT NULL ORDER BY t.depth DESC LIMIT 1) AS target
            FROM trade_union u)
SELECT d.id,
  (SELECT count(DISTINCT p.user_id) FROM person p JOIN trade_union g ON g.id = p.union_id
   WHERE g.path LIKE d.path || '%' AND p.minutes > 0),
  (SELECT count(*) FROM members m JOIN trade_union g ON g.id = m.union_id WHERE g.path LIKE d.path || '%'),
  (SELECT count(*) FROM members m JOIN trade_union g ON g.id = m.union_id JOIN targets t ON t.id = m.union_id
   LEFT JOIN person p ON p.user_id = m.user_id AND p.union_id = m.union_id
   WHERE g.path LIKE d.path || '%' AND coalesce(p.minutes, 0) >= t.target)
FROM trade_union d WHERE d.parent_id = :city OR d.id = :city
"""


def seed(url: str, workers: int, entries: int) -> None:
    """`flask seed-scale` with its hours extension, and a site admin."""
    flask(url, "seed-scale", "--workers", str(workers), "--hours-per-worker", str(max(1, entries // workers)))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        admin = connection.execute(sa.text("SELECT min(id) FROM \"user\"")).scalar()
        connection.execute(sa.text("INSERT INTO role_grant (user_id, role, union_id, granted_at) "
                                   "VALUES (:user, 'site_admin', :city, now())"), {"user": admin, "city": city})
    engine.dispose()


def existing(url: str) -> tuple[int, int, int]:
    """(the city's id, the site admin's id, the latest year with hours)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        city = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        admin = connection.execute(sa.text("SELECT user_id FROM role_grant WHERE role = 'site_admin'")).scalar()
        year = connection.execute(sa.text("SELECT max(year) FROM hours_year")).scalar()
    engine.dispose()
    return city, admin, year


def reused_size(url: str) -> str:
    """What a reused database holds (its size is not the command line's)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        people = connection.execute(sa.text('SELECT count(*) FROM "user"')).scalar()
        entries = connection.execute(sa.text("SELECT count(*) FROM hours_entry")).scalar()
    engine.dispose()
    return f"{people:,} people, {entries:,} entries"


def set_city_target(url: str, hours: int) -> None:
    """The city's annual target in 学时 of 45 minutes (0: none), so the page computes who meets it; then the
    people past it recounted, as the scheduler's `hours.retarget` does within HOURS_RETARGET_SECONDS of a change
    (until then the page counts the year rows of the unions whose target moved)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE trade_union SET annual_target_minutes = :minutes WHERE parent_id IS NULL"),
                           {"minutes": hours * 45 or None})
    engine.dispose()
    flask(url, "hours", "retarget")


def compare(url: str, city_id: int, admin_id: int, year: int, *, cache_seconds: int, rounds: int) -> dict:
    """Alternating rounds of the plain SQL and the report page (in this process, Flask's test client);
    the comparison, the first (cold) page's seconds and whether the page shows the plain SQL's figures."""
    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.accounts.services import start_login_session
    from classroom.database import utcnow
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=url, REPORT_CACHE_SECONDS=cache_seconds, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with app.app_context():
        token = start_login_session(db.session.get(User, admin_id), ip=None, user_agent="bench", now=utcnow())
        db.session.commit()
        engine = db.engine
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = token, True
    path = f"/reports/hours?union={city_id}&period=year&year={year}"
    bounds = {"city": city_id, "start": date(year, 1, 1), "end": date(year, 12, 31)}
    plain: list = []

    def run_plain() -> None:
        with engine.connect() as connection:
            plain[:] = connection.execute(sa.text(PLAIN_SQL), bounds).all()

    def run_page() -> None:
        page = client.get(path)
        assert page.status_code == 200, page.status_code

    started = time.perf_counter()
    run_page()
    cold = time.perf_counter() - started
    meter = Meter(url, own=True)
    result = alternate(lambda: repeat(meter, run_plain), lambda: repeat(meter, run_page), rounds,
                       ("plain SQL", "report page"))
    html = client.get(path).get_data(as_text=True)
    with engine.connect() as connection:
        truth = {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(TRUTH_SQL), {
            **bounds, "ends_at": datetime(year + 1, 1, 1, tzinfo=ZoneInfo(ZONE))})}
    with app.app_context():
        db.engine.dispose()
    expected = {union_id: (0, *figures) for union_id, figures in truth.items() if union_id != city_id}
    for union_id, minutes in plain:  # a district without hours has no row in the plain SQL's answer: 0
        expected[union_id] = (int(minutes), *expected[union_id][1:])
    expected_total = (sum(minutes for minutes, *_rest in expected.values()), *truth[city_id])
    shown = {int(found[0]): tuple(map(int, found[1:])) for found in re.findall(ROW, html)}
    shown_total = tuple(int(re.search(f'data-total-{name}="(-?\\d+)"', html).group(1)) for name in TOTALS)
    differences = {union_id: (shown.get(union_id), expected.get(union_id)) for union_id in set(shown) | set(expected)
                   if shown.get(union_id) != expected.get(union_id)}
    if shown_total != expected_total:
        differences["total"] = (shown_total, expected_total)
    if differences:
        print("figures that differ (page, ledger) as (minutes, workers, members, meeting the target):", differences)
    return {"comparison": result, "cold": cold, "same": not differences, "districts": len(expected),
            "total": shown_total[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-seconds", type=int, nargs="+", default=[300, 0],
                        help="REPORT_CACHE_SECONDS for the page, one comparison each (0: every request reads "
                             "the rollups)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (printed at the end)")
    parser.add_argument("--reuse", metavar="DATABASE", help="a database a previous run kept")
    parser.add_argument("--target-hours", type=int, default=40,
                        help="the city's annual target (so the page computes the share meeting it); 0: none")
    args = parser.parse_args()
    rows, identical = [], []
    with database("hours", reuse=args.reuse, keep=args.keep) as url:
        if not args.reuse:
            flask(url, "db", "upgrade")
            started = time.perf_counter()
            seed(url, args.workers, args.entries)
            print(f"seeded {args.workers:,} workers and {args.entries:,} entries in "
                  f"{time.perf_counter() - started:.0f} s")
        city_id, admin_id, year = existing(url)
        size = f"{args.workers:,} workers, {args.entries:,} entries" if not args.reuse else reused_size(url)
        set_city_target(url, args.target_hours)
        for seconds in args.cache_seconds:
            found = compare(url, city_id, admin_id, year, cache_seconds=seconds, rounds=args.rounds)
            print(f"first page (cold) {found['cold'] * 1000:.1f} ms; identical numbers: {found['same']} "
                  f"({found['districts']} districts, total {found['total']:,} minutes)")
            identical.append(found["same"])
            result, cache = found["comparison"], f"cache {seconds} s, warm" if seconds else "no cache"
            rows += [row(f"city hours report ({cache}) ÷ plain GROUP BY, time per request ({size})", result.time(),
                         target="≤ 0.05", cpu=result.cpu()),
                     row(f"report figures ({cache}) identical to the plain SQL", "yes" if found["same"] else "NO",
                         met=found["same"])]
    record("hours_report", rows)
    raise SystemExit(0 if all(identical) else 1)

if __name__ == "__main__":
    main()
