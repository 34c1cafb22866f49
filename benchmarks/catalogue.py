"""Catalogue page 1 (default sort, a logged-in worker) vs a bare "ok" endpoint of the same app,
same gunicorn, same wrk settings, one run, 10,000 published courses on PostgreSQL.

    .venv/bin/python -m benchmarks.catalogue [--courses 10000] [--seconds 10] [--rounds 5]

Target: ratio (catalogue req/s ÷ bare req/s) ≥ 0.35. It shares the 2 cores with wrk, so compare
ratios, not absolute figures. The two endpoints are measured in alternating rounds (bare, page,
bare, page, ...) and the median of the rounds' ratios is the result, so a burst of load from
elsewhere on the machine spoils one round, not the figure; so is the ratio of CPU per request
(gunicorn's workers and the database's backends). gunicorn runs as the README deploys
it (4 sync workers; ``--workers 2 --threads 4`` tries the threaded worker), and the app as in
production, with Redis for the log-in cache (BENCH_REDIS_URL, default redis://127.0.0.1:6379/1).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks.common import Meter, alternate, database, fetch, flask, gunicorn, load, login_cookie, record, row, wrk


def seed_courses(url: str, count: int) -> None:
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        root, host = connection.execute(sa.text("SELECT min(id), max(id) FROM trade_union WHERE kind IN ('city', "
                                                "'grassroots')")).one()
        teacher = connection.execute(sa.text("SELECT user_id FROM role_grant WHERE role='instructor' LIMIT 1")).scalar()
        rows = [{"title": f"职工技能课程 {n:05d}", "summary": "安全生产与岗位技能", "description": "", "category":
                 ["电工", "焊工", "快递服务", "家政服务", "安全生产"][n % 5], "mode": "online", "credit_minutes": 90,
                 "host_union_id": host, "scope_union_id": root, "status": "published", "requires_approval": False,
                 "min_lesson_share": 100, "min_attendance_share": 0, "enrolled_count": n % 37,
                 "waitlist_count": 0, "waitlist_seq": 0, "capacity": 50, "created_at": now, "updated_at": now,
                 "published_at": now - timedelta(minutes=n)} for n in range(count)]
        connection.execute(sa.text(
            "INSERT INTO course (title, summary, description, category, mode, credit_minutes, host_union_id, "
            "scope_union_id, status, requires_approval, min_lesson_share, min_attendance_share, enrolled_count, "
            "waitlist_count, waitlist_seq, capacity, created_at, updated_at, published_at) VALUES (:title, :summary, "
            ":description, :category, :mode, :credit_minutes, :host_union_id, :scope_union_id, :status, "
            ":requires_approval, :min_lesson_share, :min_attendance_share, :enrolled_count, :waitlist_count, "
            ":waitlist_seq, :capacity, :created_at, :updated_at, :published_at)"), rows)
        connection.execute(sa.text("INSERT INTO course_instructor (course_id, user_id) SELECT id, :teacher FROM course "
                                   "ON CONFLICT DO NOTHING"), {"teacher": teacher})
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)  # the README's production command: 4 sync workers
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with database("catalogue") as url:
        flask(url, "db", "upgrade")
        flask(url, "seed-demo", "--workers", "300")
        seed_courses(url, args.courses)
        with gunicorn(url, workers=args.workers, threads=args.threads) as server:
            cookie = login_cookie(server.base, "13800000006")
            fetch(server.base + "/courses/", cookie)
            wrk(server.base + "/courses/", seconds=3, cookie=cookie)  # warm up
            meter = Meter(url, server.workers)
            print(f"courses: {args.courses:,}, gunicorn: {args.workers} workers × {args.threads} threads, wrk: "
                  f"2 threads, 8 connections, {args.rounds} rounds of {args.seconds} s per endpoint")
            result = alternate(lambda: load(meter, server.base + "/ping", seconds=args.seconds, cookie=cookie),
                               lambda: load(meter, server.base + "/courses/", seconds=args.seconds, cookie=cookie),
                               args.rounds, ("/ping", "/courses/"))
    record("catalogue", [row(f"catalogue page 1 ÷ /ping, req/s ({args.courses:,} courses, a worker)", result.speed(),
                             target="≥ 0.35", cpu=result.cpu())])


if __name__ == "__main__":
    main()
