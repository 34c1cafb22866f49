"""Notifications: the bell, the email and SMS outbox, preferences, digests and one-click opt-outs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The shell's notification kinds, the dispatcher and digest jobs, the pages and the bell's count."""
    from classroom.notifications import jobs, kinds, privacy, unsubscribe, views

    registry = app.extensions["classroom"]
    for name, label, email, sms in kinds.SHELL_KINDS:
        registry.add_kind(name, label, email=email, sms=sms)
    registry.add_job("outbox.dispatch", jobs.dispatch_job, "DISPATCH_INTERVAL_SECONDS", checks_leadership=True)
    registry.add_job("outbox.digest", jobs.digest_job, "REMINDER_SCAN_SECONDS")
    registry.erasures.append(privacy.erase)
    app.register_blueprint(views.bp)
    app.register_blueprint(unsubscribe.bp)
    app.context_processor(views.inject_unread_count)
