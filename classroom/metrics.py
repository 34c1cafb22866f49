"""Prometheus metrics at /metrics (prometheus_client), for the operators' scraper only.

What each request adds (latency by endpoint, server errors, failed log-ins) is counted in the process
that served it. Under gunicorn, with PROMETHEUS_MULTIPROC_DIR set before the first import of
prometheus_client (deploy/classroom.env, gunicorn.conf.py), every worker writes its counts to files in
that folder and a scrape of any worker sums them (the child_exit hook marks a dead worker's files).
What the database and the queue hold (outbox, jobs, the scheduler's lease, the replica's lag) is read at
scrape time by ``classroom.metrics_sources``: the same answer whichever worker is asked.

The page answers only with the configured credentials: a bearer token (METRICS_TOKEN) or a user name
and password (METRICS_USERNAME / METRICS_PASSWORD, HTTP basic). With none configured it is a 404; with
wrong or missing ones a 401. The metrics are made unregistered (importing this module registers
nothing); each scrape builds its own registry.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from classroom.metrics_sources import DatabaseCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_SECONDS = Histogram("classroom_request_seconds", "Time to answer a request, by endpoint",
                            ["endpoint", "method"], buckets=LATENCY_BUCKETS, registry=None)
REQUEST_ERRORS = Counter("classroom_request_errors", "Requests answered with a server error (5xx)",
                         ["endpoint", "status"], registry=None)
LOGIN_FAILURES = Counter("classroom_login_failures", "Log-ins refused for a wrong identifier or password",
                         registry=None)
JOB_RUNS = Counter("classroom_queue_job_runs", "Queue jobs run in this process, by task and outcome",
                   ["task", "outcome"], registry=None)
PROCESS_METRICS = (REQUEST_SECONDS, REQUEST_ERRORS, LOGIN_FAILURES, JOB_RUNS)

bp = Blueprint("metrics", __name__)


def multiprocess_dir() -> str | None:
    """The folder gunicorn's workers share their counts through (None: one process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: every process's counts (or this one's) and the database's gauges."""
    registry = CollectorRegistry(auto_describe=True)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    registry.register(DatabaseCollector())
    return registry


def _credentials_ok() -> bool:
    """Whether the request carries the configured bearer token or basic credentials (constant time)."""
    config = current_app.config
    scheme, _space, value = request.headers.get("Authorization", "").partition(" ")
    token = config.get("METRICS_TOKEN")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(value.strip().encode(), str(token).encode())
    user, password = config.get("METRICS_USERNAME"), config.get("METRICS_PASSWORD")
    if user and password and scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, f"{user}:{password}".encode())
    return False


def metrics_configured() -> bool:
    config = current_app.config
    return bool(config.get("METRICS_TOKEN") or (config.get("METRICS_USERNAME") and config.get("METRICS_PASSWORD")))


@bp.route("/metrics")
def metrics() -> Response:
    if not metrics_configured():
        abort(404)
    if not _credentials_ok():
        return Response("Unauthorized\n", 401, {"WWW-Authenticate": 'Basic realm="metrics", charset="UTF-8"',
                                                "Cache-Control": "no-store"}, mimetype="text/plain")
    return Response(generate_latest(scrape_registry()), headers={"Cache-Control": "no-store"},
                    content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "(unmatched)"
    REQUEST_SECONDS.labels(endpoint, request.method).observe(time.perf_counter() - started)
    if response.status_code >= 500:
        REQUEST_ERRORS.labels(endpoint, str(response.status_code)).inc()
    return response


def count_login_failure() -> None:
    LOGIN_FAILURES.inc()


def count_job_run(task: str, outcome: str) -> None:
    JOB_RUNS.labels(task, outcome).inc()


def init_app(app: Flask) -> None:
    """Time every request and serve /metrics."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
