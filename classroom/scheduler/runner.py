"""The leader loop: keep trying to lead; while leading, run the registered jobs in a BackgroundScheduler.

The loop and the jobs own their transactions (a job commits its own work; a failed one is rolled back
here), as a request's are owned by ``perform``."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from classroom.database import utcnow, writes_ahead
from classroom.extensions import db
from classroom.registry import Job, registry
from classroom.scheduler.lease import FileLease, acquire_lease, current_leader, release_lease

log = logging.getLogger("classroom.scheduler")


class Runner:
    """Keeps trying to lead; while leading, runs the jobs in a BackgroundScheduler."""

    def __init__(self, app: Flask) -> None:
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
        """How long a lease lasts unless renewed (CLASSROOM_SCHEDULER_LEASE_SECONDS)."""
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
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its per-run lines would drown the console
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
                arguments: dict[str, Any] = {"now": utcnow()}
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
        """Run the loop in a daemon thread of this process."""
        self.thread = threading.Thread(target=self.run, name="classroom-scheduler", daemon=True)
        self.thread.start()
        log.info("Scheduler loop started in process %d (%d jobs)", self.pid, len(registry(self.app).jobs))
        return self.thread

    def stop(self) -> None:
        """Ask the loop to end (it hands the lease back as it does)."""
        self.stop_event.set()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop and wait for the loop to hand the lease back (at exit: a standby need not wait for it
        to lapse)."""
        self.stop()
        thread = self.thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)


def _did_something(result: object) -> bool:
    if isinstance(result, dict):
        return any(result.values())
    return bool(result)
