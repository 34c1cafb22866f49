"""Problem documents (RFC 9457): every error of the JSON API as ``application/problem+json``, one kind per
way a request fails, each with a stable ``type`` URI and a title and detail in the caller's language.

Raise ``Problem("slug", …)`` anywhere under /api; any other HTTP error (a 404, a 405, a rate limit,
webargs' 422) and a service's ``DomainError`` (``domain_problem``: the one mapping) render the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from classroom.domain import Conflict, DomainError, Invalid, NotAllowed
from classroom.http import public_base_url

PROBLEM_MEDIA_TYPE = "application/problem+json"
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


@dataclass(frozen=True)
class Kind:
    """A kind of problem: its ``type`` slug, HTTP status, title and default detail."""

    slug: str
    status: int
    title: Any
    detail: Any


KINDS: dict[str, Kind] = {kind.slug: kind for kind in (
    Kind("bad-request", 400, _l("Bad request"), _l("The request could not be understood.")),
    Kind("invalid-cursor", 400, _l("Invalid cursor"),
         _l("The cursor does not name a page of this list. Start again from the first page.")),
    Kind("credentials-in-query", 400, _l("Credentials in the address"),
         _l("Send tokens and keys only in the Authorization header, never in the address.")),
    Kind("invalid-idempotency-key", 400, _l("Invalid Idempotency-Key"),
         _l("An Idempotency-Key is 1 to 200 visible ASCII characters.")),
    Kind("unauthorized", 401, _l("Authentication required"),
         _l("Send a token or an API key in the Authorization header: Bearer <token>.")),
    Kind("invalid-token", 401, _l("Invalid token"),
         _l("The token or key is unknown, expired or revoked. Sign in again.")),
    Kind("login-failed", 401, _l("Log-in failed"), _l("The mobile number, email or password is not right.")),
    Kind("forbidden", 403, _l("Not allowed"), _l("These credentials may not do this.")),
    Kind("insufficient-scope", 403, _l("Scope missing"), _l("This API key lacks the scope %(scope)s.")),
    Kind("person-required", 403, _l("A person's token is needed"),
         _l("This endpoint acts for a signed-in person: use a worker's token, not an API key.")),
    Kind("not-found", 404, _l("Resource not found"), _l("Nothing is at this address, or you may not see it.")),
    Kind("method-not-allowed", 405, _l("Method not allowed"),
         _l("This address does not accept that method (see the Allow header).")),
    Kind("conflict", 409, _l("Conflict"), _l("The resource's state does not allow this change.")),
    Kind("request-in-progress", 409, _l("Request in progress"),
         _l("A request with this Idempotency-Key is still running. Try again in a moment.")),
    Kind("precondition-failed", 412, _l("Changed meanwhile"),
         _l("The resource changed since you read it: read it again (its new ETag), then retry.")),
    Kind("payload-too-large", 413, _l("Too large"), _l("The request body is larger than allowed.")),
    Kind("validation-failed", 422, _l("Invalid input"), _l("Some fields are not valid: see errors.")),
    Kind("invalid", 422, _l("Invalid input"), _l("The input breaks a rule.")),
    Kind("refused", 422, _l("Refused"), _l("The request could not be completed.")),
    Kind("idempotency-key-reused", 422, _l("Idempotency-Key reused"),
         _l("This Idempotency-Key was used with another request. Use a new key for a new request.")),
    Kind("precondition-required", 428, _l("If-Match required"),
         _l("Send the ETag you read in an If-Match header.")),
    Kind("too-many-requests", 429, _l("Too many requests"),
         _l("Too many requests. Wait, then try again (see Retry-After).")),
    Kind("server-error", 500, _l("Something went wrong"), _l("The error has been logged. Try again in a moment.")),
)}
SLUG_BY_STATUS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                  405: "method-not-allowed", 409: "conflict", 412: "precondition-failed", 413: "payload-too-large",
                  422: "validation-failed", 428: "precondition-required", 429: "too-many-requests",
                  500: "server-error"}
DOMAIN_SLUGS = ((NotAllowed, "forbidden"), (Conflict, "conflict"), (Invalid, "invalid"))
CHALLENGES = {"unauthorized": 'Bearer realm="api"', "invalid-token": 'Bearer realm="api", error="invalid_token"',
              "login-failed": 'Bearer realm="api"'}

# marshmallow's own messages, in the caller's language (the schemas' validators carry their own).
MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field may not be empty."),
    "Unknown field.": _l("Unknown field."),
    "Invalid input type.": _l("Send a JSON object."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid datetime.": _l("Enter an ISO 8601 time with its offset."),
    "Not a valid aware datetime.": _l("Enter an ISO 8601 time with its offset."),
    "Not a valid date.": _l("Enter an ISO 8601 date."),
    "Not a valid email address.": _l("Enter a valid email address."),
    "Number too large.": _l("The number is too large."),
}


class Problem(HTTPException):
    """An API error of a known kind; ``detail`` (default: the kind's) may take ``params``; ``errors``
    maps fields to messages."""

    def __init__(self, slug: str, detail: Any = None, *, errors: Mapping | None = None,
                 headers: Mapping[str, str] | None = None, **params: Any) -> None:
        self.kind = KINDS[slug]
        self.code = self.kind.status
        super().__init__(description=str(self.kind.title))
        self.detail, self.errors, self.params = detail, errors, params
        self.extra_headers = dict(headers or {})

    def text(self) -> str:
        """The detail in the current language."""
        text = str(self.detail if self.detail is not None else self.kind.detail)
        return text % self.params if self.params else text


def domain_problem(error: DomainError) -> Problem:
    """The one translation of a service's refusal into a problem: NotAllowed → 403, Conflict → 409,
    Invalid → 422 (its field in ``errors``), any other DomainError → 422 "refused"."""
    slug = next((slug for cls, slug in DOMAIN_SLUGS if isinstance(error, cls)), "refused")
    return Problem(slug, str(error), errors={error.field: [str(error)]} if error.field else None)


def type_uri(slug: str) -> str:
    """The stable ``type`` of a kind: a page of this site that explains it."""
    return f"{public_base_url()}/api/problems/{slug}"


def problem_response(error: HTTPException) -> Response:
    """The problem document for an HTTP error raised while serving the API."""
    problem = error if isinstance(error, Problem) else _as_problem(error)
    body: dict[str, Any] = {"type": type_uri(problem.kind.slug), "title": str(problem.kind.title),
                            "status": problem.code, "detail": problem.text(), "instance": request.path}
    if problem.errors:
        body["errors"] = localized(problem.errors)
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=problem.code,
                                          mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in error.get_headers():
        if name in KEPT_HEADERS:
            response.headers[name] = value
    response.headers.update(problem.extra_headers)
    if problem.kind.slug in CHALLENGES:
        response.headers.setdefault("WWW-Authenticate", CHALLENGES[problem.kind.slug])
    return response


def _as_problem(error: HTTPException) -> Problem:
    code = error.code or 500
    slug = SLUG_BY_STATUS.get(code) or ("bad-request" if code < 500 else "server-error")
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, Mapping) else None
    limit = getattr(error, "limit", None)  # Flask-Limiter's breach: its own message when it has one
    detail = getattr(limit, "error_message", None) if code == 429 else None
    problem = Problem(slug, detail() if callable(detail) else detail, errors=messages)
    problem.code = code  # a status without a kind of its own (406, 415 …) keeps its code
    return problem


def localized(messages: Any) -> Any:
    """marshmallow's messages (nested by location and field) in the caller's language."""
    if isinstance(messages, Mapping):
        return {str(name): localized(value) for name, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [localized(value) for value in messages]
    return str(MESSAGES.get(messages, messages)) if isinstance(messages, str) else str(messages)
