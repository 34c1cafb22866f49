"""The session-reminder scan against `SELECT count(*)` with the same predicate, on PostgreSQL:
1,000,000 enrollments of which 1% have a class starting within 24 h. Reports both times, the
ratio (target ≤ 2) and the peak RSS before and after the scan (memory must stay flat), and the
floor under any scan that creates the reminders: the same number of bare notification rows written
by one INSERT … SELECT.

    .venv/bin/python -m benchmarks.reminders [--enrollments 1000000]
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks.common import ROOT, flask, fresh_database

COURSES = 1000


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    raw = connection.connection.driver_connection
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def seed(url: str, enrollments: int, due_percent: int = 1) -> None:
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    people = enrollments // 10
    with engine.begin() as connection:
        root = connection.execute(sa.text(
            "INSERT INTO trade_union (name, code, kind, path, depth, member_seq, created_at) "
            "VALUES ('市总工会', 'B', 'city', '', 0, 0, :now) RETURNING id"), {"now": now}).scalar()
        connection.execute(sa.text("UPDATE trade_union SET path = '/' || id || '/'"))
        copy_rows(connection, '"user"', ["id", "real_name", "mobile", "locale", "timezone", "notification_prefs",
                                         "is_active", "created_at"],
                  ((i, f"职工{i}", f"1{i:010d}", "zh_CN", "Asia/Shanghai", "{}", "t", now) for i in range(1, people + 1)))
        copy_rows(connection, "course", ["id", "title", "summary", "description", "category", "mode", "credit_minutes",
                                         "host_union_id", "scope_union_id", "status", "requires_approval",
                                         "min_lesson_share", "min_attendance_share", "enrolled_count",
                                         "waitlist_count", "waitlist_seq", "created_at", "updated_at"],
                  ((c, f"课程{c}", "", "", "电工", "offline", 90, root, root, "published", "f", 100, 0, 0, 0, 0, now,
                    now) for c in range(1, COURSES + 1)))
        soon = COURSES * due_percent // 100  # that share of the courses (so of the enrollments) meets within 24 h
        copy_rows(connection, "class_session", ["course_id", "starts_at", "ends_at", "venue_name", "credit_minutes",
                                                "created_at"],
                  ((c, now + timedelta(hours=12 if c <= soon else 24 * 10),
                    now + timedelta(hours=14 if c <= soon else 24 * 10 + 2), "职工服务站", 90, now)
                   for c in range(1, COURSES + 1)))
        copy_rows(connection, "enrollment", ["user_id", "course_id", "status", "requested_at", "enrolled_at"],
                  ((1 + (e % people), 1 + (e // people) * (COURSES // 10) + (e % people) % (COURSES // 10),
                    "enrolled", now - timedelta(days=30), now - timedelta(days=30)) for e in range(enrollments)))
        for table in ('"user"', "course", "class_session", "enrollment"):
            connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would carry the parent's from before exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_floor(rows: int, now: datetime) -> float:
    """The least a scan that creates ``rows`` notifications can cost: the same number of constant rows
    into the notification table (its indexes, its foreign key) in one statement, without selecting
    anyone or queueing copies; the best of three, each rolled back."""
    from classroom.extensions import db

    best = float("inf")
    for attempt in range(3):
        started = time.perf_counter()
        db.session.execute(sa.text(
            "INSERT INTO notification (user_id, kind, dedup_key, title, body, created_at) "
            "SELECT g, 'floor', 'floor:' || :attempt || ':' || g, 't', '', :now FROM generate_series(1, :rows) g"),
            {"rows": rows, "now": now, "attempt": attempt})
        best = min(best, time.perf_counter() - started)
        db.session.rollback()
    return best


def measure(url: str) -> None:
    """Run in a fresh process, so that its peak RSS is the app's and the scan's, not the seeding's."""
    from classroom import create_app
    from classroom.extensions import db
    from courses.reminders.jobs import session_reminder_count, session_reminders

    app = create_app("testing", DATABASE_URL=url)
    with app.app_context():
        now = datetime.now(UTC)
        session_reminder_count(now=now)  # warm the cache
        started = time.perf_counter()
        due = session_reminder_count(now=now)
        count_seconds = time.perf_counter() - started
        db.session.rollback()
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        made = session_reminders(now=now)
        scan_seconds = time.perf_counter() - started
        rss_after = peak_rss_mb()
        started = time.perf_counter()
        again = session_reminders(now=now)
        rerun_seconds = time.perf_counter() - started
        floor_seconds = write_floor(made, now)
        # Memory: undo that scan's rows, then run it again under tracemalloc (which slows it, so it
        # is not the timed run): what the scan itself allocates at most, however many it reminds.
        for table in ("outbound_message", "notification", "reminder_wave"):
            db.session.execute(sa.text(f"DELETE FROM {table}"))
        db.session.commit()
        tracemalloc.start()
        session_reminders(now=now)
        _current, scan_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"due: {due:,} enrollments; the scan made {made:,} notifications (a second run made {again})")
    print(f"SELECT count(*)   {count_seconds * 1000:8.1f} ms")
    print(f"reminder scan     {scan_seconds * 1000:8.1f} ms  (ratio {scan_seconds / count_seconds:.2f}, target ≤ 2)")
    print(f"second scan       {rerun_seconds * 1000:8.1f} ms  (ratio {rerun_seconds / count_seconds:.2f})")
    print(f"floor: {made:,} constant notification rows written by one bare INSERT … SELECT (no selection, no "
          f"outbox), rolled back: {floor_seconds * 1000:.1f} ms (ratio {floor_seconds / count_seconds:.2f})")
    print(f"peak RSS of the measuring process: {rss_before:.1f} MB before the scan, {rss_after:.1f} MB after it; "
          f"Python allocations during the scan peaked at {scan_peak / 1024:.0f} KiB for {made:,} notifications")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--due-percent", type=int, default=1, help="share of enrollments due (memory stays flat?)")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    url = fresh_database("classroom_bench_reminders")
    flask(url, "db", "upgrade")
    started = time.perf_counter()
    seed(url, args.enrollments, args.due_percent)
    print(f"seeded {args.enrollments:,} enrollments in {time.perf_counter() - started:.1f} s")
    subprocess.run([sys.executable, "-m", "benchmarks.reminders", "--measure", url], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
