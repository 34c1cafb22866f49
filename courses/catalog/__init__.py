"""Courses, lessons and class sessions: authoring, review and revisions, the public catalogue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from classroom.api import add_blueprint
    from courses.catalog import api, attachments, review_api, review_views, teach_views, versions, views

    attachments.listen()
    versions.listen()  # a course's content version rises with any change to what its page shows
    for module in (views, teach_views, review_views):
        app.register_blueprint(module.bp)
    add_blueprint(app, api.bp)
    add_blueprint(app, review_api.bp)
