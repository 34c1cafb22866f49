"""The edge of /api/: no cookie in or out, bounded bodies, credentials only in the Authorization header,
RateLimit headers on every answer, and every error as a problem document (the pages keep their own).

CORS stays closed here: no response under /api/ names an allowed origin (the public verification
endpoints share theirs through ``classroom.cors``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import cast

from flask import Flask, Response, current_app, g, request
from flask_limiter.util import get_qualified_name
from limits import RateLimitItem, parse
from werkzeug.exceptions import HTTPException

from classroom.accounts.shared_copies import read_with_count
from classroom.api.principal import bearer_secret
from classroom.api.problems import Problem, domain_problem, problem_response
from classroom.api.tokens import ACCESS_PREFIX, copy_key
from classroom.domain import DomainError
from classroom.extensions import limiter
from classroom.ratelimits import CountedFixedWindow, redis_counter
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


API_LIMIT = "api_limit"  # on ``g``: (the limit, the identifiers this request counted under, whether allowed)
API_SCOPE = "api"  # one count per credential across the whole API


def rate_key() -> str:
    """Whom a request counts against: its credential, else its address."""
    secret = bearer_secret()
    return "api-credential:" + token_hash(secret)[:32] if secret else "api-address:" + (request.remote_addr or "")


@lru_cache(maxsize=8)
def _limit_of(text: str) -> RateLimitItem:
    return parse(text)


def count_request() -> None:
    """Every API blueprint's first hook: count the request against API_RATE_LIMIT for its credential (per
    address without one) — one count across the API — and refuse it beyond (429). Counted here rather than
    through Flask-Limiter's per-request resolution of a blueprint limit: the limit is parsed once per
    setting, the hit is one call to the limiter's own strategy and store (the same keys' prefix, Redis in
    production), and the RateLimit headers come from that hit (``classroom.ratelimits``). A route's own
    decorated limits (log-in, check-in, registration) stay Flask-Limiter's."""
    if not limiter.enabled:
        return
    item = _limit_of(current_app.config["API_RATE_LIMIT"])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")  # as Flask-Limiter prefixes its keys
    identifiers = (prefix, rate_key(), API_SCOPE) if prefix else (rate_key(), API_SCOPE)
    allowed = _counted_with_token(item, identifiers)
    if allowed is None:
        allowed = limiter.limiter.hit(item, *identifiers)
    setattr(g, API_LIMIT, (item, identifiers, allowed))
    if not allowed:
        raise Problem("too-many-requests")


def _counted_with_token(item: RateLimitItem, identifiers: tuple[str, ...]) -> bool | None:
    """Whether an access token's request is allowed, counted in the round trip that reads the token's shared
    copy for its authentication (``read_with_count``) when the limiter counts on the log-in cache's Redis
    server: one trip to Redis for both. None when it was not counted so (no access token, another store, Redis
    did not answer: the limiter then counts it, so a trip that failed after its script ran counts it twice)."""
    secret = bearer_secret()
    if secret is None or not secret.startswith(ACCESS_PREFIX):
        return None
    strategy, cost = limiter.limiter, 1
    count = read_with_count(copy_key(secret), lambda client: redis_counter(strategy, item, identifiers, client),
                            item.get_expiry(), cost)
    return None if count is None else cast(CountedFixedWindow, strategy).counted(item, identifiers, count, cost=cost)


@limiter.request_filter
def limits_of_its_own() -> bool:
    """Flask-Limiter's request filter (True: skip its work): an API endpoint that has no limit but the API's
    own, which ``count_request`` counts. Whether an endpoint has one (a decorated limit, a default or an
    application-wide one) is asked of Flask-Limiter once per endpoint and app."""
    endpoint = request.endpoint
    if endpoint is None or not is_api_path(request.path):
        return False
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # (the app itself, as a dict key)
    known: dict[str, bool] = app.extensions.setdefault("classroom_api_unlimited", {})
    unlimited = known.get(endpoint)
    if unlimited is None:
        view = app.view_functions.get(endpoint)
        manager = limiter.limit_manager
        defaults, decorated = manager.resolve_limits(app, endpoint, request.blueprint,
                                                     get_qualified_name(view) if view else "")
        unlimited = known[endpoint] = not (defaults or decorated or manager.application_limits
                                           or manager.has_hints(endpoint))
    return unlimited


def _headline_limit() -> tuple[int, int, float] | None:
    """(limit, remaining, reset time) of the tightest limit this request counted against: the API's own or a
    route's (Flask-Limiter's); a refused one first, else the one with the fewest requests left."""
    told = []
    if (counted := g.get(API_LIMIT)) is not None:
        item, identifiers, allowed = counted
        window = limiter.limiter.get_window_stats(item, *identifiers)
        told.append((not allowed, window.remaining, item.amount, window.reset_time))
    route = limiter.current_limit
    if route is not None:
        told.append((route.breached, route.remaining, route.limit.amount, route.reset_at))
    if not told:
        return None
    _refused, remaining, amount, reset_at = min(told, key=lambda seen: (not seen[0], seen[1]))
    return amount, remaining, reset_at


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
    headline = _headline_limit()
    if headline is not None:
        amount, remaining, reset_at = headline
        reset = max(0, math.ceil(reset_at - time.time()))
        response.headers["RateLimit-Limit"] = str(amount)
        response.headers["RateLimit-Remaining"] = str(remaining)
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
