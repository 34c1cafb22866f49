"""Exactly once at scale: 10,000 queued emails, two `flask scheduler run` processes on PostgreSQL,
a real SMTP server on 127.0.0.1 (aiosmtpd), the leader killed with SIGKILL in the middle of
dispatch and restarted. The suite runs the same with 500 messages
(tests/test_scheduler_processes.py).

    .venv/bin/python -m benchmarks.outbox [--messages 10000] [--batch 20] [--lease 5] [--only speed]

Checks: one outbox row per dedup key, every key received, duplicates no more than one batch
(only messages sent but not yet marked when the leader died), the standby leads within the
lease. Reports messages/s and the take-over time.

Then the dispatcher's speed: in alternating rounds, ``--throughput`` messages queued and sent by
the dispatcher (one SMTP session per dispatch run, whatever its batches) against a bare `smtplib` loop
sending the same messages (built once beforehand as EmailMessage objects, which smtplib's send_message
serializes at each send) over one connection to the same server; goal ≥ 0.5 of the bare rate.
``--only speed`` runs this part alone (``--only exactly-once`` the first); the other part's rows of an
earlier run stay in benchmarks/out/rows/outbox.json. `benchmarks.profile_outbox` gives the CPU per
message in one process and the dispatcher's profile.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from benchmarks.common import OUT, ROOT, Meter, alternate, database, flask, free_port, record, row

SPEED = "outbox dispatch ÷ bare smtplib loop (one connection)"


class Inbox:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        text = envelope.content.decode("utf-8", "replace")
        key = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                    if line.lower().startswith("x-classroom-dedup-key:")), None)
        with self.lock:
            self.keys.append(key)
        return "250 OK"


def queue(engine, count: int, prefix: str = "bench", user: bool = True) -> list[str]:
    """Queue ``count`` emails to a new person (``user``) or to the first one there is (made if none)."""
    now = datetime.now(UTC)
    keys = [f"{prefix}:{index}:email" for index in range(count)]
    with engine.begin() as connection:
        user_id = None if user else connection.execute(sa.text("SELECT min(id) FROM \"user\"")).scalar()
        user_id = user_id or connection.execute(sa.text(
            "INSERT INTO \"user\" (real_name, mobile, email, timezone, locale, notification_prefs, is_active, "
            "created_at) VALUES ('收件人', '13900009999', 'inbox@example.cn', 'UTC', 'zh_CN', "
            "'{\"quiet_hours\": \"\"}', true, :now) RETURNING id"), {"now": now}).scalar()
        connection.execute(sa.text(
            "INSERT INTO outbound_message (user_id, channel, kind, dedup_key, subject, body, status, attempts, "
            "next_attempt_at, created_at) VALUES (:user_id, 'email', 'course.announcement', :key, '通知', :body, "
            "'queued', 0, :now, :now)"), [{"user_id": user_id, "key": key, "body": key, "now": now} for key in keys])
    return keys


def scheduler(url: str, port: int, args) -> subprocess.Popen:
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_DATABASE_URL": url,
           "CLASSROOM_SCHEDULER_LEASE_SECONDS": str(args.lease), "CLASSROOM_DISPATCH_INTERVAL_SECONDS": "1",
           "CLASSROOM_DISPATCH_BATCH": str(args.batch), "CLASSROOM_REMINDER_SCAN_SECONDS": "3600",
           "CLASSROOM_MAIL_BACKEND": "smtp", "CLASSROOM_MAIL_SERVER": "127.0.0.1", "CLASSROOM_MAIL_PORT": str(port),
           "CLASSROOM_OUTBOX_CLAIM_SECONDS": str(args.lease)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "classroom", "scheduler", "run"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(step)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--lease", type=int, default=5)
    parser.add_argument("--throughput", type=int, default=2000, help="messages per round of the speed check")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("exactly-once", "speed"),
                        help="run one part; the other part's rows of an earlier run are kept")
    args = parser.parse_args()
    recorded = OUT / "rows" / "outbox.json"
    earlier = json.loads(recorded.read_text()) if recorded.exists() else []
    kept = {part: [item for item in earlier if item["measure"].startswith(SPEED) == (part == "speed")]
            for part in ("exactly-once", "speed")}
    ok = True
    with database("outbox") as url:
        if args.only == "speed":
            flask(url, "db", "upgrade")
        else:
            ok = run(url, args)  # records its rows
            kept["exactly-once"] = json.loads(recorded.read_text())
        if args.only != "exactly-once":
            kept["speed"] = speed(url, args)
    record("outbox", kept["exactly-once"] + kept["speed"])
    raise SystemExit(0 if ok else 1)


def speed(url: str, args) -> list[dict]:
    """Dispatcher ÷ bare smtplib loop, messages/s, alternating rounds, the same local server."""
    import smtplib

    from classroom import create_app
    from classroom.accounts.models import User
    from classroom.extensions import db
    from classroom.notifications.emails import build
    from classroom.notifications.jobs import dispatch_job
    from classroom.notifications.models import OutboundMessage

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app = create_app("testing", DATABASE_URL=url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                     PUBLIC_BASE_URL="https://bench.example.cn")
    engine = sa.create_engine(url)
    meter, rounds_done = Meter(url, own=True), [0]
    try:
        with app.app_context():
            with engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM outbound_message"))
            queue(engine, args.throughput, prefix="speed0", user=False)
            person = db.session.scalars(sa.select(User).where(User.email.is_not(None))).first()
            rendered = [(message.dedup_key, build(message, person, None, to=person.email))
                        for message in db.session.scalars(sa.select(OutboundMessage))]
            db.session.rollback()

            def bare():
                with meter.span() as sample, smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for _key, message in rendered:
                        smtp.send_message(message)
                    sample.count = len(rendered)
                return sample

            def dispatcher():
                rounds_done[0] += 1
                with engine.begin() as connection:
                    connection.execute(sa.text("DELETE FROM outbound_message"))
                queue(engine, args.throughput, prefix=f"speed{rounds_done[0]}", user=False)
                with meter.span() as sample:
                    while (sent := dispatch_job(now=datetime.now(UTC))["sent"]):
                        sample.count += sent
                if sample.count != args.throughput:
                    raise RuntimeError(f"dispatched {sample.count} of {args.throughput}")
                return sample

            result = alternate(bare, dispatcher, args.rounds, ("bare smtplib loop", "dispatcher"))
            opened = getattr(app.extensions["mail_backend"]["smtp"], "opened", None)
    finally:
        controller.stop()
        engine.dispose()
    batches = math.ceil(args.throughput / app.config["DISPATCH_BATCH"]) * args.rounds
    print(f"SMTP sessions the dispatcher opened: {opened} for {batches} batches")
    return [row(f"{SPEED}, messages/s ({args.throughput:,} a round)",
                result.speed(), target="≥ 0.5", cpu=result.cpu(),
                note=f"{opened} SMTP sessions for {batches} batches of {app.config['DISPATCH_BATCH']}")]


def run(url: str, args) -> bool:
    """Queue, dispatch with two schedulers, kill the leader; print and record what arrived."""
    flask(url, "db", "upgrade")
    engine = sa.create_engine(url)
    keys = queue(engine, args.messages)

    def sent() -> int:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM outbound_message WHERE status = 'sent'")).scalar()

    def leader() -> str | None:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT holder FROM scheduler_lease WHERE name = 'scheduler' "
                                              "AND expires_at > now()")).scalar()

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    processes = [scheduler(url, port, args), scheduler(url, port, args)]
    started = time.monotonic()
    try:
        first = wait_for(leader, 120)  # two processes starting on a loaded machine
        wait_for(lambda: sent() >= args.messages // 3, 600)
        victim = next(process for process in processes if f":{process.pid}:" in first)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        processes.append(scheduler(url, port, args))  # the killed one, restarted
        wait_for(lambda: (leader() or first) != first, args.lease * 4)
        takeover = time.monotonic() - killed_at
        wait_for(lambda: sent() == args.messages, 1800, step=0.5)
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        controller.stop()
    with engine.connect() as connection:
        rows = Counter(connection.execute(sa.text("SELECT dedup_key FROM outbound_message")).scalars())
    engine.dispose()
    received = Counter(inbox.keys)
    duplicates = sum(count - 1 for count in received.values())
    one_row_each = set(rows) == set(keys) and max(rows.values()) == 1
    all_received = set(received) == set(keys)
    print(f"{args.messages:,} messages, batch {args.batch}, lease {args.lease} s, two schedulers, leader killed "
          f"after {args.messages // 3:,} sent and restarted")
    print(f"outbox rows: one per dedup key: {one_row_each}")
    print(f"received every key: {all_received} ({len(inbox.keys):,} deliveries, {duplicates} duplicates, "
          f"allowed ≤ {args.batch})")
    print(f"standby took over in {takeover:.1f} s (lease {args.lease} s)")
    print(f"all sent in {elapsed:.1f} s: {args.messages / elapsed:,.0f} messages/s")
    ok = one_row_each and all_received and duplicates <= args.batch and takeover <= args.lease * 3
    record("outbox", [
        row(f"outbox, {args.messages:,} emails, leader killed: one row per key, every key received, duplicates",
            f"{'yes' if one_row_each and all_received else 'NO'}, {duplicates}", target=f"yes, ≤ {args.batch}",
            met=one_row_each and all_received and duplicates <= args.batch),
        row("outbox: the standby leads after the kill, s", round(takeover, 1), target=f"≤ {args.lease * 3}"),
        row("outbox: messages/s to a local SMTP server", round(args.messages / elapsed))])
    return ok


if __name__ == "__main__":
    main()
