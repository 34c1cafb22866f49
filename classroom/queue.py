"""The job queue: long work leaves the web process for RQ workers on Redis (CLASSROOM_QUEUE_URL).

Why RQ: the platform already runs Redis (rate limits, the log-in cache), and RQ needs nothing else; its
jobs are plain function calls by dotted name, it retries with a backoff (``Retry(max, interval)``), a job
whose worker died mid-run (SIGKILL, a lost host) stays in its StartedJobRegistry until its heartbeat
lapses and is then retried by the next worker's maintenance, and each job runs in a forked work-horse,
so a job that leaks memory or crashes takes no worker down. Dramatiq needs its own middleware for
results and progress; Celery brings a broker abstraction and a scheduler we don't need (APScheduler
keeps scheduling). Progress lives in the database (the job's own row), never in RQ or a process.

Tasks are registered by name in the app's registry (``registry().tasks``); ``enqueue`` stores only the
name and plain arguments (ids), so a job means the same in any process of any host. A task must be
idempotent: it may run again after a kill, or twice at once (a retry beside an admin's "run again").

Without CLASSROOM_QUEUE_URL (development, tests, the embedded SQLite default) the queue is eager: the
task runs inline, in the caller's process, before ``enqueue`` returns; nothing but Python is needed.

Workers (``classroom/worker.py``): ``flask queue worker`` (the app made once, every job in a fork of it),
or RQ's own ``rq worker --with-scheduler -u $CLASSROOM_QUEUE_URL classroom`` (the app made from the
CLASSROOM_* environment in each job's process). ``--with-scheduler`` is what runs the delayed retries.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app

from classroom.metrics import count_job_run
from classroom.registry import registry

log = logging.getLogger("classroom.queue")
STATES = ("queued", "started", "scheduled", "deferred", "failed")


def is_eager(app: Flask | None = None) -> bool:
    """True when no Redis is configured: tasks run inline."""
    return not (app or current_app).config.get("QUEUE_URL")


def connection(app: Flask | None = None) -> Any:
    from redis import Redis

    return Redis.from_url((app or current_app).config["QUEUE_URL"])


def rq_queue(app: Flask | None = None) -> Any:
    from rq import Queue

    target = app or current_app
    return Queue(target.config["QUEUE_NAME"], connection=connection(target))


def enqueue(task: str, *args: Any, job_id: str | None = None) -> str | None:
    """Run ``task(*args)`` on a queue worker (retried with backoff on failure or a worker's death); the
    RQ job's id, or None when the queue is eager and the task has already run here."""
    if task not in registry().tasks:
        raise KeyError(task)
    if is_eager():
        run(task, *args)
        return None
    from rq import Retry

    config = current_app.config
    intervals = list(config["QUEUE_RETRY_INTERVALS"])
    job = rq_queue().enqueue("classroom.worker.perform_task", task, *args, job_id=job_id,
                             retry=Retry(max=len(intervals), interval=intervals),
                             job_timeout=config["QUEUE_JOB_TIMEOUT"], result_ttl=86400, failure_ttl=7 * 86400,
                             description=f"{task}{args}")
    return str(job.id)


def run(task: str, *args: Any) -> Any:
    """Run one task in the current app context (counted in /metrics; a failure is logged and raised)."""
    try:
        result = registry().tasks[task](*args)
    except Exception:
        count_job_run(task, "error")
        log.exception("task %s%s failed", task, args)
        raise
    count_job_run(task, "done")
    return result


def is_last_attempt() -> bool:
    """Whether a failure of the running task is final: eager, or its RQ job has no retry left."""
    if is_eager():
        return True
    from rq import get_current_job

    job = get_current_job()
    return job is None or not job.retries_left


def depths() -> dict[tuple[str, str], int]:
    """{(queue, state): jobs} from Redis ({} in eager mode): what /metrics reports."""
    if is_eager():
        return {}
    from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    queue = rq_queue()
    counts = {"queued": queue.count}
    for state, kind in (("started", StartedJobRegistry), ("scheduled", ScheduledJobRegistry),
                        ("deferred", DeferredJobRegistry), ("failed", FailedJobRegistry)):
        counts[state] = kind(queue=queue).count
    return {(queue.name, state): counts[state] for state in STATES}
