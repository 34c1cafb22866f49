"""Request ids and JSON-lines logs.

Every request gets an id: the proxy's ``X-Request-ID`` when it is a sane one (1–128 characters of
letters, digits and ``-_.:``, as nginx's ``$request_id`` is), otherwise a new one; the answer carries it
back in ``X-Request-ID`` and every log line written while serving the request names it. With
LOG_FORMAT=json (production's default) the logs are JSON lines (one object per line: time, level,
logger, message, request_id, and the exception when there is one) and each request adds an access line
(method, path, status, milliseconds, endpoint) on the ``classroom.access`` logger.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("classroom.access")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the request id from the request being served (or the record's own)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", None) or current_request_id()}
        for name in ("method", "path", "status", "ms", "endpoint"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _assign_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _carry_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
        if g.get("access_log"):
            milliseconds = round(1000 * (time.perf_counter() - g.request_started), 1)
            endpoint = request.url_rule.endpoint if request.url_rule is not None else None
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"method": request.method, "path": request.path, "status": response.status_code,
                                   "ms": milliseconds, "endpoint": endpoint, "request_id": request_id})
    return response


def use_json_lines() -> None:
    """Every handler of the root logger writes JSON lines (one is added when there is none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())


def init_app(app: Flask) -> None:
    """Ids for every request; JSON lines and access lines when LOG_FORMAT is json."""
    json_lines = app.config.get("LOG_FORMAT") == "json"
    if json_lines:
        use_json_lines()

    def assign() -> None:
        _assign_id()
        g.access_log = json_lines

    app.before_request(assign)
    app.after_request(_carry_id)
