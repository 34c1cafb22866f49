"""The JSON API (掌上工会: the union's apps, mini-programs and partner systems), on the same services as the
pages: tokens for workers' devices, API keys for partners, problem documents, cursor pages, ETags,
Idempotency-Key, rate limits, and the OpenAPI 3.1 document at /api/v1/openapi.json (browsable at /api/docs).

A feature package serves its own resources: it builds an ``ApiBlueprint`` (``classroom.api.spec``) in its
``api.py`` and calls ``add_blueprint(app, bp)`` in its ``init_app`` (before or after this one's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Worker Classroom API",
    "API_VERSION": "1.0",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {"info": {"description": "职工学堂 · 掌上工会: the JSON API. Errors are RFC 9457 problem "
                                                 "documents; lists are cursor pages; times are ISO 8601 with "
                                                 "offsets. Titles and details follow Accept-Language (zh-CN, en)."}},
    "API_ACCESS_TOKEN_SECONDS": 15 * 60,
    "API_REFRESH_TOKEN_DAYS": 30,
    "API_TOKEN_TOUCH_SECONDS": 300,  # a device's "last used" is written at most this often
    "API_RATE_LIMIT": "600 per minute",  # per token or key (per address without one), on every API blueprint
    "API_MAX_BODY_BYTES": 1024 * 1024,
    "API_IDEMPOTENCY_HOURS": 24,
    "API_IDEMPOTENCY_WAIT_SECONDS": 10,  # how long a repeat waits for the first request's answer
    "API_SWEEP_SECONDS": 3600,
}


@dataclass
class ApiState:
    """The app's API: its flask-smorest ``Api`` once ``init_app`` ran, and the resource blueprints."""

    blueprints: list = field(default_factory=list)
    api: Any = None


def state(app: Flask) -> ApiState:
    """The API's part of ``app.extensions``."""
    return app.extensions.setdefault("classroom_api", ApiState())


def add_blueprint(app: Flask, blueprint: Any) -> None:
    """Serve an ``ApiBlueprint``'s resources (a feature's ``init_app`` calls this, in any order with ours):
    registered with the API and its document, rate-limited per caller, and exempt from CSRF (the API takes
    no cookie, so no form can be forged against it)."""
    api_state = state(app)
    if blueprint in api_state.blueprints:
        return
    api_state.blueprints.append(blueprint)
    if api_state.api is not None:
        _serve(api_state.api, blueprint)


def _serve(api: Any, blueprint: Any) -> None:
    from classroom.extensions import csrf

    api.register_blueprint(blueprint)
    csrf.exempt(blueprint)


def init_app(app: Flask) -> None:
    """The API's settings, document, resources, pages (devices, API keys, docs), edge hooks, command and job."""
    from classroom.api import (
        admin_api,
        auth_api,
        boundary,
        cli,
        devices_views,
        docs_views,
        jobs,
        key_views,
        me_api,
        membership_api,
        notifications_api,
        ping_api,
        push_tokens,
        register_api,
        tokens,
        unions_api,
    )
    from classroom.api.spec import ClassroomApi
    from classroom.forms import BoundedIntegerConverter

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    api_state = state(app)
    api = ClassroomApi(app)
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "A worker's access token (POST /api/v1/auth/token) or a partner's API key."})
    api.register_converter(BoundedIntegerConverter, lambda converter: {
        "type": "integer", "minimum": converter.min or 0, "maximum": converter.max})
    queued, api_state.api = list(api_state.blueprints), api
    for blueprint in queued:  # added by features whose init_app ran before this one
        _serve(api, blueprint)
    for blueprint in (auth_api.bp, me_api.bp, unions_api.bp, admin_api.bp, ping_api.bp):
        add_blueprint(app, blueprint)
    for blueprint in (register_api.bp, membership_api.bp, notifications_api.bp):  # the worker's own resources
        add_blueprint(app, blueprint)
    for page in (docs_views.bp, devices_views.bp, key_views.bp):
        app.register_blueprint(page)
    app.wsgi_app = boundary.CookielessApi(app.wsgi_app)  # type: ignore[method-assign]  # WSGI middleware
    app.before_request(boundary.check_request)
    app.after_request(boundary.add_headers)
    boundary.take_over_errors(app)
    app.cli.add_command(cli.api_cli)
    registry = app.extensions["classroom"]
    registry.add_job("api.sweep", jobs.sweep, "API_SWEEP_SECONDS")
    registry.data_sections["api_devices"] = tokens.device_section
    registry.erasures.extend((tokens.erase_devices, push_tokens.erase_push_tokens))
