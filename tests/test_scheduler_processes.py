"""Exactly once across processes (PostgreSQL): two `flask scheduler run` processes, a real SMTP
server on 127.0.0.1, the leader killed with SIGKILL in the middle of dispatch and restarted. And
where CLASSROOM_SCHEDULER=on starts the scheduler: in serving processes when the app is created
(`flask run`, in the reloader's child only; gunicorn without its config file), in each gunicorn worker
after the fork by gunicorn.conf.py's hook (with or without --preload), never in other Flask commands."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
from tests.test_reminders import Inbox, free_port, start_smtp

ROOT = Path(__file__).resolve().parents[1]
LEASE = 5
BATCH = 20
# What the lease logic guarantees: the dead leader's last renewal (at most one renewal interval
# before the kill) expires LEASE later, and a standby that polls every renewal interval sees it at its
# next poll. TAKEOVER_SLACK covers the test's own polling, process start and a loaded CI machine.
RENEWAL = max(1.0, LEASE / 3)
TAKEOVER_SLACK = 1.5


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
        killed_at = time.monotonic()
        victim.wait(10)
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
    assert takeover <= LEASE + RENEWAL + TAKEOVER_SLACK, takeover  # the standby takes over within the lease


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


# ---- where the scheduler starts ----------------------------------------------------------------

STARTED = re.compile(r"Scheduler loop started in process (\d+)")


def serving_env(tmp_path: Path) -> dict:
    """A development app on its own SQLite file with CLASSROOM_SCHEDULER=on, as `make run` has it."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD", "FLASK_DEBUG", "FLASK_APP", "CLASSROOM_ENV")}
    env.update({"CLASSROOM_ENV": "development", "CLASSROOM_INSTANCE_PATH": str(tmp_path / "instance"),
                "CLASSROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "CLASSROOM_SCHEDULER": "on",
                "CLASSROOM_SCHEDULER_LEASE_SECONDS": "3", "CLASSROOM_REMINDER_SCAN_SECONDS": "3600",
                "CLASSROOM_DISPATCH_INTERVAL_SECONDS": "3600", "PYTHONUNBUFFERED": "1"})
    return env


def flask_command(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "classroom", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result


def lease_holder(tmp_path: Path) -> str | None:
    with sqlite3.connect(tmp_path / "app.db") as connection:
        row = connection.execute("SELECT holder FROM scheduler_lease WHERE name = 'scheduler'").fetchone()
    return row[0] if row else None


def healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)
    except OSError:
        return None


def test_other_flask_commands_never_start_the_scheduler(tmp_path):
    env = serving_env(tmp_path)
    for args in (["db", "upgrade"], ["routes"], ["scheduler", "--help"]):
        result = flask_command(env, *args)
        assert not STARTED.search(result.stderr), args
    assert lease_holder(tmp_path) is None


SERVERS = {
    "flask run --no-reload": ["-m", "flask", "--app", "classroom", "run", "--no-reload", "--port"],
    "flask run --reload": ["-m", "flask", "--app", "classroom", "run", "--reload", "--port"],
    "gunicorn": ["-m", "gunicorn", "--no-control-socket", "--workers", "1", "classroom:create_app()", "--bind"],
    "gunicorn --preload": ["-m", "gunicorn", "--no-control-socket", "--preload", "--workers", "1",
                           "classroom:create_app()", "--bind"],
    # without gunicorn.conf.py (and its hook) the worker starts the loop as it makes the app
    "gunicorn -c /dev/null": ["-m", "gunicorn", "--no-control-socket", "--config", "/dev/null", "--workers", "1",
                              "classroom:create_app()", "--bind"],
}


@pytest.mark.parametrize("server", list(SERVERS))
def test_a_serving_process_starts_the_scheduler_without_waiting_for_a_request(tmp_path, server):
    env = serving_env(tmp_path)
    flask_command(env, "db", "upgrade")
    port = free_port()
    address = str(port) if server.startswith("flask") else f"127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, *SERVERS[server], address], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # (under gunicorn, gunicorn.conf.py's hook starts it in the worker: with --preload the master makes
        # the app and forks the worker, and must run no thread)
        holder = wait_for(lambda: lease_holder(tmp_path), 60)  # no request was made
        time.sleep(1.5)  # a second loop (the reloader's watcher parent, say) would have said so by now
        started = [int(pid) for pid in STARTED.findall(log_path.read_text())]
        assert len(started) == 1, (started, log_path.read_text()[-3000:])
        assert f":{started[0]}:" in holder
        if server == "flask run --no-reload":
            assert started == [process.pid]
        else:  # the reloader's child, gunicorn's worker: never the process that forked or spawned it
            assert started != [process.pid]
        body = wait_for(lambda: (healthz(port) or {}).get("scheduler", {}).get("leader") and healthz(port), 60)
        assert body["database"] == "ok" and body["scheduler"]["has_leader"] is True and lease_holder(tmp_path) == holder
        assert holder.split(":")[0] not in json.dumps(body)  # the host (and the pid after it) stay private
        healthz(port)
        assert len(STARTED.findall(log_path.read_text())) == 1  # requests start nothing more
        assert "Traceback" not in log_path.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
