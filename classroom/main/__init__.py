"""The home page, the privacy notice, /ping and /healthz."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The home, privacy and health pages, and the menu's flags."""
    from classroom.main import views

    app.register_blueprint(views.bp)
    app.context_processor(views.navigation)
