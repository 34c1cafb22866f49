"""Error pages (localized, generic: no stack trace, no SQL) and JSON errors for the API."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back, reload the page and try again.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (_l("Not found"), _l("This page does not exist, or you may not see it.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("The upload is larger than allowed.")),
    429: (_l("Too many requests"), _l("You have tried too often. Wait a while, then try again.")),
    500: (_l("Something went wrong"), _l("The error has been logged. Try again in a moment.")),
}


def wants_json() -> bool:
    """Whether the error is answered in JSON: the API, ?format=json, or a client that prefers it."""
    if request.path.startswith("/api/") or request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def handle_http_error(error: HTTPException) -> Response:
    """The error's page (or JSON), localized and generic, with the headers the client needs."""
    code = error.code or 500
    title, text = MESSAGES.get(code, (error.name, error.description))
    detail = _detail(error, code)
    body: Response | str
    if wants_json():
        body = jsonify({"error": {"code": code, "title": str(title), "message": str(detail or text)}})
    else:
        body = render_template("errors/error.html", code=code, title=title, text=text, detail=detail)
    response = make_response(body, code)
    for name, value in error.get_headers():
        if name in ("Allow", "Retry-After"):  # keep what the client needs from the original error
            response.headers[name] = value
    return response


def _detail(error: HTTPException, code: int) -> object:
    """A specific, safe explanation: the CSRF reason, the rate-limit message."""
    if isinstance(error, CSRFError):
        return _l("The form has expired or lacks its security token. Reload the page and try again.")
    if code == 429 and error.description:
        return error.description
    return None


def init_app(app: Flask) -> None:
    """The error handlers."""
    # Unhandled exceptions reach this handler as a 500 (Flask logs them first); the
    # request's session is removed (rolled back) at teardown.
    app.register_error_handler(HTTPException, handle_http_error)
