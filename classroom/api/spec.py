"""flask-smorest as the API uses it: problem documents as the documented errors, each operation listing
exactly the statuses it may answer, and ``ApiBlueprint.auth`` guarding an endpoint by credentials and
scope (and documenting it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import Response, current_app
from flask_smorest import Api, Blueprint
from flask_smorest.etag import _get_etag_ctx
from flask_smorest.utils import prepare_response
from marshmallow import Schema

from classroom.api.boundary import count_request
from classroom.api.door import authenticate
from classroom.api.problems import PROBLEM_MEDIA_TYPE
from classroom.api.schemas import ProblemSchema
from classroom.cache import TTLCache

# Response components by status, under names of our own (Python's HTTPStatus names change between versions,
# and the committed snapshot of the document must not).
RESPONSES = {
    304: ("NotModified", "Not modified: the ETag in If-None-Match is current."),
    400: ("BadRequest", "The request could not be understood."),
    401: ("Unauthorized", "No valid token or key in the Authorization header."),
    403: ("Forbidden", "These credentials may not do this."),
    404: ("NotFound", "Nothing is at this address, or the caller may not see it."),
    409: ("Conflict", "The resource's state does not allow this, or the same request is still running."),
    412: ("PreconditionFailed", "If-Match does not name the current ETag."),
    413: ("PayloadTooLarge", "The request body is too large."),
    422: ("UnprocessableContent", "The input is not valid, or breaks a rule."),
    428: ("PreconditionRequired", "This change needs If-Match with the ETag last read."),
    429: ("TooManyRequests", "Rate limit reached: see Retry-After and the RateLimit headers."),
}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "Repeat a request safely: the same key within 24 hours gets the first answer.",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
BODY_METHODS = ("post", "put", "patch")


# OpenAPI links: where a created resource's id leads (for clients, and for schemathesis's stateful runs,
# which follow them). (path, method, status) -> {link name: (target path, target method, {parameter: value})}.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("/api/v1/enrollments", "post", "201"): {
        "GetEnrollment": ("/api/v1/enrollments/{enrollment_id}", "get", {"enrollment_id": "$response.body#/id"}),
        "WithdrawEnrollment": ("/api/v1/enrollments/{enrollment_id}/withdraw", "post",
                               {"enrollment_id": "$response.body#/id"}),
    },
    ("/api/v1/me/membership-application", "post", "201"): {
        "GetMembership": ("/api/v1/me/memberships/{membership_id}", "get", {"membership_id": "$response.body#/id"}),
    },
    ("/api/v1/courses/{course_id}/exam/attempts", "post", "201"): {
        "GetExamAttempt": ("/api/v1/exam-attempts/{attempt_id}", "get", {"attempt_id": "$response.body#/id"}),
        "AnswerExamAttempt": ("/api/v1/exam-attempts/{attempt_id}/answers", "put",
                              {"attempt_id": "$response.body#/id"}),
        "SubmitExamAttempt": ("/api/v1/exam-attempts/{attempt_id}/submit", "post",
                              {"attempt_id": "$response.body#/id"}),
    },
    ("/api/v1/drill-exams/{exam_id}/attempts", "post", "201"): {
        "GetDrillAttempt": ("/api/v1/drill-attempts/{attempt_id}", "get", {"attempt_id": "$response.body#/id"}),
        "SaveDrillAnswer": ("/api/v1/drill-attempts/{attempt_id}/answers/{number}", "put",
                            {"attempt_id": "$response.body#/id", "number": "$response.body#/questions/0/number"}),
        "SubmitDrillAttempt": ("/api/v1/drill-attempts/{attempt_id}/submit", "post",
                               {"attempt_id": "$response.body#/id"}),
    },
}


def operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of this document."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def add_links(spec: dict[str, Any]) -> None:
    """Put ``LINKS`` on the responses they start from (those of operations this app serves)."""
    for (path, method, status), links in LINKS.items():
        response = spec["paths"].get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {name: {"operationRef": operation_ref(target, target_method), "parameters": parameters}
                             for name, (target, target_method, parameters) in sorted(links.items())}


class ClassroomApi(Api):
    """flask-smorest's Api whose errors are problem documents, rendered by ``classroom.api.boundary``."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own statuses, none hides behind "default"

    def document(self) -> dict[str, Any]:
        """The OpenAPI document as served and snapshotted: plain JSON, its tags in name order (whatever
        order the packages registered their blueprints in)."""
        spec = self.spec.to_dict()
        spec["tags"] = sorted(spec.get("tags", []), key=lambda tag: tag["name"])
        add_links(spec)
        return json.loads(json.dumps(spec))

    def _openapi_json(self) -> Response:
        return current_app.response_class(json.dumps(self.document(), indent=2, ensure_ascii=False),
                                          mimetype="application/json")

    def _register_pagination_header(self) -> None:
        """Nothing: lists are cursor pages (``classroom.api.pagination``), not flask-smorest's numbered ones."""

    def _register_error_handlers(self) -> None:
        """Nothing: ``classroom.api.boundary`` answers the API's errors (and leaves the pages' alone)."""

    def _register_responses(self) -> None:
        for code, (name, description) in RESPONSES.items():
            response: dict[str, Any] = {"description": description}
            if code >= 400:
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(name, response, lazy=True)


