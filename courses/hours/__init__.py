"""Training hours: the ledger, transcripts, union reports and exports."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The hours pages, the queued exports (a task), the home panel, the ledger following lessons, attendance
    and schedule changes, the year rollup's triggers on memberships (for create_all) and the recount of changed
    targets (a scheduled job)."""
    from classroom.api import add_blueprint
    from courses.hours import api, export_views, exports, jobs, report_api, rollups, subscribers, views

    app.register_blueprint(views.bp)
    app.register_blueprint(export_views.bp)
    app.extensions["classroom"].tasks[exports.TASK] = jobs.build_export
    add_blueprint(app, api.bp)
    add_blueprint(app, report_api.bp)
    app.extensions["classroom"].home_panels.append(views.home_section)
    subscribers.connect()
    rollups.attach_triggers()
    app.extensions["classroom"].add_job("hours.retarget", jobs.retarget, "HOURS_RETARGET_SECONDS")
