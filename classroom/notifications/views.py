"""The bell and /me/notifications."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import paginate, safe_next
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
