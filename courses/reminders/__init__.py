"""Reminders: the scheduled scans, the approvers' digest, the calendar feed."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from courses.reminders import agenda, jobs, views

    app.register_blueprint(views.bp)
    app.extensions["classroom"].schedule_sources.append(agenda.schedule_items)
    jobs.init_app(app)
