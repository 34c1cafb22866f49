"""The bell and /me/notifications."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from classroom.database import utcnow
from classroom.http import owned_or_404, paginate, perform, safe_next
from classroom.notifications import preferences
from classroom.notifications.kinds import kinds
from classroom.notifications.models import Notification
from classroom.notifications.services import feed, mark_read, unread_count

bp = Blueprint("notifications", __name__, url_prefix="/me/notifications")


@bp.before_request
@login_required
def require_login() -> None:
    """Only the person's own notifications are here."""


@bp.route("")
def index() -> ResponseReturnValue:
    """The person's notifications, newest first."""
    return render_template("notifications/index.html", page=paginate(feed(current_user.id)))


@bp.route("/<int:notification_id>/read", methods=["POST"])
def read(notification_id: int) -> ResponseReturnValue:
    """Mark one notification read and follow its link (a path on this site), else back to the list."""
    notification = owned_or_404(Notification, notification_id, user_id=current_user.id)
    perform(lambda: mark_read(current_user.id, notification.id, now=utcnow()))
    current_user.unread_count = None
    link = notification.link or ""
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    """Each kind's channels and email timing, and the quiet hours."""
    if request.method == "POST" and perform(
            lambda: preferences.save(current_user, _choices(request.form), request.form.get("quiet_hours", "")),
            success=_("Your notification settings are saved.")).ok:
        return redirect(url_for("notifications.settings"))
    quiet = (current_user.notification_prefs or {}).get("quiet_hours", current_app.config["QUIET_HOURS"])
    return render_template("notifications/settings.html", rows=preferences.table(current_user), quiet=quiet)


@bp.route("/read-all", methods=["POST"])
def read_all() -> ResponseReturnValue:
    """Mark every unread notification read."""
    perform(lambda: mark_read(current_user.id, now=utcnow()),
            success=lambda count: _("Marked %(count)d notifications read.", count=count))
    current_user.unread_count = None
    return redirect(safe_next(url_for("notifications.index")))


def _choices(form: MultiDict[str, str]) -> dict[str, dict[str, Any]]:
    """The settings form as ``preferences.save`` takes it: {kind: {"email", "sms", "cadence"}}."""
    return {kind: {"email": form.get(f"{kind}:email") == "on", "sms": form.get(f"{kind}:sms") == "on",
                   "cadence": form.get(f"{kind}:cadence", "immediate")} for kind in kinds()}


def inject_unread_count() -> dict[str, int]:
    """The bell's number: loaded with the user at the start of the request, counted after a change."""
    user = current_user._get_current_object()  # (one look-up: each through the proxy costs one)
    if not user.is_authenticated:
        return {"unread_notifications": 0}
    if user.unread_count is None:
        user.unread_count = unread_count(user.id)
    return {"unread_notifications": user.unread_count}
