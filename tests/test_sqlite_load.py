"""The embedded default under load: `make run`'s configuration (a SQLite file in WAL mode, the
development server, the scheduler on in-process with a short lease and busy jobs) with 16 threads
logging in, registering, enrolling and checking in for 30 s answers no 5xx, and every write it
acknowledged is in the database afterwards."""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from tests.test_scheduler_processes import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
THREADS = 16
SECONDS = 30
PASSWORD = "Gonghui#2026"  # seed-demo's
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.slow


def make_run_env(tmp_path: Path, port: int) -> dict:
    """What `make run` sets, plus a short lease and jobs that write every second."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD", "FLASK_DEBUG", "FLASK_APP")
           and not key.startswith("CLASSROOM_")}
    env.update({"CLASSROOM_ENV": "development", "CLASSROOM_INSTANCE_PATH": str(tmp_path / "instance"),
                "CLASSROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'classroom.db'}",
                "CLASSROOM_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "CLASSROOM_SCHEDULER": "on",
                "CLASSROOM_SCHEDULER_LEASE_SECONDS": "2", "CLASSROOM_DISPATCH_INTERVAL_SECONDS": "1",
                "CLASSROOM_REMINDER_SCAN_SECONDS": "2", "CLASSROOM_REGISTER_LIMIT_PER_IP": '"100000 per hour"',
                "PYTHONUNBUFFERED": "1"})
    return env


def flask(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "classroom", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)  # (path, status, body excerpt) of every 5xx or failure
    registered: list = field(default_factory=list)  # mobiles whose registration was acknowledged
    enrolled: list = field(default_factory=list)  # (user id, course id)
    checked_in: list = field(default_factory=list)  # user ids
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, bucket: str, value) -> None:
        with self.lock:
            getattr(self, bucket).append(value)


class Browser:
    """One person's cookie jar against the server; no redirects followed, so answers are seen as sent."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str, tally: Tally) -> None:
        self.base, self.tally = base, tally
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirect())

    def request(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode(errors="replace")
        with self.tally.lock:
            self.tally.statuses[status] += 1
            if status >= 500:
                self.tally.errors.append((path, status, body[-300:]))
        return status, body

    def post_form(self, path: str, form: dict, page: str | None = None) -> tuple[int, str]:
        """GET the page for its CSRF token, then POST the form."""
        _status, body = self.request(page or path)
        match = CSRF.search(body)
        assert match, f"no CSRF token on {page or path}"
        return self.request(path, {"csrf_token": match.group(1) or match.group(2), **form})


def one_round(browser: Browser, rng: random.Random, scene: dict, totp: TOTP, serial: int) -> None:
    """A newcomer registers; a demo worker logs in, enrolls in a course, checks in, logs out."""
    tally = browser.tally
    mobile = f"166{os.getpid() % 1000:03d}{serial:05d}"
    status, _ = browser.post_form("/auth/register", {"real_name": "并发测试", "mobile": mobile, "password": "Xuexi!2026ok",
                                                     "confirm": "Xuexi!2026ok", "consent": "y", "union_id": scene["union_id"]})
    if status == 302:
        tally.add("registered", mobile)
        browser.post_form("/auth/logout", {}, page="/")
    worker = rng.choice(scene["workers"])
    status, _ = browser.post_form("/auth/login", {"identifier": worker["mobile"], "password": PASSWORD})
    if status != 302:
        return
    course_id = rng.choice(scene["course_ids"])
    status, _ = browser.post_form(f"/courses/{course_id}/enroll", {}, page=f"/courses/{course_id}")
    if status == 302:
        _, page = browser.request(f"/courses/{course_id}")
        if "alert-success" in page or "alert-info" in page:  # enrolled, waitlisted, pending, or already signed up
            tally.add("enrolled", (worker["id"], course_id))
    code = totp.generate(int(time.time())).decode()
    status, _ = browser.post_form("/checkin", {"code": code, "session": str(scene["session_id"])}, page="/checkin")
    if status == 302:
        tally.add("checked_in", worker["id"])
    browser.post_form("/auth/logout", {}, page="/")


def test_make_run_configuration_answers_no_5xx_and_keeps_every_acknowledged_write(tmp_path):
    port = free_port()
    env = make_run_env(tmp_path, port)
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--if-empty")
    prep = subprocess.run([sys.executable, "-m", "tests.sqlite_load_prep"], cwd=ROOT, capture_output=True,
                          env={**env, "CLASSROOM_SCHEDULER": "off"},
                          text=True, timeout=120)
    assert prep.returncode == 0, prep.stderr[-3000:]
    scene = json.loads(prep.stdout.strip().splitlines()[-1])
    totp = TOTP(bytes.fromhex(scene["secret"]), 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "classroom", "run", "--no-reload",
                                   "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    tally = Tally()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), 60)
        deadline = time.monotonic() + SECONDS

        def worker(index: int) -> None:
            rng, browser, serial = random.Random(index), Browser(base, tally), index * 10000
            while time.monotonic() < deadline:
                serial += 1
                one_round(browser, rng, scene, totp, serial)

        threads = [threading.Thread(target=worker, args=(index,)) for index in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SECONDS + 120)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    server_log = log_path.read_text()
    assert "Scheduler" in server_log and "now leads" in server_log, server_log[-2000:]  # the scheduler ran
    assert not tally.errors, (tally.errors[:5], tally.statuses)
    assert "database is locked" not in server_log, server_log[-3000:]
    assert tally.registered and tally.enrolled and tally.checked_in, tally.statuses
    with sqlite3.connect(tmp_path / "classroom.db") as connection:
        mobiles = {row[0] for row in connection.execute("SELECT mobile FROM user")}
        enrollments = set(connection.execute("SELECT user_id, course_id FROM enrollment"))
        present = {row[0] for row in connection.execute("SELECT user_id FROM attendance WHERE session_id = ?",
                                                        (scene["session_id"],))}
    assert set(tally.registered) <= mobiles
    assert set(tally.enrolled) <= enrollments
    assert set(tally.checked_in) <= present
    print(f"answers: {dict(tally.statuses)}; registered {len(tally.registered)}, enrolled {len(tally.enrolled)}, "
          f"checked in {len(tally.checked_in)}")


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