class ApiBlueprint(Blueprint):
    """A blueprint of API resources: register it with ``classroom.api.add_blueprint`` in the package's
    ``init_app``. ``auth`` guards an endpoint; the statuses it may answer are documented for it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_problem_doc)
        self.before_request(count_request)  # API_RATE_LIMIT, per caller

    def route(self, rule: str, **options: Any) -> Callable:
        """flask-smorest's route; a rule with a path parameter may answer 404."""
        register = super().route(rule, **options)

        def decorator(func: Callable) -> Callable:
            if "<" in rule:
                func._apidoc = dict(getattr(func, "_apidoc", {}), path_params=True)  # type: ignore[attr-defined]
            return register(func)

        return decorator

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable:
        """flask-smorest's arguments, with a schema class made an instance once: webargs would make one per
        request (a marshmallow schema copies its declared fields when made; loading does not change it)."""
        made = schema() if isinstance(schema, type) and issubclass(schema, Schema) else schema
        return super().arguments(made, *args, **kwargs)

    @staticmethod
    def auth(*, scope: str | None = None, person: bool = False) -> Callable:
        """Require a token or key in the Authorization header (401), a key with ``scope`` (403), or a person's
        token when ``person`` (403). Put it right below ``route``, above ``arguments`` and ``response``."""

        def decorator(view: Callable) -> Callable:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                authenticate(scope=scope, person=person)
                return view(*args, **kwargs)

            wrapper._apidoc = dict(deepcopy(getattr(view, "_apidoc", {})),  # type: ignore[attr-defined]
                                   auth={"scope": scope, "person": person})
            return wrapper

        return decorator

    def kept_answer(self, cache: TTLCache, key: Any, ttl: float, schema: Any, make: Callable[[], Any]) -> Response:
        """A read whose whole answer may be kept ``ttl`` seconds, as its page keeps it (below ``etag`` and
        ``response``): ``make()`` dumped by ``schema`` into the body and its ETag once per key, then served
        as they are; a matching If-None-Match is a 304, as for any read."""

        def frozen() -> tuple[bytes, str]:
            dumped = schema().dump(make())
            answer: Response = current_app.json.response(dumped)  # type: ignore[assignment]  # Flask's own
            return answer.get_data(), self._generate_etag(dumped)

        body, etag = cache.get_or_set(key, ttl, frozen)
        _get_etag_ctx()["etag"] = etag
        self._check_not_modified(etag)
        return Response(body, mimetype="application/json")

    @staticmethod
    def problems(*codes: int) -> Callable:
        """Document statuses an endpoint answers beyond those ``auth``, ``arguments``, path parameters and
        bodies imply (e.g. a 401 of a sign-in, a 409 of a conflicting change)."""

        def decorator(view: Callable) -> Callable:
            doc = getattr(view, "_apidoc", {})
            view._apidoc = dict(doc, problems=[*doc.get("problems", ()), *codes])  # type: ignore[attr-defined]
            return view

        return decorator

    @staticmethod
    def _prepare_problem_doc(doc: dict, doc_info: dict, *, method: str, **_kwargs: Any) -> dict:
        codes = {400, 429, *doc_info.get("problems", ())}
        auth = doc_info.get("auth")
        if auth is not None:
            codes |= {401, 403}
            doc["security"] = [{"bearer": [auth["scope"]] if auth["scope"] else []}]
        if doc_info.get("path_params"):
            codes.add(404)
        if method in BODY_METHODS:
            codes.add(413)
        if doc_info.get("idempotent"):
            codes |= {409, 422}
            doc.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        responses = doc.setdefault("responses", {})
        for code in codes:
            responses.setdefault(code, None)
        for code in list(responses):
            if isinstance(responses[code], str) or responses[code] is None:  # a status named by reference
                responses[code] = RESPONSES[int(code)][0]
        return doc
