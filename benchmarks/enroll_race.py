"""Enrollment race over real HTTP: 50 distinct workers enroll at once (threads behind a
barrier) in a course with 10 seats, against gunicorn with several workers on PostgreSQL.
Every trial must give exactly 10 enrolled, 40 waitlisted with positions 1..40, 0 errors.

    .venv/bin/python -m benchmarks.enroll_race [--trials 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import re
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar

import sqlalchemy as sa

from benchmarks.common import database, flask, gunicorn, record, row

PASSWORD = "Gonghui#2026"


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def token(self, path: str) -> str:
        page = self.opener.open(self.base + path).read().decode()
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)

    def post(self, path: str, **fields) -> int:
        data = urllib.parse.urlencode(fields).encode()
        return self.opener.open(self.base + path, data=data).status

    def login(self, mobile: str) -> None:
        self.post("/auth/login", identifier=mobile, password=PASSWORD, csrf_token=self.token("/auth/login"))


def new_course(engine, trial: int) -> int:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        root = connection.execute(sa.text("SELECT id FROM trade_union WHERE parent_id IS NULL")).scalar()
        return connection.execute(sa.text(
            "INSERT INTO course (title, summary, description, category, mode, credit_minutes, host_union_id, "
            "scope_union_id, status, requires_approval, min_lesson_share, min_attendance_share, enrolled_count, "
            "waitlist_count, waitlist_seq, capacity, created_at, updated_at, published_at) VALUES (:title, '', '', "
            "'电工', 'online', 90, :root, :root, 'published', false, 100, 0, 0, 0, 0, 10, :now, :now, :now) "
            "RETURNING id"), {"title": f"抢座课程 {trial}", "root": root, "now": now}).scalar()


def check(engine, course_id: int) -> tuple[int, int, list[int]]:
    with engine.connect() as connection:
        enrolled = connection.execute(sa.text(
            "SELECT count(*) FROM enrollment WHERE course_id=:c AND status='enrolled'"), {"c": course_id}).scalar()
        seqs = connection.execute(sa.text(
            "SELECT waitlist_seq FROM enrollment WHERE course_id=:c AND status='waitlisted' ORDER BY waitlist_seq"),
            {"c": course_id}).scalars().all()
    # A position is the rank of a distinct waitlist ticket: duplicated tickets would share a place.
    positions = sorted(1 + sum(other < seq for other in seqs) for seq in seqs)
    return enrolled, len(seqs), positions


def enroll_at_once(browser: Browser, course_id: int, token: str, barrier: threading.Barrier, errors: list) -> None:
    barrier.wait()
    try:
        browser.post(f"/courses/{course_id}/enroll", csrf_token=token)
    except Exception as error:  # noqa: BLE001 - counted and reported
        errors.append(error)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with database("race") as url:
        failures = race(url, args)
    record("enroll_race", [row("enrollment race over HTTP: trials with 10 enrolled, 40 waitlisted 1..40, 0 errors",
                               f"{args.trials - failures}/{args.trials}", target=f"{args.trials}/{args.trials}",
                               met=not failures)])
    raise SystemExit(1 if failures else 0)


def race(url: str, args) -> int:
    """Run the trials; how many failed."""
    flask(url, "db", "upgrade")
    flask(url, "seed-demo", "--workers", "320")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        mobiles = connection.execute(sa.text(
            "SELECT u.mobile FROM \"user\" u JOIN membership m ON m.user_id = u.id AND m.status = 'active' "
            "WHERE u.mobile LIKE '13%' AND u.mobile NOT LIKE '138000000%' ORDER BY u.id LIMIT 50")).scalars().all()
    failures = 0
    with gunicorn(url, workers=args.workers, threads=4) as server:
        browsers = [Browser(server.base) for _ in mobiles]
        for browser, mobile in zip(browsers, mobiles, strict=True):
            browser.login(mobile)
        for trial in range(1, args.trials + 1):
            course_id = new_course(engine, trial)
            tokens = [browser.token(f"/courses/{course_id}") for browser in browsers]
            barrier, errors = threading.Barrier(len(browsers)), []
            started = time.perf_counter()
            threads = [threading.Thread(target=enroll_at_once, args=(browser, course_id, token, barrier, errors))
                       for browser, token in zip(browsers, tokens, strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            enrolled, waitlisted, positions = check(engine, course_id)
            ok = enrolled == 10 and waitlisted == 40 and positions == list(range(1, 41)) and not errors
            failures += not ok
            print(f"trial {trial:2d}: enrolled {enrolled}, waitlisted {waitlisted}, errors {len(errors)}, "
                  f"{elapsed * 1000:.0f} ms {'ok' if ok else 'FAILED'}")
    engine.dispose()
    print(f"{args.trials - failures}/{args.trials} trials correct")
    return failures

if __name__ == "__main__":
    main()
