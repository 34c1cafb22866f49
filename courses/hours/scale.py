"""`flask seed-scale --hours-per-worker N`: ledger entries for the seeded workers, spread over
this year and last, with the month and year rollups built from them in SQL (and the people per union and
year from the year rollup)."""

from __future__ import annotations

import click
from sqlalchemy import bindparam, text

from classroom.database import is_postgresql
from classroom.extensions import db
from courses.hours import rollups
from courses.hours.models import HoursYear
from courses.hours.rollups import MEMBER_SQL, year_end

HOURS_OPTION = click.Option(["--hours-per-worker"], type=int, default=0, show_default=True,
                            help="Training-hours entries per seeded worker (lessons, this year and last).")


def seed_hours(context, hours_per_worker: int = 0, **_options) -> None:
    """Ledger entries for seed-scale's workers, with their rollups built in SQL."""
    if not hours_per_worker:
        return
    params = {"first": context.first_user_id, "last": context.first_user_id + context.workers - 1,
              "k": hours_per_worker, "now": context.now, "year": context.now.year}
    if is_postgresql(db.session):
        db.session.execute(text(
            "INSERT INTO hours_entry (user_id, minutes, source, source_key, earned_on, union_id, category, title, "
            "created_at) SELECT m.user_id, 30 + (g * 7 + m.user_id) % 60, 'lesson', 'scale:' || m.user_id || ':' || g, "
            "make_date(:year - (g % 2), 1 + (g * 5 + m.user_id) % 12, 1 + (g * 3 + m.user_id) % 28), m.union_id, "
            "'电工', '安全生产', :now FROM membership m CROSS JOIN generate_series(1, :k) AS g "
            "WHERE m.user_id BETWEEN :first AND :last AND m.status = 'active'"), params)
    else:
        rows = db.session.execute(text("SELECT user_id, union_id FROM membership WHERE user_id BETWEEN :first AND "
                                       ":last AND status = 'active'"), params).all()
        db.session.execute(text(
            "INSERT INTO hours_entry (user_id, minutes, source, source_key, earned_on, union_id, category, title, "
            "created_at) VALUES (:user, :minutes, 'lesson', :key, :day, :union, '电工', '安全生产', :now)"),
            [{"user": user, "union": union, "key": f"scale:{user}:{g}", "now": context.now.replace(tzinfo=None),
              "minutes": 30 + (g * 7 + user) % 60,
              "day": f"{context.now.year - g % 2}-{1 + (g * 5 + user) % 12:02d}-{1 + (g * 3 + user) % 28:02d}"}
             for user, union in rows for g in range(1, hours_per_worker + 1)])
    postgres = is_postgresql(db.session)
    month = "date_trunc('month', earned_on)::date" if postgres else "date(earned_on, 'start of month')"
    year = "extract(year FROM earned_on)::int" if postgres else "cast(strftime('%Y', earned_on) AS int)"
    # The SQL pieces above are constants of this module, never input.
    db.session.execute(text(
        f"INSERT INTO hours_month (union_id, month, source, category, minutes, entries) "  # noqa: S608
        f"SELECT coalesce(union_id, 0), {month}, source, category, sum(minutes), count(*) FROM hours_entry "
        f"WHERE source_key LIKE 'scale:%' AND user_id BETWEEN :first AND :last GROUP BY 1, 2, 3, 4 "
        f"ON CONFLICT (union_id, month, source, category) DO UPDATE SET "
        f"minutes = hours_month.minutes + excluded.minutes, entries = hours_month.entries + excluded.entries"), params)
    ends = bindparam("ends_this", year_end(context.now.year), type_=HoursYear.ends_at.type), bindparam(
        "ends_last", year_end(context.now.year - 1), type_=HoursYear.ends_at.type)
    db.session.execute(text(
        f"INSERT INTO hours_year (user_id, year, union_id, minutes, ends_at, member) "  # noqa: S608
        f"SELECT y.user_id, y.year, y.union_id, y.minutes, y.ends_at, {MEMBER_SQL.format(row='y')} FROM ("
        f"SELECT user_id, {year} AS year, coalesce(union_id, 0) AS union_id, sum(minutes) AS minutes, "
        f"CASE {year} WHEN :year THEN :ends_this ELSE :ends_last END AS ends_at FROM hours_entry "
        f"WHERE source_key LIKE 'scale:%' AND user_id BETWEEN :first AND :last GROUP BY 1, 2, 3) AS y WHERE true "
        f"ON CONFLICT (user_id, year, union_id) DO UPDATE SET minutes = hours_year.minutes + excluded.minutes"
    ).bindparams(*ends), params)
    rollups.rebuild(flags=False)  # the people per union and year, from the year rollup
    if is_postgresql(db.session):
        for table in ("hours_entry", "hours_month", "hours_year"):
            db.session.execute(text(f"ANALYZE {table}"))
