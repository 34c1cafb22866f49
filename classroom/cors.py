"""CORS for the few public documents that machines read (keys, issuer, achievements, verification JSON): any
origin may GET them, without credentials, so a verifier running in a browser can. Nothing else is shared."""

from __future__ import annotations

from flask import Response, request

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = "Accept, Accept-Language, Cache-Control, If-None-Match, If-Modified-Since"
PREFLIGHT_MAX_AGE = 86400


def allow_any_origin(response: Response) -> Response:
    """Let any origin read this response (no cookies: ``*`` never goes with credentials) and answer a
    preflight for GET."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    if request.method == "OPTIONS" and response.status_code == 200:  # a preflight: nothing to read but headers
        response.status_code = 204
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response
