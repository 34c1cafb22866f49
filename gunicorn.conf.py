"""gunicorn's settings for Worker Classroom. gunicorn reads this file from its working directory (run it
from the repository root) or from ``-c path/to/gunicorn.conf.py``; the command line adds the rest:

    .venv/bin/gunicorn --workers 4 --bind 127.0.0.1:8000 'classroom:create_app()'

With CLASSROOM_SCHEDULER=on every worker runs the scheduler's loop (one of them leads at a time). gunicorn
may make the app before it forks the workers (``--preload`` makes it in the master, which serves nothing
and must run no thread: a fork copies the locks other threads hold, and the worker deadlocks on them).
So under this file the app never starts the loop itself (CLASSROOM_SCHEDULER_START=after_fork): the hook
below starts it in each worker, after the fork, once the worker has the app (with or without --preload).
"""

import os

from gunicorn.workers.base import Worker

os.environ["CLASSROOM_SCHEDULER_START"] = "after_fork"  # read by the app, made after this file is read


def post_worker_init(worker: Worker) -> None:
    """In each new worker, after the fork, with its app loaded: the scheduler's loop, when it is on."""
    from classroom.scheduler import start_after_fork  # here: the master never imports the app for this file

    start_after_fork(worker.wsgi)
