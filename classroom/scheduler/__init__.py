"""Scheduled work: APScheduler 3, one leader at a time.

Every enabled process (the web workers with CLASSROOM_SCHEDULER=on, or `flask scheduler run`) runs a
small loop (``runner``) that tries to hold a lease (``lease``: a row in the database; on SQLite an OS
lock on a file beside it). The holder starts a BackgroundScheduler with the registered jobs; the others
wait, and take over once the lease lapses (a killed leader stops renewing it). Jobs are set-based scans
made idempotent by unique keys, so a scan that runs twice (a lease lost mid-scan) changes nothing the
second time. Jobs start at once when a process becomes leader, so a restart runs each missed scan once.
A job that takes ``still_leading`` (the dispatcher) checks it between batches, so a deposed leader stops.
Where the loop starts (``starting``): in a process that serves the app, or after a pre-forking server
forks its workers (gunicorn.conf.py's hook); `flask scheduler run` (``cli``) runs it in the foreground.
"""

from __future__ import annotations

from flask import Flask

from classroom.registry import registry
from classroom.scheduler.cli import scheduler_cli
from classroom.scheduler.health import health
from classroom.scheduler.lease import FileLease, acquire_lease, current_leader, release_lease
from classroom.scheduler.runner import Runner
from classroom.scheduler.starting import runner_of, serving_process, start_after_fork, start_in_process, start_with_app

__all__ = ["FileLease", "Runner", "acquire_lease", "current_leader", "init_app", "release_lease", "runner_of",
           "serving_process", "start_after_fork", "start_in_process"]


def init_app(app: Flask) -> None:
    """The scheduler's health check and command; its loop, where this process serves and it is on."""
    registry(app).health_checks.append(health)
    app.cli.add_command(scheduler_cli)
    start_with_app(app)
