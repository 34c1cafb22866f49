"""The fixed parts of every page (navigation, footer, asset links), rendered once per language
and navigation set instead of on every request: they hold nothing but translated labels, links
and the viewer's navigation flags, and they are most of the cost of drawing a cached page."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from classroom.i18n import current_locale

MAX_FRAGMENTS = 256  # a few templates × languages × navigation sets; never more than this


def init_app(app: Flask) -> None:
    """The fragments' cache and the templates' ``chrome()``."""
    app.extensions["chrome"] = {}
    app.jinja_env.globals["chrome"] = chrome


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
