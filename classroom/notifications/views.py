"""The bell and /me/notifications."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import paginate, safe_next
from classroom.notifications import preferences
from classroom.notifications.kinds import kinds
from classroom.notifications.models import Notification
from classroom.notifications.services import mark_read, unread_count

bp = Blueprint("notifications", __name__, url_prefix="/me/notifications")


@bp.before_request
@login_required
def require_login():
    """Only the person's own notifications are here."""


@bp.route("")
def index():
    page = paginate(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return render_template("notifications/index.html", page=page)


@bp.route("/<int:notification_id>/read", methods=["POST"])
def read(notification_id: int):
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == current_user.id)
    )
    if notification is None:
        abort(404)
    mark_read(current_user.id, notification.id, now=utcnow())
    db.session.commit()
    current_user.unread_count = None
    link = notification.link or ""
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    if request.method == "POST":
        choices = {kind: {"email": request.form.get(f"{kind}:email") == "on",
                          "sms": request.form.get(f"{kind}:sms") == "on",
                          "cadence": request.form.get(f"{kind}:cadence", "immediate")} for kind in kinds()}
        try:
            preferences.save(current_user, choices, request.form.get("quiet_hours", ""))
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.settings"))
    quiet = (current_user.notification_prefs or {}).get("quiet_hours", current_app.config["QUIET_HOURS"])
    return render_template("notifications/settings.html", rows=preferences.table(current_user), quiet=quiet)


@bp.route("/read-all", methods=["POST"])
def read_all():
    count = mark_read(current_user.id, now=utcnow())
    db.session.commit()
    current_user.unread_count = None
    flash(_("Marked %(count)d notifications read.", count=count), "success")
    return redirect(safe_next(url_for("notifications.index")))


def inject_unread_count() -> dict:
    """The bell's number: loaded with the user at the start of the request, counted after a change."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    if current_user.unread_count is None:
        current_user.unread_count = unread_count(current_user.id)
    return {"unread_notifications": current_user.unread_count}
