"""`flask seed-scale` against a raw bulk load of the same rows, in alternating rounds.

PostgreSQL: time `flask seed-scale --workers N` (the whole command) on a fresh database, dump the
rows it wrote (COPY … TO STDOUT, once), then time a raw COPY … FROM STDIN of those very rows into
another fresh database with the same schema; again, each round on new databases. SQLite: the same
against a raw sqlite3 executemany. Reports rows/s (people + memberships + consents), the ratio
seed-scale ÷ raw of time and of CPU (the processes and the database's backends; target on
PostgreSQL: time ≤ 3).

    .venv/bin/python -m benchmarks.seed [--workers 1000000] [--rounds 5] [--backend postgresql|sqlite|both]
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import subprocess
import tempfile
from pathlib import Path

import psycopg
import sqlalchemy as sa

from benchmarks.common import BIN, ROOT, Comparison, Meter, Sample, alternate, app_env, database, record, row

TABLES = ("trade_union", "user", "membership", "consent")  # in foreign-key order


def create_schema(url: str) -> None:
    """The tables as the models define them (create_all: the same schema for both sides)."""
    from classroom import create_app
    from classroom.extensions import db

    app = create_app("testing", DATABASE_URL=url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def seed_round(url: str, workers: int, meter: Meter) -> Sample:
    """One timed `flask seed-scale --workers N` (the whole command) into ``url``."""
    with meter.span() as sample:
        subprocess.run([str(BIN / "flask"), "--app", "classroom", "seed-scale", "--workers", str(workers)],
                       env=app_env(url), cwd=ROOT, check=True, capture_output=True, text=True)
    return sample


def psycopg_url(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def dump(url: str) -> tuple[dict[str, bytes], int]:
    """The seeded tables as COPY text, and the number of people rows (users, memberships, consents)."""
    dumps: dict[str, bytes] = {}
    with psycopg.connect(psycopg_url(url)) as connection, connection.cursor() as cursor:
        for table in TABLES:
            buffer = io.BytesIO()
            with cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                for block in copy:
                    buffer.write(block)
            dumps[table] = buffer.getvalue()
        people = sum(cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in TABLES[1:])
    return dumps, people


def postgresql(workers: int, rounds: int) -> Comparison:
    """Alternating rounds: seed-scale into a fresh database, a raw COPY of the same rows into another."""
    rows: dict = {}

    def seeded() -> Sample:
        with database("seed") as url:
            create_schema(url)
            sample = seed_round(url, workers, Meter(url, own=True, interval=0.2))
            if not rows:
                rows["dumps"], rows["people"] = dump(url)
        sample.count = rows["people"]
        return sample

    def raw() -> Sample:
        with database("seed_raw") as url:
            create_schema(url)
            with psycopg.connect(psycopg_url(url)) as connection, connection.cursor() as cursor, \
                    Meter(url, own=True, interval=0.2).span() as sample:
                for table in TABLES:
                    with cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                        copy.write(rows["dumps"][table])
                connection.commit()
        sample.count = rows["people"]
        return sample

    return alternate(raw, seeded, rounds, ("raw COPY", "seed-scale"), subject_first=True)


def sqlite(workers: int, rounds: int) -> Comparison:
    """The same on SQLite files, the raw side a plain sqlite3 executemany."""
    folder = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    rows: dict = {}

    def seeded() -> Sample:
        path = folder / "seeded.db"
        path.unlink(missing_ok=True)
        create_schema(f"sqlite:///{path}")
        sample = seed_round(f"sqlite:///{path}", workers, Meter(None, own=True))
        if not rows:
            source = sqlite3.connect(path)
            rows["data"] = {table: source.execute(f'SELECT * FROM "{table}"').fetchall() for table in TABLES}
            rows["people"] = sum(len(rows["data"][table]) for table in TABLES[1:])
            source.close()
        sample.count = rows["people"]
        return sample

    def raw() -> Sample:
        path = folder / "raw.db"
        path.unlink(missing_ok=True)
        create_schema(f"sqlite:///{path}")
        target = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            target.execute(f"PRAGMA {pragma}")
        with Meter(None, own=True).span() as sample:
            target.execute("BEGIN")
            for table, values in rows["data"].items():
                if values:
                    target.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(values[0]))})', values)
            target.execute("COMMIT")
        target.close()
        sample.count = rows["people"]
        return sample

    return alternate(raw, seeded, rounds, ("raw executemany", "seed-scale"), subject_first=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="postgresql")
    args = parser.parse_args()
    rows = []
    if args.backend in ("postgresql", "both"):
        result = postgresql(args.workers, args.rounds)
        rows.append(row(f"seed-scale ÷ raw COPY, time ({args.workers:,} workers, PostgreSQL)", result.time(),
                        target="≤ 3", cpu=result.cpu(), note=_rates(result)))
    if args.backend in ("sqlite", "both"):
        result = sqlite(args.workers, args.rounds)
        rows.append(row(f"seed-scale ÷ raw executemany, time ({args.workers:,} workers, SQLite)", result.time(),
                        cpu=result.cpu(), note=_rates(result)))
    record("seed", rows)


def _rates(result: Comparison) -> str:
    seeded = statistics.median(subject.rate for _base, subject in result.rounds)
    raw = statistics.median(base.rate for base, _subject in result.rounds)
    return f"seed-scale {seeded:,.0f} rows/s, raw {raw:,.0f} rows/s (medians)"


if __name__ == "__main__":
    main()
