"""Certificates: issuance, serials, signatures, PDF, Open Badges, public verification."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The certificate pages (with verification and administration), the home panel, and issuance when an
    enrollment completes."""
    from classroom.api import add_blueprint
    from courses.certificates import api, issuance, views
    from courses.study.hooks import enrollment_completed

    app.register_blueprint(views.bp)
    add_blueprint(app, api.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    enrollment_completed.connect(issuance.on_enrollment_completed)
