"""gunicorn's settings for Worker Classroom. gunicorn reads this file from its working directory (run it
from the repository root) or from ``-c path/to/gunicorn.conf.py``; the command line adds the rest:

    .venv/bin/gunicorn --bind 127.0.0.1:8000 'classroom:create_app()'

Workers: WEB_CONCURRENCY, else two per CPU plus one (``--workers`` on the command line wins). A graceful
reload is ``kill -HUP <master>`` (systemd: ``systemctl reload classroom-web``): new workers start with the
new code, the old ones finish their requests first (graceful_timeout).

With CLASSROOM_SCHEDULER=on every worker runs the scheduler's loop (one of them leads at a time). gunicorn
may make the app before it forks the workers (``--preload`` makes it in the master, which serves nothing
and must run no thread: a fork copies the locks other threads hold, and the worker deadlocks on them).
So under this file the app never starts the loop itself (CLASSROOM_SCHEDULER_START=after_fork): the hook
below starts it in each worker, after the fork, once the worker has the app (with or without --preload).

Metrics: every worker writes its counts into PROMETHEUS_MULTIPROC_DIR (a fresh folder is made when it is
not set), so a scrape of /metrics on any worker sums them all; the folder is emptied when the master
starts, and a dead worker's files are marked by ``child_exit``.
"""

import multiprocessing
import os
import tempfile
from pathlib import Path

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

os.environ["CLASSROOM_SCHEDULER_START"] = "after_fork"  # read by the app, made after this file is read
# before anything imports prometheus_client (the app, with --preload in this very process)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="classroom-metrics-"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
graceful_timeout = 30
keepalive = 5  # behind nginx's upstream keepalive


def on_starting(server: Arbiter) -> None:
    """In the master, once: forget the counts of a previous run (their processes are gone)."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def post_fork(server: Arbiter, worker: Worker) -> None:
    """In each new worker, right after the fork: nothing inherited from the master may be shared. With
    --preload the master made the app; its pooled database connections are dropped here (without closing
    them: they are the master's), so the worker opens its own."""
    app = getattr(server.app, "callable", None)
    if app is not None and "sqlalchemy" in getattr(app, "extensions", {}):
        from classroom.database import forget_inherited_connections

        forget_inherited_connections(app)


def post_worker_init(worker: Worker) -> None:
    """In each new worker, after the fork, with its app loaded: the scheduler's loop, when it is on."""
    from classroom.scheduler import start_after_fork  # here: the master never imports the app for this file

    start_after_fork(worker.wsgi)


def child_exit(server: Arbiter, worker: Worker) -> None:
    """In the master, when a worker has exited (or was killed): its live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
