"""Profile the outbox dispatcher in one process: CPU per message (time.process_time) of the dispatcher
(`dispatch_job` until nothing is due) beside a bare `smtplib` loop sending the same messages, built
beforehand, over one connection (and their messages/s, wall clock); then cProfile's top functions of
the dispatcher. The SMTP server
(aiosmtpd's Sink) runs in a process of its own, so that its CPU is nobody's here; a new database.

    .venv/bin/python -m benchmarks.profile_outbox [--messages 2000] [--rounds 3] [--top 30] [--no-profile] [--save FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from benchmarks.common import database, flask, free_port
from benchmarks.outbox import queue


def smtp_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l",
                                f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--save", help="also write the profile to this file (pstats)")
    args = parser.parse_args()
    port = free_port()
    sink = smtp_sink(port)
    try:
        with database("profile_outbox") as url:
            flask(url, "db", "upgrade")
            run(url, port, args)
    finally:
        sink.terminate()
        sink.wait(10)


def run(url: str, port: int, args) -> None:
    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.extensions import db
    from classroom.notifications.emails import build
    from classroom.notifications.jobs import dispatch_job
    from classroom.notifications.models import OutboundMessage

    app = create_app("testing", DATABASE_URL=url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                     PUBLIC_BASE_URL="https://bench.example.cn")
    engine = sa.create_engine(url)
    rounds = iter(range(1_000_000))

    def fresh() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM outbound_message"))
        queue(engine, args.messages, prefix=f"profile{next(rounds)}", user=False)

    def dispatcher() -> tuple[float, float]:
        fresh()
        started, clock, sent = time.process_time(), time.perf_counter(), 0
        while done := dispatch_job(now=datetime.now(UTC))["sent"]:
            sent += done
        assert sent == args.messages, sent
        return (time.process_time() - started) / sent, sent / (time.perf_counter() - clock)

    with app.app_context():
        fresh()
        person = db.session.scalars(sa.select(User).where(User.email.is_not(None))).first()
        built = [build(message, person, None, to=person.email) for message in db.session.scalars(
            sa.select(OutboundMessage))]
        db.session.rollback()

        def bare() -> tuple[float, float]:
            started, clock = time.process_time(), time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                for message in built:
                    smtp.send_message(message)
            return (time.process_time() - started) / len(built), len(built) / (time.perf_counter() - clock)

        figures: dict[str, list[tuple[float, float]]] = {"bare smtplib loop": [], "dispatcher": []}
        for _ in range(args.rounds):
            figures["bare smtplib loop"].append(bare())
            figures["dispatcher"].append(dispatcher())
        for name, values in figures.items():
            cpu, rates = [value[0] * 1000 for value in values], [value[1] for value in values]
            print(f"{name}: CPU {statistics.median(cpu):.3f} ms a message ({', '.join(f'{v:.3f}' for v in cpu)}); "
                  f"{statistics.median(rates):,.0f} messages/s ({', '.join(f'{v:,.0f}' for v in rates)})")
        ratios = [(subject[0] / base[0], subject[1] / base[1])
                  for base, subject in zip(figures["bare smtplib loop"], figures["dispatcher"], strict=True)]
        print(f"dispatcher ÷ bare loop, CPU a message: {statistics.median(r[0] for r in ratios):.2f}; "
              f"messages/s: {statistics.median(r[1] for r in ratios):.2f} (rounds in turn, wall clock)")
        if args.no_profile:
            return
        fresh()
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        while dispatch_job(now=datetime.now(UTC))["sent"]:
            pass
        profiler.disable()
    engine.dispose()
    if args.save:
        profiler.dump_stats(args.save)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
