"""Scheduled work: APScheduler 3, one leader at a time.

Every enabled process (the web workers with CLASSROOM_SCHEDULER=on, or `flask scheduler run`)
runs a small loop that tries to hold a lease row in the database. The holder starts a
BackgroundScheduler with the registered jobs; the others wait, and take over once the lease
lapses (a killed leader stops renewing it). Jobs are set-based scans made idempotent by unique
keys, so a scan that runs twice (a lease lost mid-scan) changes nothing the second time. Jobs
start at once when a process becomes leader, so a restart runs each missed scan once. A job that
takes ``still_leading`` (the dispatcher) checks it between batches, so a deposed leader stops.

Where it starts: with CLASSROOM_SCHEDULER=on, when the app is created in a process that serves it
(`flask run`, in the reloader's child only; gunicorn or another WSGI server); never in other Flask
commands (`flask db upgrade`, `seed-demo`, `shell` …). `flask scheduler run` runs the loop itself.
Under gunicorn --preload the master makes the app but forks the workers: each worker starts its loop
with its first request instead (no thread may run across a fork).
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask.cli import with_appcontext
from sqlalchemy import or_, select, true, update
from sqlalchemy.exc import IntegrityError

from classroom.database import utcnow, writes_ahead
from classroom.extensions import db
from classroom.notifications.models import SchedulerLease
from classroom.registry import Job, registry

log = logging.getLogger("classroom.scheduler")
logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its per-run lines would drown the console


def _did_something(result) -> bool:
    if isinstance(result, dict):
        return any(result.values())
    return bool(result)
LEASE_NAME = "scheduler"


# ---- the lease ---------------------------------------------------------------------------------------

def acquire_lease(holder: str, *, seconds: int, now: datetime, force: bool = False) -> bool:
    """Take or renew the lease; True while this holder leads. ``force`` takes it from whoever holds it
    (a holder that already knows it leads: see ``FileLease``)."""
    expires = now + timedelta(seconds=seconds)
    mine = true() if force else or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now)
    taken = db.session.execute(
        update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME, mine)
        .values(holder=holder, expires_at=expires, renewed_at=now)
    ).rowcount
    if not taken:
        exists = db.session.scalar(select(SchedulerLease.name).where(SchedulerLease.name == LEASE_NAME))
        if exists is None:
            try:
                db.session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=expires, renewed_at=now))
                db.session.flush()
                taken = 1
            except IntegrityError:
                db.session.rollback()
                return False
    db.session.commit()
    return bool(taken)


def release_lease(holder: str) -> None:
    db.session.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME,
                                                    SchedulerLease.holder == holder)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def current_leader(now: datetime) -> str | None:
    """Who holds an unexpired lease (read from the database, never from the session's cache)."""
    lease = db.session.execute(select(SchedulerLease.holder, SchedulerLease.expires_at)
                               .where(SchedulerLease.name == LEASE_NAME)).first()
    return lease.holder if lease is not None and lease.expires_at > now else None


class FileLease:
    """Leadership on SQLite: an OS lock on a file beside the database (SQLite lives on one host, so
    every process that may lead shares that file). Holding it costs nothing, no write competes with
    the requests', and the kernel frees it the moment its holder dies. The lease row is written once,
    when leadership begins, so /healthz and ``still_leading`` read the holder as on PostgreSQL."""

    FOREVER = 10 * 365 * 86400  # the row's lease: leadership ends with the lock, not with a clock

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    @classmethod
    def for_engine(cls, engine) -> FileLease | None:
        """The lock file of a SQLite database file; None for PostgreSQL or an in-memory database."""
        if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
            return None
        return cls(f"{engine.url.database}.scheduler-lock")

    def acquire(self) -> bool:
        """Hold the lock (True), or find another process holding it (False); never blocks."""
        if self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the only descriptor frees the lock
            self.fd = None

    def held_elsewhere(self) -> bool:
        """Whether a process (this one included, through another descriptor) holds the lock now."""
        if self.fd is not None:
            return True
        probe = FileLease(self.path)
        if probe.acquire():
            probe.release()
            return False
        return True


# ---- the loop -------------------------------------------------------------------------------------

class Runner:
    """Keeps trying to lead; while leading, runs the jobs in a BackgroundScheduler."""

    def __init__(self, app) -> None:
        self.app = app
        self.pid = os.getpid()
        self.holder = f"{socket.gethostname()}:{self.pid}:{id(self):x}"
        self.stop_event = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.thread: threading.Thread | None = None
        self.leading = False
        self.term = 0  # counts the times this runner became leader; a job belongs to the term it started in
        with app.app_context():
            self.file_lease = FileLease.for_engine(db.engine)

    @property
    def lease_seconds(self) -> int:
        return int(self.app.config["SCHEDULER_LEASE_SECONDS"])

    @property
    def renew_seconds(self) -> float:
        """How often the lease is renewed (and a standby tries to take it): a third of the lease."""
        return max(1.0, self.lease_seconds / 3)

    def run(self) -> None:
        """Loop until stopped: renew (or try to take) the lease every third of its length."""
        while not self.stop_event.is_set():
            try:
                leading = self._hold_lease()
            except Exception:  # noqa: BLE001 - the database may be briefly away: lose the lead, retry
                log.exception("Could not renew the scheduler lease")
                leading = False
            self._become(leading)
            self.stop_event.wait(self.renew_seconds)
        self._become(False)
        with self.app.app_context():
            writes_ahead()
            release_lease(self.holder)
        if self.file_lease is not None:
            self.file_lease.release()

    def _hold_lease(self) -> bool:
        """Renew (or try to take) the lease. On SQLite the file lock decides, and the database is
        written only when this runner begins to lead."""
        if self.file_lease is not None:
            if not self.file_lease.acquire():
                return False
            if self.leading:
                return True
        with self.app.app_context():
            writes_ahead()
            if self.file_lease is not None:
                return acquire_lease(self.holder, seconds=FileLease.FOREVER, now=utcnow(), force=True)
            return acquire_lease(self.holder, seconds=self.lease_seconds, now=utcnow())

    def _become(self, leading: bool) -> None:
        if leading and not self.leading:
            log.info("Scheduler %s now leads", self.holder)
            self.term += 1
            self.leading = True
            self.scheduler = self._start_jobs()
        elif not leading and self.leading:
            log.info("Scheduler %s no longer leads", self.holder)
            self.leading = False
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
            self.scheduler = None

    def _start_jobs(self) -> BackgroundScheduler:
        with self.app.app_context():
            single_writer = db.engine.dialect.name == "sqlite"
        # SQLite has one writer: jobs started together would fail each other's writes ("database is
        # locked" when a reading transaction must become a writing one), so there they run one at a time.
        executors = {"default": ThreadPoolExecutor(1 if single_writer else 10)}
        scheduler = BackgroundScheduler(timezone="UTC", executors=executors, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        for job in registry(self.app).jobs.values():
            scheduler.add_job(self._run_job, "interval", args=[job, self.term], id=job.name,
                              seconds=int(self.app.config[job.seconds_setting]), next_run_time=utcnow())
        scheduler.start()
        return scheduler

    def still_leading(self, term: int) -> bool:
        """True while this runner leads in ``term``: not stopped, not deposed (this process saw it lose
        the lease), and the lease in the database is still this runner's."""
        if self.stop_event.is_set() or not self.leading or self.term != term:
            return False
        return current_leader(utcnow()) == self.holder

    def _run_job(self, job: Job, term: int | None = None) -> None:
        term = self.term if term is None else term
        with self.app.app_context():
            try:
                if not self.still_leading(term):  # the lease lapsed: another process leads now
                    return
                db.session.rollback()  # end that read: on SQLite a job's first write must not upgrade it
                writes_ahead()  # on SQLite each of its transactions takes the write lock as it begins
                arguments = {"now": utcnow()}
                if job.checks_leadership:
                    arguments["still_leading"] = lambda: self.still_leading(term)
                result = job.func(**arguments)
                # Say what a job did; a run that found nothing to do is only worth a debug line.
                log.log(logging.INFO if _did_something(result) else logging.DEBUG, "Job %s: %s", job.name, result)
            except Exception:  # noqa: BLE001 - one failed scan must not stop the scheduler
                db.session.rollback()
                log.exception("Job %s failed", job.name)
            finally:
                db.session.remove()

    def start_background(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, name="classroom-scheduler", daemon=True)
        self.thread.start()
        log.info("Scheduler loop started in process %d (%d jobs)", self.pid, len(registry(self.app).jobs))
        return self.thread

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop and wait for the loop to hand the lease back (at exit: a standby need not wait for it
        to lapse)."""
        self.stop()
        thread = self.thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)


def runner_of(app) -> Runner | None:
    """This process's runner (one inherited through fork() belongs to the parent: its threads are gone)."""
    runner = app.extensions.get("scheduler_runner")
    return runner if runner is not None and runner.pid == os.getpid() else None


_starting = threading.Lock()


def serving_process() -> bool:
    """Whether this process serves the app, so an enabled scheduler starts in it when the app is made.

    Under the Flask CLI only `flask run` serves, and when it reloads only in the reloader's child
    (WERKZEUG_RUN_MAIN, ``is_running_from_reloader()``), never in the watcher parent, which loads the
    app too but serves nothing. Every other Flask command (`db upgrade`, `seed-demo`, `shell`, `routes`
    …) is not a server; `flask scheduler run` runs its own loop. Outside the Flask CLI the app is
    loaded by a WSGI server (a gunicorn worker …), which serves it, except in a pre-forking master (see
    ``preforking_master``)."""
    from flask.cli import FlaskGroup, get_debug_flag, run_command
    from werkzeug.serving import is_running_from_reloader

    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.find_root().command, FlaskGroup):
        return not preforking_master()
    if context.command is not run_command:
        return False
    reload = context.params.get("reload")
    if reload is None:  # as `flask run` decides: on with --debug
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def preforking_master() -> bool:
    """gunicorn --preload makes the app in its master (``Arbiter.setup``), which then forks the workers
    and serves nothing itself. No thread may run there: a fork copies the locks other threads hold (the
    import lock of a module being imported, a pool's mutex) and the worker deadlocks on them."""
    frame = sys._getframe(1)  # who is loading the app
    while frame is not None:
        code = frame.f_code
        if code.co_name == "setup" and code.co_filename.endswith(os.path.join("gunicorn", "arbiter.py")):
            return True
        frame = frame.f_back
    return False


def start_in_process(app) -> Runner:
    """Start the leader loop in this process, once (a second call returns the running one)."""
    with _starting:
        runner = runner_of(app)
        if runner is not None:
            return runner
        runner = Runner(app)
        app.extensions["scheduler_runner"] = runner
        runner.start_background()
        atexit.register(runner.shutdown)
        return runner


def start_with_first_request(app) -> None:
    """For the workers a pre-forking master makes: each starts its loop with the first request it serves."""

    @app.before_request
    def _start_scheduler() -> None:
        if runner_of(app) is None:
            start_in_process(app)


def health() -> dict:
    """/healthz: whether a scheduler leads somewhere and whether it is this process. Never who leads: the
    holder names a host and a process id, which the public has no business reading (the lease row has it)."""
    from flask import current_app

    runner = runner_of(current_app)
    file_lease = FileLease.for_engine(db.engine)
    vacant = file_lease is not None and not file_lease.held_elsewhere()  # its holder died without handing back
    return {"scheduler": {"enabled": current_app.config["SCHEDULER"] == "on" or runner is not None,
                          "leader": bool(runner and runner.leading),
                          "has_leader": not vacant and current_leader(utcnow()) is not None}}


def init_app(app) -> None:
    """The scheduler's health check and command; its loop, where this process serves and it is on."""
    registry(app).health_checks.append(health)
    app.cli.add_command(scheduler_cli)
    if app.config["SCHEDULER"] == "on" and not app.testing:
        if serving_process():
            start_in_process(app)
        elif preforking_master():
            start_with_first_request(app)


@click.command("run")
@with_appcontext
def run_command() -> None:
    """Run the scheduler in the foreground (one leader among all running copies)."""
    from flask import current_app

    app = current_app._get_current_object()
    runner = Runner(app)
    app.extensions["scheduler_runner"] = runner
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    click.echo(f"Scheduler {runner.holder}: {len(registry(app).jobs)} jobs, lease {runner.lease_seconds} s")
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()


scheduler_cli = click.Group("scheduler", help="Scheduled work: reminders, the outbox.")
scheduler_cli.add_command(run_command)
