"""The elder-friendly mode (关怀模式): larger type and tap targets, stronger contrast and a flatter menu
(static/css/app.css, ``html.care``). A signed-in person's choice is kept on their record; a visitor's in
a cookie of this browser."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from classroom.accounts.models import User

COOKIE = "care"
COOKIE_MAX_AGE = 365 * 24 * 3600


def care_mode() -> bool:
    """Whether this page is drawn in the care mode: the person's choice, or this browser's for a visitor."""
    user = current_user._get_current_object()  # (one look-up: each through the proxy costs one)
    if user.is_authenticated:
        return bool(user.care_mode)
    return request.cookies.get(COOKIE) == "1"


def back_here() -> str:
    """Where the switch sends the person back to: this page (its query too for a GET), or the home page when
    its address holds a control character (a refused request's path is shown back in no page)."""
    path = request.full_path if request.method == "GET" else request.path
    path = path.removesuffix("?")
    return "/" if any(ord(char) < 32 or ord(char) == 127 for char in path) else path


def set_care_mode(user: User, on: bool) -> None:
    """Turn the person's care mode on or off (the caller commits)."""
    user.care_mode = on


def remember_in_browser(response: Response, on: bool) -> Response:
    """This browser keeps the choice too (for the pages seen when not signed in)."""
    if on:
        response.set_cookie(COOKIE, "1", max_age=COOKIE_MAX_AGE, secure=request.is_secure, httponly=True,
                            samesite="Lax")
    else:
        response.delete_cookie(COOKIE, secure=request.is_secure, httponly=True, samesite="Lax")
    return response
