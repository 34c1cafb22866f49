"""Sign-ups: capacity, the waitlist, approval, announcements to the enrolled."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The sign-up pages; an approved course change tells the enrolled and fills new seats."""
    from courses.catalog.hooks import course_changed
    from courses.enrollment import services, views

    app.register_blueprint(views.bp)
    course_changed.connect(services.on_course_changed)
