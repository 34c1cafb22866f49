"""The session-reminder scan on PostgreSQL, 1,000,000 enrollments of which 1% have a class starting
within 24 h. In alternating rounds: the first scan of the window (its rows removed before each round)
against its write floor, one bare INSERT … SELECT writing the same notification and outbox rows (copied
from a scan beforehand, new dedup keys, committed like the scan); and a second scan (nothing new)
against `SELECT count(*)` with the same predicate. Reports the time and CPU ratios (target ≤ 2) and
the peak RSS before and after the first scan (memory must stay flat).

    .venv/bin/python -m benchmarks.reminders [--enrollments 1000000] [--rounds 5]
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

from benchmarks.common import ROOT, Meter, Sample, alternate, database, flask, record, repeat, row

COURSES = 1000


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for values in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in values) + "\n")
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
                                                "created_at", "updated_at"],
                  ((c, now + timedelta(hours=12 if c <= soon else 24 * 10),
                    now + timedelta(hours=14 if c <= soon else 24 * 10 + 2), "职工服务站", 90, now, now)
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


def clear_reminders() -> None:
    """Undo a scan: its notifications, outbox rows and waves (the seed has no others)."""
    from classroom.extensions import db

    for table in ("outbound_message", "notification", "reminder_wave"):
        db.session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
    db.session.commit()


def keep_floor_rows() -> tuple[int, int]:
    """Copy what a first scan wrote (its notifications, their outbox rows) aside, for the floor to write
    again; returns (notifications, outbox rows)."""
    from classroom.extensions import db

    db.session.execute(sa.text("DROP TABLE IF EXISTS floor_n; DROP TABLE IF EXISTS floor_o"))
    db.session.execute(sa.text("CREATE TABLE floor_n AS SELECT * FROM notification"))
    db.session.execute(sa.text("CREATE TABLE floor_o AS SELECT o.*, n.dedup_key AS n_key FROM outbound_message o "
                               "JOIN notification n ON n.id = o.notification_id"))
    db.session.commit()
    return (db.session.execute(sa.text("SELECT count(*) FROM floor_n")).scalar(),
            db.session.execute(sa.text("SELECT count(*) FROM floor_o")).scalar())


def floor_statement() -> str:
    """One INSERT … SELECT writing the same notification rows and the same outbox rows (new dedup keys):
    the least any scan that creates them can cost (no one selected, nothing rendered, no preference read)."""
    from classroom.extensions import db

    def columns(table: str) -> list[str]:
        return db.session.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND column_name != 'id' "
            "ORDER BY ordinal_position"), {"t": table}).scalars().all()

    n_columns, o_columns = columns("notification"), columns("outbound_message")
    n_values = ", ".join("dedup_key || :suffix" if c == "dedup_key" else c for c in n_columns)
    o_values = ", ".join({"dedup_key": "o.dedup_key || :suffix", "notification_id": "n.id"}.get(c, f"o.{c}")
                         for c in o_columns)
    db.session.rollback()
    return (f"WITH n AS (INSERT INTO notification ({', '.join(n_columns)}) SELECT {n_values} FROM floor_n "  # noqa: S608
            f"RETURNING id, dedup_key) INSERT INTO outbound_message ({', '.join(o_columns)}) SELECT {o_values} "
            "FROM floor_o o JOIN n ON n.dedup_key = o.n_key || :suffix")


def write_floor(meter: Meter, statement: str, attempt: list[int]) -> Sample:
    """The floor, measured: the statement and its commit (as the scan commits); its rows then removed."""
    from classroom.extensions import db

    attempt[0] += 1
    clear_reminders()
    with meter.span() as sample:
        db.session.execute(sa.text(statement), {"suffix": f":floor{attempt[0]}"})
        db.session.commit()
        sample.count = 1
    return sample


def measure(url: str, rounds: int) -> None:
    """Run in a fresh process, so that its peak RSS is the app's and the scan's, not the seeding's."""
    from classroom import create_app
    from classroom.extensions import db
    from courses.reminders.jobs import session_reminders
    from courses.reminders.sessions import session_reminder_count

    app = create_app("testing", DATABASE_URL=url)
    meter, rss, made = Meter(url, own=True), [], [0]

    def count() -> None:
        session_reminder_count(now=now)
        db.session.rollback()

    def first_scan() -> Sample:
        clear_reminders()
        rss.append(peak_rss_mb())
        with meter.span() as sample:
            made[0] = session_reminders(now=now)
            sample.count = 1
        rss.append(peak_rss_mb())
        return sample

    with app.app_context():
        now = datetime.now(UTC)
        due = session_reminder_count(now=now)  # and warms the cache
        clear_reminders()
        session_reminders(now=now)  # once, to keep its rows for the floor
        written = keep_floor_rows()
        statement, attempt = floor_statement(), [0]
        scan = alternate(lambda: write_floor(meter, statement, attempt), first_scan, rounds,
                         ("bare INSERT … SELECT (floor)", "first scan"))
        again = alternate(lambda: repeat(meter, count), lambda: repeat(meter, lambda: session_reminders(now=now)),
                          rounds, ("count", "second scan"))
        # Memory: undo the scan's rows, then run it again under tracemalloc (which slows it, so it
        # is not a timed run): what the scan itself allocates at most, however many it reminds.
        clear_reminders()
        tracemalloc.start()
        session_reminders(now=now)
        _current, scan_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"due: {due:,} enrollments; each first scan made {made[0]:,} notifications")
    print(f"peak RSS of the measuring process: {rss[0]:.1f} MB before the first scan, {rss[1]:.1f} MB after it; "
          f"Python allocations during a scan peaked at {scan_peak / 1024:.0f} KiB for {made[0]:,} notifications")
    record("reminders", [
        row(f"first reminder scan ÷ bare INSERT … SELECT of the same {written[0]:,} notifications and {written[1]:,} "
            "outbox rows, time", scan.time(), target="≤ 2", cpu=scan.cpu(),
            note=f"{due:,} due of {made[0]:,} made"),
        row("second reminder scan (nothing new) ÷ count(*), time", again.time(), target="≤ 2", cpu=again.cpu()),
        row("peak RSS growth during the first scan, MB (flat)", round(rss[1] - rss[0], 1))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--due-percent", type=int, default=1, help="share of enrollments due (memory stays flat?)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.rounds)
        return
    with database("reminders") as url:
        flask(url, "db", "upgrade")
        started = time.perf_counter()
        seed(url, args.enrollments, args.due_percent)
        print(f"seeded {args.enrollments:,} enrollments in {time.perf_counter() - started:.1f} s")
        subprocess.run([sys.executable, "-m", "benchmarks.reminders", "--measure", url, "--rounds", str(args.rounds)],
                       check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
