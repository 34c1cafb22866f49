"""The edge of /api/: no cookie in or out, bounded bodies, credentials only in the Authorization header,
RateLimit headers on every answer, and every error as a problem document (the pages keep their own).

CORS stays closed here: no response under /api/ names an allowed origin (the public verification
endpoints share theirs through ``classroom.cors``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from classroom.api.principal import bearer_secret
from classroom.api.problems import Problem, domain_problem, problem_response
from classroom.domain import DomainError
from classroom.extensions import limiter
from classroom.tokens import token_hash

PREFIX = "/api/"
QUERY_CREDENTIALS = ("access_token", "refresh_token", "api_key", "token")


def is_api_path(path: str) -> bool:
    """Whether a path belongs to the API (and so never sees a cookie)."""
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


class CookielessApi:
    """WSGI middleware: a request under /api/ reaches the app without its cookies (a browser's session
    never authenticates the API), and its answer sets none."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not is_api_path(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        environ.pop("HTTP_COOKIE", None)

        def start_without_cookies(status: str, headers: list, exc_info=None):
            kept = [(name, value) for name, value in headers if name.lower() != "set-cookie"]
            return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

        return self.wsgi_app(environ, start_without_cookies)


def rate_limit() -> str:
    """API_RATE_LIMIT: requests per credential (or per address without one) on every API blueprint."""
    return current_app.config["API_RATE_LIMIT"]


def rate_key() -> str:
    """Whom a request counts against: its credential, else its address."""
    secret = bearer_secret()
    return "api-credential:" + token_hash(secret)[:32] if secret else "api-address:" + (request.remote_addr or "")


def check_request() -> None:
    """Refuse credentials in the address, and bodies over API_MAX_BODY_BYTES (413)."""
    if not is_api_path(request.path):
        return
    if any(name in request.args for name in QUERY_CREDENTIALS):
        raise Problem("credentials-in-query")
    limit = current_app.config["API_MAX_BODY_BYTES"]
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        raise Problem("payload-too-large")


def add_headers(response: Response) -> Response:
    """RateLimit-Limit / -Remaining / -Reset (seconds) of the tightest limit this request counted against,
    Retry-After when refused, and no caching of an answer that was not made for it."""
    if not is_api_path(request.path):
        return response
    current = limiter.current_limit
    if current is not None:
        reset = max(0, math.ceil(current.reset_at - time.time()))
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(current.remaining)
        response.headers["RateLimit-Reset"] = str(reset)
        if response.status_code == 429:
            response.headers["Retry-After"] = str(reset)
    if response.mimetype == "text/html" and not response.content_length:  # Flask's own OPTIONS answer: no HTML
        del response.headers["Content-Type"]
    if "ETag" in response.headers:
        response.headers.setdefault("Cache-Control", "private, no-cache")
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.update(("Authorization", "Accept-Language"))
    return response


def take_over_errors(app: Flask) -> None:
    """Answer every error under /api/ with a problem document (a 304 with nothing), handing the others to
    the handler the pages had (``classroom.errors``: call this after it is set)."""
    page_handler = app.error_handler_spec[None][None].get(HTTPException)

    def handle_http_error(error: HTTPException):
        if is_api_path(request.path):
            return Response(status=304) if error.code == 304 else problem_response(error)
        return page_handler(error) if page_handler is not None else error

    def handle_domain_error(error: DomainError):
        if not is_api_path(request.path):
            raise error  # a page lets no DomainError escape perform(): this stays the 500 it was
        return problem_response(domain_problem(error))

    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DomainError, handle_domain_error)
