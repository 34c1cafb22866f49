"""The home page for each role, the privacy notice and /healthz."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_login import current_user
from markupsafe import Markup

from classroom.cache import app_cache
from classroom.chrome import visitor_page
from classroom.figures import read_together
from classroom.health import health_report
from classroom.i18n import locale_code, select_timezone
from classroom.pagination import COUNT_BOUND
from classroom.registry import Panel, panels_for, registry
from classroom.unions import scope
from classroom.unions.memberships import current_memberships
from classroom.unions.queries import first_managed_union, subtree_figures

bp = Blueprint("main", __name__)


def _sections(user: Any) -> list[Panel]:
    """The panels the features add to the home page (the shell imports none of them)."""
    return panels_for(registry().home_panels, user)


def _visitor_sections() -> Markup:
    """The visitors' panels (the same for every visitor), rendered once per language and timezone every
    CATALOGUE_CACHE_SECONDS: an anonymous home page costs no query and little rendering."""
    return app_cache("visitor-home", 64).get_or_set(
        (locale_code(), select_timezone()),
        current_app.config["CATALOGUE_CACHE_SECONDS"],
        lambda: Markup(render_template("main/_panels.html", sections=_sections(current_user))))  # noqa: S704


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return visitor_page("home", current_app.config["CATALOGUE_CACHE_SECONDS"],
                            lambda: render_template("main/home_visitor.html", panels=_visitor_sections()))
    managed = first_managed_union(current_user)
    sections = _sections(current_user)
    managed_counts = subtree_figures(managed) if managed else {}
    read_together([managed_counts, *(context for _, context in sections)])  # every figure: one statement
    return render_template(
        "main/home.html", bound=COUNT_BOUND,
        open_memberships=current_memberships(current_user.id),
        managed_union=managed,
        managed_counts=managed_counts,
        sections=sections,
    )


def navigation() -> dict[str, dict[str, bool]]:
    """The menu's flags for the signed-in person (a context processor)."""
    user = current_user._get_current_object()  # (one look-up: each through the proxy costs one)
    if not user.is_authenticated:
        return {"nav": {}}
    return {"nav": {"union_admin": scope.is_union_admin(user), "site_admin": user.is_site_admin,
                    "instructor": user.has_role("instructor")}}


@bp.route("/privacy")
def privacy():
    return render_template("main/privacy.html", version=current_app.config["PRIVACY_NOTICE_VERSION"])


@bp.route("/ping")
def ping():
    """A bare answer, no database: for load balancers, and the baseline of the benchmarks."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/healthz")
def healthz() -> Response:
    """JSON health for probes; never cached (a stale "ok" would hide an outage)."""
    report = health_report()
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.cache_control.no_store = True
    return response
