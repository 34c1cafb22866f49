"""Studying: lessons and progress, exams, attachments, completion."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The study pages and the home panel; recorded attendance may complete an enrollment."""
    from courses.attendance.hooks import attendance_recorded
    from courses.study import attachment_views, exam_views, services, views

    for module in (views, exam_views, attachment_views):
        app.register_blueprint(module.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    attendance_recorded.connect(services.on_attendance)
