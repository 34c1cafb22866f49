"""Scheduled work: APScheduler 3, one leader at a time.

Every enabled process (the web workers with CLASSROOM_SCHEDULER=on, or `flask scheduler run`)
runs a small loop that tries to hold a lease row in the database. The holder starts a
BackgroundScheduler with the registered jobs; the others wait, and take over once the lease
lapses (a killed leader stops renewing it). Jobs are set-based scans made idempotent by unique
keys, so a scan that runs twice (a lease lost mid-scan) changes nothing the second time. Jobs
start at once when a process becomes leader, so a restart runs each missed scan once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask.cli import with_appcontext
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import SchedulerLease

log = logging.getLogger("classroom.scheduler")
LEASE_NAME = "scheduler"


@dataclass
class Job:
    name: str
    func: object  # callable(now=...) run inside an app context
    seconds_setting: str  # the config key of its interval


JOBS: dict[str, Job] = {}


def register_job(name: str, func, seconds_setting: str) -> None:
    """Features add their scans here (reminders, the outbox dispatcher, competitions …)."""
    JOBS[name] = Job(name, func, seconds_setting)


# ---- the lease ---------------------------------------------------------------------------------------

def acquire_lease(holder: str, *, seconds: int, now: datetime) -> bool:
    """Take or renew the lease; True while this holder leads."""
    expires = now + timedelta(seconds=seconds)
    taken = db.session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME,
               or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
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
    lease = db.session.get(SchedulerLease, LEASE_NAME)
    return lease.holder if lease is not None and lease.expires_at > now else None


# ---- the loop -------------------------------------------------------------------------------------

class Runner:
    """Keeps trying to lead; while leading, runs the jobs in a BackgroundScheduler."""

    def __init__(self, app) -> None:
        self.app = app
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.stop_event = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.leading = False

    @property
    def lease_seconds(self) -> int:
        return int(self.app.config["SCHEDULER_LEASE_SECONDS"])

    def run(self) -> None:
        """Loop until stopped: renew (or try to take) the lease every third of its length."""
        while not self.stop_event.is_set():
            try:
                with self.app.app_context():
                    leading = acquire_lease(self.holder, seconds=self.lease_seconds, now=utcnow())
            except Exception:  # noqa: BLE001 - the database may be briefly away: lose the lead, retry
                log.exception("Could not renew the scheduler lease")
                leading = False
            self._become(leading)
            self.stop_event.wait(max(1.0, self.lease_seconds / 3))
        self._become(False)
        with self.app.app_context():
            release_lease(self.holder)

    def _become(self, leading: bool) -> None:
        if leading and not self.leading:
            log.info("Scheduler %s now leads", self.holder)
            self.scheduler = self._start_jobs()
        elif not leading and self.leading:
            log.info("Scheduler %s no longer leads", self.holder)
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.leading = leading

    def _start_jobs(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        for job in JOBS.values():
            scheduler.add_job(self._run_job, "interval", args=[job], id=job.name,
                              seconds=int(self.app.config[job.seconds_setting]), next_run_time=utcnow())
        scheduler.start()
        return scheduler

    def _run_job(self, job: Job) -> None:
        with self.app.app_context():
            if current_leader(utcnow()) != self.holder:  # the lease lapsed: another process leads now
                return
            try:
                result = job.func(now=utcnow())
                log.info("Job %s: %s", job.name, result)
            except Exception:  # noqa: BLE001 - one failed scan must not stop the scheduler
                db.session.rollback()
                log.exception("Job %s failed", job.name)
            finally:
                db.session.remove()

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="classroom-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()


def runner_of(app) -> Runner | None:
    return app.extensions.get("scheduler_runner")


def start_in_process(app) -> None:
    """CLASSROOM_SCHEDULER=on: start the loop with the first request of this process (never in
    CLI commands, never twice)."""
    started = threading.Lock()

    @app.before_request
    def _start_once() -> None:
        if runner_of(app) is None:
            with started:
                if runner_of(app) is None:
                    runner = Runner(app)
                    app.extensions["scheduler_runner"] = runner
                    runner.start_background()


def health() -> dict:
    from flask import current_app

    runner = runner_of(current_app)
    return {"scheduler": {"enabled": current_app.config["SCHEDULER"] == "on" or runner is not None,
                          "leader": bool(runner and runner.leading),
                          "current_leader": current_leader(utcnow())}}


def init_app(app) -> None:
    from classroom.health import HEALTH_CHECKS

    if health not in HEALTH_CHECKS:
        HEALTH_CHECKS.append(health)
    app.cli.add_command(scheduler_cli)
    if app.config["SCHEDULER"] == "on" and not app.testing:
        start_in_process(app)


@click.command("run")
@with_appcontext
def run_command() -> None:
    """Run the scheduler in the foreground (one leader among all running copies)."""
    from flask import current_app

    app = current_app._get_current_object()
    runner = Runner(app)
    app.extensions["scheduler_runner"] = runner
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    click.echo(f"Scheduler {runner.holder}: {len(JOBS)} jobs, lease {runner.lease_seconds} s")
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()


scheduler_cli = click.Group("scheduler", help="Scheduled work: reminders, the outbox.")
scheduler_cli.add_command(run_command)
