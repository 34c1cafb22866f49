"""网上练兵: question banks owned by unions, practice with a mistake book, mock exams drawn per person."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The drill pages, their API, the scan that submits papers at their deadline, and the daily-practice
    reminder (its kind off by default: sent only to those who choose it)."""
    from classroom.api import add_blueprint
    from courses.drills import api, daily, daily_api, jobs, manage_views, mock_api, mock_views, views

    for module in (views, manage_views, mock_views):
        app.register_blueprint(module.bp)
    for resources in (api, daily_api, mock_api):
        add_blueprint(app, resources.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    app.extensions["classroom"].add_job("drills.submit_expired", jobs.submit_expired, "DRILL_SUBMIT_SECONDS")
    app.extensions["classroom"].add_kind(daily.KIND, daily.KIND_LABEL, email=False, sms=False)
    app.extensions["classroom"].add_job("drills.daily_reminders", jobs.daily_reminders, "REMINDER_SCAN_SECONDS")
