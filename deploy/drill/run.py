"""The failover drill (issue 18): the production shape on this machine under a mixed load, broken on purpose,
then checked. ``make drill`` or ``.venv/bin/python -m deploy.drill [--seconds 120]``; run as root (initdb
runs as the postgres user), with Redis on 127.0.0.1:6379, nginx and PostgreSQL's server binaries installed.

1. A primary (initdb) and a streaming replica (pg_basebackup -R) in a temporary folder, on free ports;
   migrated and seeded (``flask seed-demo``, ``flask seed-scale`` for the announcement's 10,000 members).
2. nginx → two gunicorn masters, two ``flask scheduler run``, two ``flask queue worker``, an SMTP sink.
3. The load (deploy/drill/load.py) for ``--seconds``: workers log in, browse, enroll, check in and study;
   admins read reports, import 20,000 members, announce to 10,000. Meanwhile: SIGKILL of one app host, of
   the leading scheduler, of the queue worker running the import's commit; the replica stopped for 20 s.
4. Checks: every acknowledged enrollment and check-in once in the primary, the import all there once, one
   email per announcement recipient; client errors < 1 % and only just after a fault; p50/p95 before,
   during and after; the scheduler's take-over and the dead host's time to leave nginx's rotation.
Everything it started is stopped and every folder removed, however it ends (Ctrl-C included). The exit
status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import redis

from deploy.drill import checks
from deploy.drill.checks import Fault
from deploy.drill.cluster import Cluster
from deploy.drill.load import Load, Plan
from deploy.drill.sink import Sink
from deploy.drill.topology import BIN, ROOT, Topology, upstream_settings

OUT = ROOT / "benchmarks" / "out" / "drill"
IMPORT_PREFIX = "1770"  # the imported members' mobiles
ERROR_WINDOW = 15.0  # seconds after a fault in which client errors are put down to it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_redis_db(url: str) -> tuple[str, redis.Redis]:
    """An empty Redis database (from 15 down), ours for the run and emptied at the end."""
    for number in range(15, 0, -1):
        connection = redis.Redis.from_url(f"{url.rstrip('/')}/{number}")
        if connection.dbsize() == 0:
            connection.set("classroom-drill:claimed", os.getpid(), ex=3600)
            return f"{url.rstrip('/')}/{number}", connection
    raise SystemExit("No empty Redis database for the drill.")


def app_env(folder: Path, primary: str, replica: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    from config import _new_signing_key_pem

    settings = {
        "ENV": "production", "DATABASE_URL": primary, "REPLICA_DATABASE_URL": replica,
        "SECRET_KEY": secrets.token_urlsafe(32), "FERNET_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
        "LOOKUP_HASH_KEY": "drill", "CERTIFICATE_SIGNING_KEY": json.dumps(_new_signing_key_pem()),
        "PUBLIC_BASE_URL": "https://drill.example.cn", "PROXY_COUNT": "1",
        # plain HTTP between the load and nginx (TLS is nginx's part, not drilled here)
        "SESSION_COOKIE_SECURE": "false", "REMEMBER_COOKIE_SECURE": "false", "HSTS": "false",
        "RATELIMIT_STORAGE_URL": redis_url, "AUTH_CACHE_URL": redis_url, "QUEUE_URL": redis_url,
        "LOGIN_LIMIT_PER_IP": '"100000 per minute"',  # every simulated person comes from 127.0.0.1
        "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
        "QUIET_HOURS": '""',  # the drill may run at night: email goes at once
        "OUTBOX_CLAIM_SECONDS": "30",  # a dead leader's claimed batch is sent again after this (default 300)
        "UPLOAD_FOLDER": str(folder / "uploads"), "INSTANCE_PATH": str(folder), "LOG_FORMAT": "json",
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLASSROOM_")}
    env.update({f"CLASSROOM_{key}": value for key, value in settings.items()})
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", WEB_CONCURRENCY="3")
    return env


def flask(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(BIN / "flask"), "--app", "classroom", *args], env=env, cwd=ROOT, check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout


def prepare(dsn: str, members: int) -> dict:
    """The drill's fixtures on top of the seeds: the announcement's union (its members get addresses),
    a class on now with self check-in open (a secret the load knows), courses open to everyone."""
    secret = secrets.token_hex(20)
    with psycopg.connect(dsn, autocommit=False) as db:
        union_id, union_members = db.execute(
            "SELECT m.union_id, count(*) FROM membership m JOIN trade_union t ON t.id = m.union_id "
            "WHERE t.code <> 'DC01' GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
        db.execute("UPDATE \"user\" u SET email = 'w' || u.id || '@drill.example.cn' FROM membership m "
                   "WHERE m.user_id = u.id AND m.union_id = %s", (union_id,))
        people = db.execute("SELECT u.id, u.mobile FROM \"user\" u JOIN membership m ON m.user_id = u.id "
                            "WHERE m.union_id = %s ORDER BY u.id", (union_id,)).fetchall()
        import_union = db.execute("SELECT id FROM trade_union WHERE code = 'DC01'").fetchone()[0]
        courses = [row[0] for row in db.execute(
            "SELECT id FROM course WHERE status = 'published' AND capacity IS NULL AND NOT requires_approval "
            "AND scope_union_id = (SELECT id FROM trade_union WHERE parent_id IS NULL) ORDER BY id").fetchall()]
        session_course, others = courses[0], courses[1:]
        db.execute("UPDATE course SET mode = 'blended', enroll_opens_at = NULL, enroll_closes_at = NULL "
                   "WHERE id = ANY(%s)", (courses,))
        session_id = db.execute(
            "INSERT INTO class_session (course_id, title, starts_at, ends_at, venue_name, credit_minutes, created_at, "
            "sequence, updated_at) VALUES (%s, '演练班次', now() - interval '5 minutes', now() + interval '3 hours', "
            "'东城区职工服务站', 90, now(), 0, now()) RETURNING id", (session_course,)).fetchone()[0]
        db.execute("INSERT INTO session_checkin (session_id, secret, opened_at) VALUES (%s, %s, now())",
                   (session_id, secret))
        seats = dict(db.execute("SELECT id, enrolled_count FROM course WHERE id = ANY(%s)", (courses,)).fetchall())
        db.commit()
    return {"union_id": union_id, "union_members": union_members, "people": people, "import_union": import_union,
            "session_course": session_course, "others": others, "session_id": session_id, "secret": secret,
            "seats": seats}


def import_file(rows: int, union_code: str = "DC01") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会"])
    trades, levels = ["电工", "钳工", "数控车工"], ["五级/初级工", "四级/中级工", "三级/高级工"]
    for n in range(rows):
        writer.writerow([f"演练职工{n:05d}", f"{IMPORT_PREFIX}{n:07d}", "华东机电集团有限公司", trades[n % 3],
                         levels[n % 3], "", union_code])
    return buffer.getvalue().encode("utf-8-sig")


class Drill:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="classroom-drill-"))
        self.folder.chmod(0o755)
        self.cluster: Cluster | None = None
        self.topology: Topology | None = None
        self.sink: Sink | None = None
        self.redis: redis.Redis | None = None
        self.faults: list[Fault] = []
        self.facts: dict = {}
        self.lock = threading.Lock()

    # ---- set-up -------------------------------------------------------------------------------------------
    def set_up(self) -> Load:
        started = time.monotonic()
        self.cluster = Cluster((free_port(), free_port()))
        self.cluster.start()
        redis_url, self.redis = free_redis_db(self.args.redis)
        smtp_port = free_port()
        self.sink = Sink(smtp_port)
        self.sink.start()
        env = app_env(self.folder, self.cluster.primary.url(), self.cluster.replica.url(), redis_url, smtp_port)
        print(f"primary :{self.cluster.primary.port}, replica :{self.cluster.replica.port}, {redis_url}, "
              f"SMTP sink :{smtp_port}; logs in {self.folder}")
        flask(env, "db", "upgrade")
        flask(env, "seed-demo", "--workers", "0")
        flask(env, "seed-scale", "--workers", str(self.args.members), "--unions", "1")
        fixtures = prepare(self.cluster.primary.dsn(), self.args.members)
        self.facts.update(fixtures)
        self.cluster.wait_replica()
        self.topology = Topology(self.folder, env, free_port(), [free_port(), free_port()])
        self.topology.start_all()
        self.topology.wait_ready()
        self.wait_for(lambda: self.leader() is not None, 60, "a scheduler to lead")
        print(f"set up in {time.monotonic() - started:.0f} s: nginx :{self.topology.nginx_port} → "
              f"{', '.join(f':{port}' for port in self.topology.hosts)}; the announcement's union has "
              f"{fixtures['union_members']:,} members")
        plan = Plan(host="127.0.0.1", port=self.topology.nginx_port,
                    people=[(row[0], row[1]) for row in fixtures["people"]],
                    session_course=fixtures["session_course"], session_id=fixtures["session_id"],
                    checkin_secret=fixtures["secret"], other_courses=fixtures["others"],
                    union_id=fixtures["union_id"], import_union_id=fixtures["import_union"],
                    import_csv=import_file(self.args.import_rows), announce_at=self.args.seconds * 0.15)
        return Load(plan)

    # ---- probes -------------------------------------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        assert self.cluster is not None
        with psycopg.connect(self.cluster.primary.dsn(), autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def leader(self) -> str | None:
        rows = self.query("SELECT holder FROM scheduler_lease WHERE name = 'scheduler' AND expires_at > now()")
        return rows[0][0] if rows else None

    @staticmethod
    def wait_for(condition, timeout: float, what: str, step: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.Error):
                if value := condition():
                    return value
            time.sleep(step)
        raise TimeoutError(f"timed out waiting for {what}")

    def fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    # ---- the faults ---------------------------------------------------------------------------------------
    def kill_app_host(self) -> None:
        assert self.topology is not None
        at = self.topology.kill("web1")
        self.facts["dead_host"] = f"127.0.0.1:{self.topology.hosts[0]}"
        self.fault(Fault("app host web1 SIGKILL", at))
        print(f"  {self.clock(at)} SIGKILL web1 (gunicorn master and workers, :{self.topology.hosts[0]})")

    def kill_leader(self) -> None:
        assert self.topology is not None
        holder = self.leader() or ""
        victim = next((name for name in ("scheduler1", "scheduler2")
                       if f":{self.topology.processes[name].popen.pid}:" in f"{holder}:"), None)  # type: ignore[union-attr]
        if victim is None:
            self.facts["takeover"] = f"no leader found ({holder!r})"
            return
        at = self.topology.kill(victim)
        self.fault(Fault(f"leading scheduler {victim} SIGKILL", at))
        print(f"  {self.clock(at)} SIGKILL {victim}, the leading scheduler ({holder})")
        try:
            self.wait_for(lambda: (now := self.leader()) is not None and now != holder, 180, "a new leader")
            self.facts["takeover"] = time.time() - at
            print(f"  {self.clock(time.time())} the other scheduler leads "
                  f"({self.facts['takeover']:.1f} s after the kill)")
        except TimeoutError:
            self.facts["takeover"] = None

    def stop_replica(self, seconds: float) -> None:
        assert self.cluster is not None
        at = time.time()
        self.cluster.stop_node(self.cluster.replica)
        print(f"  {self.clock(at)} replica stopped for {seconds:.0f} s")
        time.sleep(seconds)
        self.cluster.start_node(self.cluster.replica)
        until = time.time()
        self.fault(Fault("replica stopped", at, until))
        print(f"  {self.clock(until)} replica started again")
        with contextlib.suppress(RuntimeError):
            self.facts["replica_catch_up"] = self.cluster.wait_replica(120)

    def watch_import(self, load: Load, stop: threading.Event) -> None:
        """SIGKILL the queue worker (and its work-horse) that runs the import's commit, in the middle of it."""
        assert self.topology is not None
        while not stop.is_set():
            job = load.import_job
            rows = (self.query("SELECT status, phase, processed, total FROM import_job WHERE id = %s", (job,))
                    if job else [])
            if rows and rows[0][0] in ("done", "failed"):
                self.facts["import_kill"] = f"not done: the import ended ({rows[0][0]}) before it could be killed"
                return
            if rows and rows[0][0] == "running" and rows[0][1] == "writing" and rows[0][2] >= rows[0][3] * 0.1:
                busy = [name for name in ("worker1", "worker2") if self.topology.processes[name].children()]
                if busy:
                    at = self.topology.kill(busy[0])
                    self.fault(Fault(f"queue worker {busy[0]} SIGKILL mid-import", at))
                    [(status,)] = self.query("SELECT status FROM import_job WHERE id = %s", (job,))
                    if status != "running":  # the commit ended in the moment between the look and the kill
                        self.facts["import_kill"] = f"too late: {busy[0]} killed once the import was {status}"
                    else:
                        self.facts["import_kill"] = (f"{busy[0]} killed mid-commit ({rows[0][2]:,} of "
                                                     f"{rows[0][3]:,} rows written)")
                    print(f"  {self.clock(at)} SIGKILL {busy[0]} and its work-horse: the import's commit had "
                          f"written {rows[0][2]:,} of {rows[0][3]:,} rows; job now {status}")
                    return
            time.sleep(0.1)

    def clock(self, moment: float) -> str:
        return f"t={moment - self.started:5.1f}s"

    # ---- the run ------------------------------------------------------------------------------------------
    def run(self) -> bool:
        load = self.set_up()
        seconds = self.args.seconds
        print(f"load: {self.args.users} workers' journeys at once, reports, an import of {self.args.import_rows:,}, "
              f"an announcement to {self.facts['union_members']:,}, for {seconds:.0f} s")
        threads = load.run(self.args.users)
        self.started = load.started
        stop_watch = threading.Event()
        watcher = threading.Thread(target=self.watch_import, args=(load, stop_watch), daemon=True)
        watcher.start()
        schedule = [(0.25, self.kill_app_host), (0.40, self.kill_leader),
                    (0.55, lambda: self.stop_replica(min(20.0, seconds * 0.2)))]
        helpers = []
        for share, action in schedule:
            time.sleep(max(0.0, load.started + seconds * share - time.time()))
            helper = threading.Thread(target=action, daemon=True)
            helper.start()
            helpers.append(helper)
        time.sleep(max(0.0, load.started + seconds - time.time()))
        load.stop.set()
        ended = time.time()
        for thread in [*threads, *helpers]:
            thread.join(120)
        stop_watch.set()
        print(f"  {self.clock(ended)} load stopped; {len(load.records):,} requests")
        self.settle(load)
        return self.report(load, ended)

    def settle(self, load: Load) -> None:
        """Wait for the queued work to end: the import (retried after the kill), the announcement's emails."""
        started = time.monotonic()
        if load.import_job:
            with contextlib.suppress(TimeoutError):
                self.wait_for(lambda: self.import_status(load.import_job) in ("done", "failed"), self.args.settle,
                              "the import", step=1)
        self.facts["import_settled"] = time.monotonic() - started
        if load.announcement.startswith("/"):
            with contextlib.suppress(TimeoutError):
                self.wait_for(lambda: self.outbox_idle(), self.args.settle, "the outbox", step=1)
        self.facts["outbox_settled"] = time.monotonic() - started

    def import_status(self, job: int | None) -> str:
        return self.query("SELECT status FROM import_job WHERE id = %s", (job,))[0][0]

    def outbox_idle(self) -> bool:
        rows = self.query("SELECT count(*) FROM outbound_message WHERE channel = 'email' AND status NOT IN "
                          "('sent', 'failed', 'dropped')")
        return rows[0][0] == 0

    # ---- the verdict --------------------------------------------------------------------------------------
    def report(self, load: Load, ended: float) -> bool:
        records, facts, verdicts = load.records, self.facts, []
        people = [row[0] for row in facts["people"]]
        courses = [facts["session_course"], *facts["others"]]
        stored = Counter(self.query("SELECT user_id, course_id FROM enrollment WHERE user_id = ANY(%s) "
                                    "AND course_id = ANY(%s)", (people, courses)))
        enrol = checks.exactly_once(checks.acknowledged(records, "enroll"), stored,
                                    checks.unanswered(records, "enroll"))
        attended = Counter(self.query("SELECT user_id, session_id FROM attendance WHERE session_id = %s",
                                      (facts["session_id"],)))
        check_in = checks.exactly_once(checks.acknowledged(records, "checkin"), attended,
                                       checks.unanswered(records, "checkin"))
        doubled_hours = self.query("SELECT user_id, source_key FROM hours_entry GROUP BY 1, 2 HAVING count(*) > 1")
        # each course's seat counter grew by exactly the drill's new enrolled rows (no lost or doubled update)
        counters = self.query("SELECT c.id, c.enrolled_count, count(e.id) FILTER (WHERE e.status = 'enrolled' "
                              "AND e.user_id = ANY(%s)) FROM course c LEFT JOIN enrollment e ON e.course_id = c.id "
                              "WHERE c.id = ANY(%s) GROUP BY c.id, c.enrolled_count", (people, courses))
        counters_ok = all(kept - facts["seats"][course] == counted for course, kept, counted in counters)
        print("\n== exactly once (acknowledged = answered 302 by the app) ==")
        for name, once in (("enrollments", enrol), ("check-ins", check_in)):
            line = (f"{name}: {once.acknowledged:,} acknowledged, {len(once.missing)} missing in the primary, "
                    f"{len(once.doubled)} stored twice, {len(once.extra)} stored without any request")
            print(line)
            verdicts.append((name, once.ok and not once.extra))
        print(f"hours ledger: {len(doubled_hours)} entries credited twice; course counters match their rows: "
              f"{counters_ok}")
        verdicts += [("hours once", not doubled_hours), ("enrolled counters", counters_ok)]
        verdicts.append(self.check_import(load))
        verdicts.append(self.check_announcement(load))

        print("\n== errors seen by clients (no answer or 5xx) ==")
        errors = checks.failover_errors(records, self.faults, ERROR_WINDOW)
        refused = Counter(f"{record.op} {record.status}" for record in records if 400 <= record.status < 500)
        print(f"{len(errors.failed)} of {errors.total:,} requests ({errors.share:.2%}; target < 1 %); by fault: "
              f"{errors.by_fault(self.faults, ERROR_WINDOW) or '-'}; outside {ERROR_WINDOW:.0f} s after a fault: "
              f"{len(errors.outside)}; 4xx answers: {dict(refused) or 0}")
        for record in errors.failed[:8]:
            print(f"   {self.clock(record.at)} {record.op} {record.status or record.note}")
        verdicts += [("errors < 1 %", errors.share < 0.01), ("errors only after faults", not errors.outside)]

        print("\n== latency (ms, requests answered) ==")
        spans = checks.phases(self.faults, load.started, ended)
        for name, (count, p50, p95) in checks.latency_by_phase(records, spans).items():
            low, high = next((low, high) for span, low, high in spans if span == name)
            print(f"{name:<7} t={low - load.started:5.1f}–{high - load.started:5.1f}s  {count:6,} requests  "
                  f"p50 {p50:6.0f}  p95 {p95:6.0f}")
        by_op = checks.latency_by_op(records)
        ranked = sorted(by_op.items(), key=lambda item: -item[1][0])
        print("by request: " + "; ".join(f"{op} {count:,} p50 {p50:.0f} p95 {p95:.0f}"
                                         for op, (count, p50, p95) in ranked))
        reports = [record for record in records if record.op == "report"]
        replica = next((fault for fault in self.faults if fault.name == "replica stopped"), None)
        if replica:
            down = [record for record in reports if replica.at <= record.at < replica.end]
            said = sum(record.note == "replica notice" for record in down)
            fine = all(200 <= record.status < 300 for record in down)
            print(f"reports while the replica was down: {len(down)}, all answered: {fine}, "
                  f"{said} said the figures came from the main database")
            verdicts.append(("reports without the replica", fine and bool(down)))

        print("\n== failover ==")
        max_fails, fail_timeout = upstream_settings()
        log = (self.folder / "nginx-access.log").read_text().splitlines()
        if "dead_host" in facts:
            killed_at = self.topology.processes["web1"].killed_at  # type: ignore[union-attr]
            rotation = checks.out_of_rotation(log, facts["dead_host"], killed_at or 0.0, max_fails)
            out = f"{rotation.out_after:.2f} s" if rotation.out_after is not None else "never"
            print(f"dead app host out of nginx's rotation {out} after the kill (max_fails={max_fails}, "
                  f"fail_timeout={fail_timeout}s): {rotation.failed_attempts} tries on it after the kill, "
                  f"{rotation.client_errors} reached a client")
            verdicts.append(("dead host out of rotation", rotation.out_after is not None))
        takeover = facts.get("takeover")
        print(f"the other scheduler led {takeover:.1f} s after the leader's kill" if isinstance(takeover, float)
              else f"scheduler take-over: {takeover}")
        verdicts.append(("scheduler take-over", isinstance(takeover, float)))
        if "replica_catch_up" in facts:
            print(f"replica caught up with the primary {facts['replica_catch_up']:.1f} s after it was started again")

        failed = [name for name, ok in verdicts if not ok]
        print(f"\n{'PASS' if not failed else 'FAIL: ' + ', '.join(failed)}  ({len(records):,} requests in "
              f"{ended - load.started:.0f} s)")
        return not failed

    def check_import(self, load: Load) -> tuple[str, bool]:
        rows = self.query("SELECT status, created_count, total, extract(epoch FROM finished_at) FROM import_job "
                          "WHERE id = %s", (load.import_job,)) if load.import_job else []
        people, members, distinct = self.query(
            "SELECT (SELECT count(*) FROM \"user\" WHERE mobile LIKE %s), count(m.id), count(DISTINCT m.user_id) "
            "FROM membership m JOIN \"user\" u ON u.id = m.user_id WHERE u.mobile LIKE %s",
            (IMPORT_PREFIX + "%", IMPORT_PREFIX + "%"))[0]
        wanted = self.args.import_rows
        ok = bool(rows) and rows[0][0] == "done" and people == members == distinct == wanted
        status = rows[0][0] if rows else load.import_status or "not started"
        print(f"import of {wanted:,}: job {status}; {people:,} people, {members:,} memberships "
              f"({distinct:,} distinct); {self.facts.get('import_kill', 'worker kill: not done')}; the retry "
              f"finished at {self.clock(float(rows[0][3])) if rows and rows[0][3] else '-'}")
        return "import all there once", ok and "mid-commit" in self.facts.get("import_kill", "")

    def check_announcement(self, load: Load) -> tuple[str, bool]:
        if load.announcement == "not available":
            print("announcement step: not available (POST /unions/<id>/announcements answered 404)")
            return "announcement", True
        if not load.announcement.startswith("/"):
            print(f"announcement: {load.announcement or 'not sent'}")
            return "announcement", False
        expected = {row[0].lower() for row in self.query(
            "SELECT u.email FROM \"user\" u JOIN membership m ON m.user_id = u.id WHERE m.union_id = %s "
            "AND m.status = 'active' AND u.email IS NOT NULL", (self.facts["union_id"],))}
        assert self.sink is not None
        mail = checks.one_email_each(expected, self.sink.inbox.recipients_of(load.announcement_title))
        print(f"announcement to {mail.expected:,} members: {mail.received:,} emails at the sink, {len(mail.missing)} "
              f"members without one, {len(mail.duplicated)} with more than one, {len(mail.unexpected)} to others "
              f"(outbox settled {self.facts.get('outbox_settled', 0):.0f} s after the load)")
        return "one email per recipient", mail.ok

    # ---- clean-up -----------------------------------------------------------------------------------------
    def clean_up(self) -> None:
        if self.topology:
            self.topology.stop_all()
        if self.sink:
            with contextlib.suppress(Exception):
                self.sink.stop()
        if self.cluster:
            self.cluster.remove()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.flushdb()  # it was empty when the drill took it
        OUT.mkdir(parents=True, exist_ok=True)
        for log in self.folder.glob("*.log"):
            with contextlib.suppress(OSError):
                shutil.copy(log, OUT / log.name)
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="how long the load runs (default 120)")
    parser.add_argument("--users", type=int, default=10, help="workers' journeys at once (default 10)")
    parser.add_argument("--members", type=int, default=10_000, help="the announcement's union (default 10,000)")
    parser.add_argument("--import-rows", type=int, default=20_000, help="members imported (default 20,000)")
    parser.add_argument("--settle", type=float, default=600, help="longest wait for queued work after the load")
    parser.add_argument("--redis", default=os.environ.get("DRILL_REDIS_URL", "redis://127.0.0.1:6379"))
    args = parser.parse_args(argv)
    if shutil.which("nginx") is None:
        raise SystemExit("The drill needs nginx (apt-get install nginx-light).")

    def interrupted(signum: int, _frame) -> None:
        raise SystemExit(128 + signum)  # unwinds into clean_up

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background (SIGINT ignored there)
    drill = Drill(args)
    drill.started = time.time()
    try:
        passed = drill.run()
    finally:
        print("cleaning up: stopping every process, removing the clusters and temporary folders …")
        drill.clean_up()
        print(f"logs kept in {OUT.relative_to(ROOT)}/")
    return 0 if passed else 1
