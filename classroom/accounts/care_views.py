"""The care mode's switch (关怀模式): a plain form, so it works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from flask_login import current_user

from classroom.accounts.care import remember_in_browser, set_care_mode
from classroom.http import perform, safe_next

bp = Blueprint("care", __name__)


@bp.post("/care")
def switch():
    """care=on|off; back to the page the switch was pressed on (?next= or the form's next)."""
    choice = request.form.get("care")
    if choice not in ("on", "off"):
        abort(400)
    if current_user.is_authenticated and not perform(lambda: set_care_mode(current_user, choice == "on")).ok:
        abort(400)
    return remember_in_browser(redirect(safe_next("/"), 303), choice == "on")
