"""Training hours: the ledger, transcripts, union reports and exports."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The hours pages, the home panel, and the ledger following lessons, attendance and schedule changes."""
    from courses.hours import subscribers, views

    app.register_blueprint(views.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    subscribers.connect()
