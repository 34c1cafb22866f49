"""Exactly once across processes (PostgreSQL): two `flask scheduler run` processes, a real SMTP
server on 127.0.0.1, the leader killed with SIGKILL in the middle of dispatch and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from classroom import create_app
from classroom.accounts.models import User
from classroom.extensions import db
from classroom.notifications.models import OutboundMessage, SchedulerLease
from tests.conftest import _truncate_all
from tests.test_reminders import Inbox, start_smtp

ROOT = Path(__file__).resolve().parents[1]
LEASE = 5
BATCH = 20


class SlowInbox(Inbox):
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import asyncio

        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def scheduler_process(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "CLASSROOM_ENV": "testing", "CLASSROOM_DATABASE_URL": url,
           "CLASSROOM_SCHEDULER_LEASE_SECONDS": str(LEASE), "CLASSROOM_DISPATCH_INTERVAL_SECONDS": "1",
           "CLASSROOM_DISPATCH_BATCH": str(BATCH), "CLASSROOM_REMINDER_SCAN_SECONDS": "3600",
           "CLASSROOM_MAIL_BACKEND": "smtp", "CLASSROOM_MAIL_SERVER": "127.0.0.1", "CLASSROOM_MAIL_PORT": str(port),
           "CLASSROOM_OUTBOX_CLAIM_SECONDS": str(LEASE)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "classroom", "scheduler", "run"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


@pytest.fixture
def pg_app(postgres_url):
    app = create_app("testing", DATABASE_URL=postgres_url)
    with app.app_context():
        yield app
        db.session.remove()
    _truncate_all(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM scheduler_lease"))
        db.session.commit()


def queue_messages(count: int) -> list[str]:
    person = User(real_name="收件人", mobile="13900009999", email="inbox@example.cn", timezone="UTC",
                  notification_prefs={"quiet_hours": ""}, created_at=datetime.now(UTC))
    db.session.add(person)
    db.session.flush()
    now = datetime.now(UTC)
    keys = [f"bulk:{index}:email" for index in range(count)]
    db.session.execute(OutboundMessage.__table__.insert(), [
        {"user_id": person.id, "channel": "email", "kind": "course.announcement", "dedup_key": key,
         "subject": "通知", "body": key, "status": "queued", "attempts": 0, "next_attempt_at": now,
         "created_at": now} for key in keys])
    db.session.commit()
    return keys


def sent_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "sent"))


def leader() -> str | None:
    db.session.rollback()
    lease = db.session.get(SchedulerLease, "scheduler")
    return lease.holder if lease and lease.expires_at > datetime.now(UTC) else None


def test_exactly_once_with_the_leader_killed_mid_dispatch(pg_app, postgres_url):
    keys = queue_messages(500)
    inbox = SlowInbox()
    controller, port = start_smtp(inbox)
    processes = [scheduler_process(postgres_url, port), scheduler_process(postgres_url, port)]
    try:
        first_leader = wait_for(leader, 30)
        wait_for(lambda: sent_count() >= 100, 60)
        victim = next(p for p in processes if f":{p.pid}:" in first_leader)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        processes.append(scheduler_process(postgres_url, port))  # restarted
        wait_for(lambda: (leader() or first_leader) != first_leader, LEASE * 4)
        takeover = time.monotonic() - killed_at
        wait_for(lambda: sent_count() == 500, 120)
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
    db.session.rollback()
    rows = db.session.scalars(select(OutboundMessage.dedup_key)).all()
    assert sorted(rows) == sorted(keys)  # exactly one row per dedup key
    received = Counter(inbox.keys())
    assert set(received) == set(keys)  # every message arrived
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= BATCH, duplicates  # only those sent but not yet marked when the leader died
    assert takeover <= LEASE * 3, takeover


def test_no_duplicates_without_a_kill(pg_app, postgres_url):
    keys = queue_messages(120)
    inbox = SlowInbox()
    controller, port = start_smtp(inbox)
    processes = [scheduler_process(postgres_url, port), scheduler_process(postgres_url, port)]
    try:
        wait_for(lambda: sent_count() == 120, 60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(15)
        controller.stop()
    received = Counter(inbox.keys())
    assert set(received) == set(keys) and max(received.values()) == 1
