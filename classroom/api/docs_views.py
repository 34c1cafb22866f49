"""The API's documentation pages: /api/docs (Swagger UI on the served OpenAPI document, vendored, no inline
script) and /api/problems/<slug> (what each problem ``type`` means)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for

from classroom.api.problems import KINDS

bp = Blueprint("api_docs", __name__, url_prefix="/api")


@bp.route("/docs")
def docs():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.route("/problems/<slug>")
def problem(slug: str):
    kind = KINDS.get(slug) or abort(404)
    return render_template("api/problem.html", kind=kind, kinds=KINDS.values())
