"""The drill's load: threads acting as workers and admins through nginx, each request recorded with its
outcome and what it acted on, so that every acknowledged write can be looked up in the primary afterwards.

A Python driver rather than wrk: the exactly-once check needs to know which enrollment and which check-in
each answer acknowledged (the person, the course, the session), and the journeys carry a log-in session
and CSRF tokens from page to page."""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "Gonghui#2026"  # every seeded account's (classroom.seed.DEMO_PASSWORD)
TIMEOUT = 30


@dataclass
class Record:
    """One request as the client saw it. ``status`` 0: no answer (refused, reset, timed out)."""

    at: float  # epoch seconds when it was sent
    ms: float
    op: str
    status: int
    user_id: int | None = None
    target: int | None = None
    note: str = ""


@dataclass
class Answer:
    status: int
    body: str = ""
    location: str = ""


class Client:
    """One person's browser: a cookie jar and one keep-alive connection to nginx, redirects not followed."""

    def __init__(self, host: str, port: int, records: list[Record], lock: threading.Lock,
                 user_id: int | None = None) -> None:
        self.host, self.port, self.records, self.lock, self.user_id = host, port, records, lock, user_id
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None
        self.csrf = ""

    def request(self, op: str, method: str, path: str, *, form: dict | None = None, body: bytes | None = None,
                content_type: str | None = None, target: int | None = None) -> Answer:
        headers = {"Host": "drill.example.cn", "Accept-Encoding": "identity"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body, content_type = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        if content_type:
            headers["Content-Type"] = content_type
        started, began = time.time(), time.perf_counter()
        try:
            answer = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self._record(Record(started, (time.perf_counter() - began) * 1000, op, 0, self.user_id, target,
                                type(error).__name__))
            return Answer(0)
        self._record(Record(started, (time.perf_counter() - began) * 1000, op, answer.status, self.user_id, target))
        if token := CSRF.search(answer.body):
            self.csrf = token.group(1)
        return answer

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Answer:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["expires"] and "1970" in morsel["expires"] or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Answer(response.status, text, response.getheader("Location", ""))

    def _record(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def log_in(self, mobile: str) -> bool:
        self.request("login_page", "GET", "/auth/login")
        answer = self.request("login", "POST", "/auth/login",
                              form={"identifier": mobile, "password": PASSWORD, "csrf_token": self.csrf})
        return answer.status == 302 and "/auth/login" not in answer.location


def multipart(fields: dict[str, str], name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def checkin_code(secret_hex: str, moment: float) -> str:
    """The code the class's screen shows (the app's TOTP: HMAC-SHA1, 6 digits, 30-second steps)."""
    return TOTP(bytes.fromhex(secret_hex), 6, SHA1(), 30, enforce_key_length=False).generate(int(moment)).decode()  # noqa: S303


@dataclass
class Plan:
    """What the load acts on (made by the drill's set-up)."""

    host: str
    port: int
    people: list[tuple[int, str]]  # (user id, mobile) of workers who may log in
    session_course: int  # the course whose class is on now (check-in)
    session_id: int
    checkin_secret: str
    other_courses: list[int]
    union_id: int  # the announcement's union (its members are ``people``)
    import_union_id: int
    import_csv: bytes
    city_admin: str = "13800000002"
    import_admin: str = "13800000004"
    announce_at: float = 15.0  # seconds into the load
    think: tuple[float, float] = (0.05, 0.3)


@dataclass
class Load:
    plan: Plan
    stop: threading.Event = field(default_factory=threading.Event)
    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = 0.0
    import_job: int | None = None
    import_status: str = ""
    announcement: str = ""  # its URL, "not available", or what went wrong
    announcement_title: str = ""
    _next: Iterator[tuple[int, str]] | None = None

    def client(self, user_id: int | None = None) -> Client:
        return Client(self.plan.host, self.plan.port, self.records, self.lock, user_id)

    def pause(self) -> None:
        time.sleep(random.uniform(*self.plan.think))

    # ---- workers ------------------------------------------------------------------------------------
    def next_person(self) -> tuple[int, str] | None:
        with self.lock:
            return next(self._next, None) if self._next else None

    def worker_loop(self) -> None:
        while not self.stop.is_set() and (person := self.next_person()):
            self.worker_journey(*person)

    def worker_journey(self, user_id: int, mobile: str) -> None:
        """Log in, browse, enroll in the class's course and one more, check in, study with heartbeats."""
        client = self.client(user_id)
        try:
            if not client.log_in(mobile):
                return
            for op, path in (("home", "/"), ("catalogue", "/courses/")):
                self.pause()
                client.request(op, "GET", path)
            for course in (self.plan.session_course, random.choice(self.plan.other_courses)):
                self.pause()
                client.request("course", "GET", f"/courses/{course}", target=course)
                client.request("enroll", "POST", f"/courses/{course}/enroll", form={"csrf_token": client.csrf},
                               target=course)
            self.pause()
            client.request("checkin_page", "GET", "/checkin")
            client.request("checkin", "POST", "/checkin", target=self.plan.session_id,
                           form={"code": checkin_code(self.plan.checkin_secret, time.time()),
                                 "session": str(self.plan.session_id), "csrf_token": client.csrf})
            course = self.plan.session_course
            client.request("lesson", "GET", f"/courses/{course}/lessons/1", target=course)
            for _ in range(3):
                if self.stop.is_set():
                    break
                self.pause()
                client.request("heartbeat", "POST", f"/courses/{course}/lessons/1/heartbeat",
                               form={"csrf_token": client.csrf, "read": "500"}, target=course)
            self.pause()
            client.request("my_hours", "GET", "/me/hours")
        finally:
            client.close()

    # ---- admins -------------------------------------------------------------------------------------
    def reports_loop(self) -> None:
        """The city admin reads the hours report (the replica's page) and union pages, again and again."""
        client = self.client()
        while not self.stop.is_set() and not client.log_in(self.plan.city_admin):
            time.sleep(1)
        pages = [("report", "/reports/hours"), ("union_page", f"/unions/{self.plan.union_id}"),
                 ("report", f"/reports/hours?union={self.plan.union_id}")]
        while not self.stop.is_set():
            for op, path in pages:
                answer = client.request(op, "GET", path)
                if op == "report" and "data-replica-notice" in answer.body:
                    with self.lock:
                        self.records[-1].note = "replica notice"
                time.sleep(0.5)
        client.close()

    def import_loop(self, on_commit_started: Callable[[int], None] | None = None) -> None:
        """The grassroots admin uploads the member file, waits for the preview, commits, follows progress."""
        client = self.client()
        while not self.stop.is_set() and not client.log_in(self.plan.import_admin):
            time.sleep(1)
        base = f"/unions/{self.plan.import_union_id}/imports"
        client.request("import_page", "GET", base)
        body, kind = multipart({"csrf_token": client.csrf}, "file", "drill-members.csv", self.plan.import_csv)
        answer = client.request("import_upload", "POST", base, body=body, content_type=kind)
        if answer.status != 302 or not re.search(r"/imports/(\d+)$", answer.location):
            self.import_status = f"upload refused ({answer.status})"
            return
        self.import_job = int(answer.location.rsplit("/", 1)[1])
        job = f"{base}/{self.import_job}"
        committed = False
        while True:
            answer = client.request("import_progress", "GET", f"{job}/progress.json")
            state = _json(answer.body)
            self.import_status = state.get("status", self.import_status)
            if state.get("status") == "ready" and not committed:
                client.request("import_job_page", "GET", job)
                answer = client.request("import_commit", "POST", f"{job}/commit", form={"csrf_token": client.csrf})
                committed = answer.status == 302
                if committed and on_commit_started:
                    on_commit_started(self.import_job)
            elif state.get("status") in ("done", "failed"):
                break
            if self.stop.is_set() and committed:
                break  # the drill waits for the end in the database, after the load
            time.sleep(1)
        client.close()

    def announce(self) -> None:
        """The city admin writes to the whole union (10,000 members); a 404 means the feature is not there."""
        if self.stop.wait(self.plan.announce_at):
            return
        client = self.client()
        client.log_in(self.plan.city_admin)
        client.request("union_page", "GET", f"/unions/{self.plan.union_id}")
        self.announcement_title = f"演练通知 drill-{uuid.uuid4().hex[:8]}"
        answer = client.request("announce", "POST", f"/unions/{self.plan.union_id}/announcements",
                                form={"title": self.announcement_title, "csrf_token": client.csrf,
                                      "body": f"{self.announcement_title}: 请于周五前完成安全生产学习。"})
        if answer.status == 404:
            self.announcement = "not available"
        elif answer.status in (302, 303) and answer.location:
            self.announcement = urllib.parse.urlsplit(answer.location).path
            while not self.stop.wait(3):
                client.request("announcement_progress", "GET", self.announcement)
        else:
            self.announcement = f"refused ({answer.status})"
        client.close()

    # ---- running --------------------------------------------------------------------------------------
    def run(self, users: int, on_commit_started: Callable[[int], None] | None = None) -> list[threading.Thread]:
        """Start the threads; they end their journeys once ``stop`` is set."""
        people = list(self.plan.people)
        random.shuffle(people)
        self._next = iter(people)
        self.started = time.time()
        threads = [threading.Thread(target=self.worker_loop, name=f"worker-{n}", daemon=True) for n in range(users)]
        threads += [threading.Thread(target=self.reports_loop, name="reports", daemon=True),
                    threading.Thread(target=self.import_loop, args=(on_commit_started,), name="import", daemon=True),
                    threading.Thread(target=self.announce, name="announce", daemon=True)]
        for thread in threads:
            thread.start()
        return threads


def _json(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
