"""Where the loop starts, with CLASSROOM_SCHEDULER=on.

- ``flask run``: when the app is made, in the reloader's child only (never in the watcher parent).
- A WSGI server that makes the app in the process that serves it (gunicorn without --preload, waitress
  …): when the app is made.
- A pre-forking server that may make the app before it forks (gunicorn --preload makes it in the
  master, which serves nothing; a thread running across a fork leaves the child the locks it held):
  the server's config says so with CLASSROOM_SCHEDULER_START=after_fork and calls
  ``start_after_fork(app)`` in each worker. The repository's gunicorn.conf.py does both.
- Never in other Flask commands (``db upgrade``, ``seed-demo``, ``shell`` …); ``flask scheduler run``
  runs the loop itself, in the foreground.
"""

from __future__ import annotations

import atexit
import os
import threading

import click
from flask import Flask
from flask.cli import FlaskGroup, get_debug_flag, run_command
from werkzeug.serving import is_running_from_reloader

from classroom.scheduler.runner import Runner

AFTER_FORK = "after_fork"  # CLASSROOM_SCHEDULER_START: a server hook starts the loop in each worker
_starting = threading.Lock()


def enabled(app: Flask) -> bool:
    """Whether this app runs the loop in its serving processes (CLASSROOM_SCHEDULER=on; never in tests)."""
    return app.config["SCHEDULER"] == "on" and not app.testing


def serving_process(start: str | None = None) -> bool:
    """Whether the loop starts in this process when the app is made.

    Under the Flask CLI only `flask run` serves, and when it reloads only in the reloader's child
    (WERKZEUG_RUN_MAIN, ``is_running_from_reloader()``), never in the watcher parent, which loads the
    app too but serves nothing. Every other Flask command (`db upgrade`, `seed-demo`, `shell`, `routes`
    …) is not a server; `flask scheduler run` runs its own loop. Outside the Flask CLI the app is
    loaded by a WSGI server, which serves it, unless ``start`` is ``after_fork``: the server's hook
    starts the loop after forking (``start_after_fork``)."""
    context = click.get_current_context(silent=True)
    if context is None or not isinstance(context.find_root().command, FlaskGroup):
        return start != AFTER_FORK
    if context.command is not run_command:
        return False
    reload = context.params.get("reload")
    if reload is None:  # as `flask run` decides: on with --debug
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def runner_of(app: Flask) -> Runner | None:
    """This process's runner (one inherited through fork() belongs to the parent: its threads are gone)."""
    runner = app.extensions.get("scheduler_runner")
    return runner if runner is not None and runner.pid == os.getpid() else None


def start_in_process(app: Flask) -> Runner:
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


def start_after_fork(app: Flask) -> Runner | None:
    """For a pre-forking server's hook in each worker (gunicorn.conf.py): start the loop when it is on."""
    return start_in_process(app) if enabled(app) else None


def start_with_app(app: Flask) -> None:
    """When the app is made: start the loop if it is on and this process serves the app."""
    if enabled(app) and serving_process(app.config.get("SCHEDULER_START")):
        start_in_process(app)
