"""Attendance: rosters, self check-in with rotating codes, personal badges, paper rosters."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from classroom.api import add_blueprint
    from courses.attendance import api, views

    app.register_blueprint(views.bp)
    add_blueprint(app, api.bp)
    app.extensions["classroom"].me_panels.append(views.me_badge_panel)
