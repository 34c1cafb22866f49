"""/me/devices: the apps signed in with a worker's account, each one revocable."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.api.models import ApiDevice
from classroom.api.tokens import BY_USER, active_devices, revoke_device
from classroom.database import utcnow
from classroom.http import owned_or_404, paginate, perform

bp = Blueprint("api_devices", __name__, url_prefix="/me/devices")


@bp.before_request
@login_required
def require_login():
    """Every page here is the signed-in person's own."""


@bp.route("")
def index():
    return render_template("api/devices.html", page=paginate(active_devices(current_user)))


@bp.route("/<int:device_id>/revoke", methods=["POST"])
def revoke(device_id: int):
    device = owned_or_404(ApiDevice, device_id, user_id=current_user.id)
    perform(lambda: revoke_device(device, reason=BY_USER, now=utcnow()),
            success=_("%(device)s is signed out.", device=device.name))
    return redirect(url_for("api_devices.index"))
