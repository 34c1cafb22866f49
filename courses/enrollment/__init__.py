"""Sign-ups: capacity, the waitlist, approval, announcements to the enrolled."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The sign-up pages; an approved course change tells the enrolled and fills new seats."""
    from classroom.api import add_blueprint
    from courses.catalog.hooks import course_changed
    from courses.enrollment import api, services, views

    app.register_blueprint(views.bp)
    add_blueprint(app, api.bp)
    course_changed.connect(services.on_course_changed)
