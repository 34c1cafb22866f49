"""Notifications: the bell, the email and SMS outbox, preferences, digests and one-click opt-outs.

- ``services``: notify() and notify_many(), the bell's count, reading; ``outbox``: queueing the email
  and SMS copies; ``preferences``: each person's choices and quiet hours; ``kinds``, ``facts``.
- ``jobs``: the dispatcher and the digest job, which own their transactions; ``delivery`` decides one
  message's fate, ``digests`` gathers held copies, ``emails`` and ``texts`` render them.
- ``views`` (the bell, /me/notifications) and ``unsubscribe_views`` (one-click opt-outs, whose signed
  links ``unsubscribe`` makes); ``privacy``: what closing an account erases here.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The shell's notification kinds, the dispatcher and digest jobs, the pages and the bell's count."""
    # (here, as in every package's init_app: importing any module of the package, its models say, runs
    # this file, and that must not load the pages and jobs; no import cycle is involved)
    from classroom.notifications import jobs, kinds, privacy, unsubscribe_views, views

    registry = app.extensions["classroom"]
    for name, label, email, sms in kinds.SHELL_KINDS:
        registry.add_kind(name, label, email=email, sms=sms)
    registry.add_job("outbox.dispatch", jobs.dispatch_job, "DISPATCH_INTERVAL_SECONDS", checks_leadership=True)
    registry.add_job("outbox.digest", jobs.digest_job, "REMINDER_SCAN_SECONDS")
    registry.erasures.append(privacy.erase)
    app.register_blueprint(views.bp)
    app.register_blueprint(unsubscribe_views.bp)
    app.context_processor(views.inject_unread_count)
