"""The home page, the privacy notice, /ping and /healthz."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The home, privacy and health pages, the web app's manifest and service worker, and the menu's flags."""
    from classroom.main import views, webapp_views

    app.register_blueprint(views.bp)
    app.register_blueprint(webapp_views.bp)
    app.context_processor(views.navigation)
