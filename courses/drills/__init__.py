"""网上练兵: question banks owned by unions, practice with a mistake book, mock exams drawn per person."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The drill pages."""
    from courses.drills import manage_views, views

    for module in (views, manage_views):
        app.register_blueprint(module.bp)
