"""The fixed parts of every page (navigation, footer, asset links), rendered once per language
and navigation set instead of on every request: they hold nothing but translated labels, links
and the viewer's navigation flags, and they are most of the cost of drawing a cached page."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import cast

from flask import Flask, current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from classroom.cache import app_cache
from classroom.i18n import current_locale, select_timezone

MAX_FRAGMENTS = 256  # a few templates × languages × navigation sets; never more than this
VISITOR_PAGES = 256  # whole pages kept for visitors, per app (tens of kB each)
# Where a kept page's CSRF tokens go: drawn in its place, replaced by this request's token before sending.
CSRF_HOLE = "csrf-hole-" + secrets.token_hex(12)


def init_app(app: Flask) -> None:
    """The fragments' cache and the templates' ``chrome()``."""
    app.extensions["chrome"] = {}
    app.jinja_env.globals["chrome"] = chrome


def visitor_page(key: Hashable, seconds: float, draw: Callable[[], str]) -> str:
    """The page ``draw()`` draws, kept ``seconds`` for visitors: nobody signed in and no message waiting.
    Kept per ``key`` (what the page shows that may change) and everything of the request the chrome reads:
    language, timezone, care mode, address. Only the forms' CSRF tokens are drawn for each visitor (so a
    visitor's session is made as before); a signed-in person's page, or one with a message, is drawn afresh."""
    if current_user.is_authenticated or session.get("_flashes"):
        return draw()
    care_mode = cast(Callable[[], bool], current_app.jinja_env.globals["care_mode"])  # as the page reads it
    look = (key, current_locale(), select_timezone(), care_mode(), request.script_root, request.full_path)
    page = app_cache("visitor-pages", VISITOR_PAGES).get_or_set(look, seconds, lambda: _with_holes(draw))
    return page.replace(CSRF_HOLE, generate_csrf()) if CSRF_HOLE in page else page


def _with_holes(draw: Callable[[], str]) -> str:
    """``draw()`` with the hole for this request's CSRF token: Flask-WTF hands out the token it holds in
    ``g`` (its per-request copy) to every form and template, so none is made and no visitor's is kept."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    held = g.pop(name, None)
    setattr(g, name, CSRF_HOLE)
    try:
        return draw()
    finally:
        g.pop(name)
        if held is not None:
            setattr(g, name, held)


@pass_context
def chrome(context: Context, name: str, nav: dict | None = None) -> Markup:
    """Template ``name`` rendered for this language, script root, log-in state and ``nav`` flags.
    Such a template may use nothing else of the request. (The signed-in person is the page's
    ``current_user``, not looked up again through Flask-Login's proxy: a page draws four of these.)"""
    user = context.get("current_user") or current_user
    key = (name, current_locale(), request.script_root, user.is_authenticated, tuple(sorted((nav or {}).items())))
    fragments = current_app.extensions["chrome"]
    fragment = fragments.get(key)
    if fragment is None:
        fragment = Markup(render_template(name, nav=nav or {}))  # noqa: S704 - our own template
        if not current_app.jinja_env.auto_reload and len(fragments) < MAX_FRAGMENTS:
            fragments[key] = fragment  # (a template being edited is drawn afresh)
    return fragment
