"""The API's OpenAPI document: its committed snapshot, its viewer (under the CSP), and a bounded
schemathesis run against it in the suite — no server error, no answer outside the document (status,
media type, schema, headers). ``make api-check`` runs the full one against a live server."""

from __future__ import annotations

import contextvars
import re

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from classroom.api import cli
from classroom.api.spec import LINKS
from tests.api_support import PROBLEM, bearer, sign_in
from tests.helpers import assert_inert

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = 6  # per operation, mode and token: the whole run stays within a few minutes
SIGNS_OUT = ("POST", "/api/v1/auth/logout")  # would end the run's own token: the full run covers it


def test_the_served_document_matches_its_committed_snapshot(client, runner):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json()["openapi"] == "3.1.0"
    snapshot = cli.SNAPSHOT.read_text(encoding="utf-8")
    assert cli.dumps(served.get_json()) == snapshot, "the API changed: run `flask api spec --write`, review, commit"
    assert runner.invoke(args=["api", "spec", "--check"]).exit_code == 0
    document = served.get_json()
    assert document["components"]["schemas"]["Me"]["properties"]["email"]["type"] == ["string", "null"]
    assert PROBLEM in document["components"]["responses"]["NotFound"]["content"]
    assert document["paths"]["/api/v1/me"]["patch"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/courses"]["get"]["security"] == [{"bearer": ["courses:read"]}]


def test_the_documentation_page_obeys_the_csp(client):
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert_inert(html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    unhashed = [re.sub(r"^/static/[0-9a-f]+/", "/static/", path) for path in [*scripts, *styles]]
    assert unhashed == ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/js/api-docs.js",
                        "/static/vendor/swagger-ui/swagger-ui.css"]  # vendored: no CDN
    for path in [*scripts, *styles]:
        assert client.get(path).status_code == 200
    assert 'data-spec-url="/api/v1/openapi.json"' in html


def isolated(app):
    """The app as WSGI, each request in a context of its own (as in production, and as tests' clients do)."""

    def wsgi(environ, start_response):
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # schemathesis reads WSGI bodies as they come: no gzip
        return contextvars.Context().run(app, environ, start_response)

    return wsgi


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(app, client, make_user, make_admin,
                                                                     make_course, tree):
    """Every operation, both generation modes, with a worker's token and with a district administrator's."""
    tokens = {"worker": sign_in(client, make_user("李工", union=tree.a1))["access_token"],
              "admin": sign_in(client, make_admin(tree.district_a, "东城管理员"), device="管理电脑")["access_token"]}
    make_course("公开课", sessions=1)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated(app))
    tried = []
    for who, token in tokens.items():
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) == SIGNS_OUT:
                continue
            for mode in GenerationMode:
                try:
                    fuzz(operation.as_strategy(generation_mode=mode, headers=bearer(token)))
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, operation.path  # nothing of it can be made invalid
                    continue
                tried.append((who, operation.method.upper(), operation.path, mode.value))
    assert len({(method, path) for _, method, path, _ in tried}) >= 60, tried
    assert {who for who, *_ in tried} == set(tokens)


def fuzz(strategy) -> None:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case):
        case.validate_response(case.call(), checks=CHECKS)

    check()


def test_the_document_links_what_is_created_to_where_it_leads(client):
    document = client.get("/api/v1/openapi.json").get_json()
    links = [(name, link) for item in document["paths"].values() for operation in item.values()
             if isinstance(operation, dict) for response in operation.get("responses", {}).values()
             for name, link in response.get("links", {}).items()]
    assert len(links) >= 9 and {"GetEnrollment", "SaveDrillAnswer", "SubmitExamAttempt"} <= {name for name, _ in links}
    for name, link in links:
        path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
        item = document["paths"][path.replace("~1", "/").replace("~0", "~")]
        assert method in item, name
        declared = {parameter["name"] for parameter in [*item.get("parameters", []), *item[method].get("parameters", [])]
                    if parameter.get("in") == "path"}  # (a header parameter may be a $ref)
        assert set(link["parameters"]) == declared, (name, declared)  # every path parameter comes from the answer


def test_schemathesis_follows_the_links_with_no_server_error(app, client, make_user, make_course, tree):
    """The stateful run: sequences of calls that follow the document's links (a worker's token)."""
    token = sign_in(client, make_user("李工", union=tree.a1))["access_token"]
    course_id = make_course("公开课", sessions=1).id
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated(app)).exclude(
        method=SIGNS_OUT[0], path=SIGNS_OUT[1])

    answered: list[tuple[str, str, int]] = []

    machine = schema.as_state_machine()
    rules = [name for name in dir(machine) if "___" in name]
    for (path, method, status), links in LINKS.items():  # each of the document's links is a step it may take
        start = f"{method.upper()}_{re.sub(r'[^A-Za-z0-9]', '_', re.sub(r'[{}]', '', path.lstrip('/')))}___{status}_"
        assert all(any(rule.startswith(f"{start}{name}__") for rule in rules) for name in links), (start, links)

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"headers": bearer(token)}

        def before_call(self, case):
            if (case.method.upper(), case.path) == ("POST", "/api/v1/enrollments") and len(answered) % 2:
                case.body = {"course_id": course_id}  # now and then a course that exists: the links get a start

        def after_call(self, response, case):
            answered.append((case.method.upper(), case.path, response.status_code))

        def validate_response(self, response, case, **_kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(max_examples=EXAMPLES * 10, stateful_step_count=10, deadline=None, derandomize=True,
                                   database=None, suppress_health_check=list(HealthCheck)))
    assert ("POST", "/api/v1/enrollments", 201) in answered  # something to follow a link from was made
