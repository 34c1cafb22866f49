"""Studying: lessons and progress, exams, attachments, completion."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The study pages and the home panel; recorded attendance may complete an enrollment."""
    from classroom.api import add_blueprint
    from courses.attendance.hooks import attendance_recorded
    from courses.study import api, attachment_views, exam_api, exam_views, services, views

    for module in (views, exam_views, attachment_views):
        app.register_blueprint(module.bp)
    for resources in (api, exam_api):
        add_blueprint(app, resources.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    attendance_recorded.connect(services.on_attendance)
