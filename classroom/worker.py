"""The queue worker's side: the function RQ calls for every job, and ``flask queue worker``.

RQ runs each job in a fork of the worker (its work-horse). Under ``flask queue worker`` the app is made
once, before the forks; under RQ's own ``rq worker`` it is made from the CLASSROOM_* environment in the
work-horse, at its job. Either way the job runs in an app context of its own, and its database
connections are its own (an inherited pool is dropped first)."""

from __future__ import annotations

from typing import Any

import click
import rq
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup

from classroom import create_app, queue
from classroom.database import forget_inherited_connections
from classroom.extensions import db

_app: Flask | None = None  # this worker's app (``flask queue worker``: set before the forks)
queue_cli = AppGroup("queue", help="The job queue (RQ on CLASSROOM_QUEUE_URL).")
COMMAND_WAIT_SECONDS = 1  # how long the worker's command listener waits for a message before it looks again


def _listen_for_commands(worker: rq.worker.BaseWorker) -> None:
    """RQ's own subscription to the worker's command channel (stop a job, shut down), its listener waking
    every COMMAND_WAIT_SECONDS instead of 60: RQ joins that thread when the worker stops, and a listener that
    has just lost its subscription waits its whole wait first (redis-py), so a stopping worker hung a minute."""
    worker.pubsub = worker.connection.pubsub()
    worker.pubsub.subscribe(**{worker.pubsub_channel_name: worker.handle_payload})
    worker.pubsub_thread = worker.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ declares None until subscribed
        sleep_time=COMMAND_WAIT_SECONDS, daemon=True, exception_handler=worker._pubsub_exception_handler)


class Worker(rq.Worker):
    """RQ's worker (a work-horse fork per job) that stops promptly."""

    def subscribe(self) -> None:
        _listen_for_commands(self)


class InProcessWorker(rq.SimpleWorker):
    """RQ's worker that runs each job in the worker's own process (no fork), stopping promptly: a test's worker."""

    def subscribe(self) -> None:
        _listen_for_commands(self)


def perform_task(task: str, *args: Any) -> Any:
    """What RQ runs: the task, in this process's app (made at the first job under ``rq worker``)."""
    if has_app_context():
        return queue.run(task, *args)
    global _app
    if _app is None:
        _app = create_app()
    else:
        forget_inherited_connections(_app)  # a fork of the worker: the parent's pooled connections stay theirs
    with _app.app_context():
        try:
            return queue.run(task, *args)
        finally:
            db.session.remove()


@queue_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--job-monitoring-interval", type=click.IntRange(1), default=10, show_default=True,
              help="Seconds between the running job's heartbeats; a job whose worker died is taken for "
                   "abandoned this long plus 60 s after its last one.")
@click.option("--maintenance-interval", type=click.IntRange(1), default=30, show_default=True,
              help="Seconds between this worker's sweeps of the registries (abandoned jobs go back to be retried).")
@click.option("--worker-ttl", type=click.IntRange(16), default=60, show_default=True,
              help="Seconds this worker's registration lives between beats; an idle worker wakes (and may sweep) "
                   "every worker-ttl - 15 seconds.")
def worker_command(burst: bool, job_monitoring_interval: int, maintenance_interval: int, worker_ttl: int) -> None:
    """Work the queue until stopped (SIGTERM: the running job finishes first), with RQ's scheduler for the
    delayed retries. A job whose worker was killed is retried by the next sweep of a live worker once its
    heartbeat has lapsed: within job-monitoring-interval + 60 + max(maintenance-interval, worker-ttl - 15) s."""
    global _app
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for the forks
    if queue.is_eager(app):
        raise click.UsageError("CLASSROOM_QUEUE_URL is not set: tasks run inline, no worker is needed.")
    _app = app
    Worker([queue.rq_queue(app)], connection=queue.connection(app), job_monitoring_interval=job_monitoring_interval,
           maintenance_interval=maintenance_interval, worker_ttl=worker_ttl).work(with_scheduler=True, burst=burst)


@queue_cli.command("status")
def status_command() -> None:
    """Jobs by state."""
    for (name, state), count in sorted(queue.depths().items()):
        click.echo(f"{name} {state} {count}")


def init_app(app: Flask) -> None:
    app.cli.add_command(queue_cli)
