"""The home page for each role, the privacy notice and /healthz."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user

from classroom.extensions import db
from classroom.health import health_report
from classroom.unions import scope
from classroom.unions.services import current_memberships, subtree_counts

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/home_visitor.html")
    managed = db.session.scalars(scope.visible_unions(current_user).order_by("depth").limit(1)).first() \
        if scope.is_union_admin(current_user) else None
    return render_template(
        "main/home.html",
        open_memberships=current_memberships(current_user.id),
        managed_union=managed,
        managed_counts=subtree_counts(managed) if managed else {},
    )


@bp.route("/privacy")
def privacy():
    return render_template("main/privacy.html", version=current_app.config["PRIVACY_NOTICE_VERSION"])


@bp.route("/healthz")
def healthz():
    report = health_report()
    return jsonify(report), 200 if report["status"] == "ok" else 503
