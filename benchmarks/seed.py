"""`flask seed-scale` against a raw bulk load of the same rows.

PostgreSQL: time `flask seed-scale --workers N` on a fresh database, dump the rows it wrote
(COPY … TO STDOUT), then time a raw COPY … FROM STDIN of those very rows into a second fresh
database with the same schema. SQLite: the same against a raw sqlite3 executemany. Reports rows/s
(people + memberships + consents) and the ratio seed-scale ÷ raw (target on PostgreSQL: ≤ 3).

    .venv/bin/python -m benchmarks.seed [--workers 1000000] [--backend postgresql|sqlite|both]
"""

from __future__ import annotations

import argparse
import io
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

from benchmarks.common import BIN, ROOT, app_env, fresh_database

TABLES = ("trade_union", "user", "membership", "consent")  # in foreign-key order


def create_schema(url: str) -> None:
    """The tables as the models define them (create_all: the same schema for both sides)."""
    from classroom import create_app
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def run_seed_scale(url: str, workers: int) -> tuple[float, float]:
    """(wall seconds of the command, seconds the command reports for its own work)."""
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "flask"), "--app", "classroom", "seed-scale", "--workers", str(workers)],
                          env=app_env(url), cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    reported = float(re.search(r"in ([\d.]+) s", done.stdout).group(1))
    return wall, reported


def psycopg_url(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgresql(workers: int) -> dict:
    seeded = fresh_database("classroom_bench_seed")
    create_schema(seeded)
    wall, reported = run_seed_scale(seeded, workers)
    dumps: dict[str, bytes] = {}
    with psycopg.connect(psycopg_url(seeded)) as connection, connection.cursor() as cursor:
        for table in TABLES:
            buffer = io.BytesIO()
            with cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                for block in copy:
                    buffer.write(block)
            dumps[table] = buffer.getvalue()
        rows = {table: cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in TABLES}
    raw = fresh_database("classroom_bench_seed_raw")
    create_schema(raw)
    with psycopg.connect(psycopg_url(raw)) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        for table in TABLES:
            with cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                copy.write(dumps[table])
        connection.commit()
        raw_seconds = time.perf_counter() - started
    return {"backend": "postgresql", "rows": rows, "wall": wall, "reported": reported, "raw": raw_seconds}


def sqlite(workers: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    seeded, raw = folder / "seeded.db", folder / "raw.db"
    for path in (seeded, raw):
        create_schema(f"sqlite:///{path}")
    wall, reported = run_seed_scale(f"sqlite:///{seeded}", workers)
    source = sqlite3.connect(seeded)
    data = {table: source.execute(f'SELECT * FROM "{table}"').fetchall() for table in TABLES}
    source.close()
    target = sqlite3.connect(raw, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    target.execute("BEGIN")
    for table, rows in data.items():
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            target.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
    target.execute("COMMIT")
    raw_seconds = time.perf_counter() - started
    target.close()
    return {"backend": "sqlite", "rows": {table: len(rows) for table, rows in data.items()}, "wall": wall,
            "reported": reported, "raw": raw_seconds}


def report(result: dict, workers: int) -> None:
    people_rows = sum(result["rows"][table] for table in ("user", "membership", "consent"))
    raw_name = "raw COPY" if result["backend"] == "postgresql" else "raw executemany"
    print(f"\n{result['backend']}: {workers:,} workers = {people_rows:,} rows (users, memberships, consents)"
          f" + {result['rows']['trade_union']:,} unions")
    timings = (("seed-scale, whole command", result["wall"]), ("seed-scale, its own work", result["reported"]),
               (raw_name, result["raw"]))
    for label, seconds in timings:
        print(f"  {label:<28} {seconds:8.1f} s  {people_rows / seconds:>12,.0f} rows/s")
    print(f"  ratio seed-scale ÷ {raw_name}: {result['wall'] / result['raw']:.2f} (whole command), "
          f"{result['reported'] / result['raw']:.2f} (its own work)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="postgresql")
    args = parser.parse_args()
    if args.backend in ("postgresql", "both"):
        report(postgresql(args.workers), args.workers)
    if args.backend in ("sqlite", "both"):
        report(sqlite(args.workers), args.workers)


if __name__ == "__main__":
    main()
