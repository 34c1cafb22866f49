"""Announcements to a whole union: an admin of the union (or above) posts one (``services``, ``views``); a
queue task (``jobs``) sends it to every active member of the union's subtree, a batch at a time, and the
announcement's row (``models``) holds its cursor and count, which the pages read."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The announcement pages, their notification kind and the sending task."""
    from classroom.unions.announcements import jobs, services, views

    registry = app.extensions["classroom"]
    registry.kinds[services.KIND.name] = services.KIND
    registry.tasks[services.TASK] = jobs.send
    app.register_blueprint(views.bp)
