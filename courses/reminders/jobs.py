"""The reminder jobs: each runs one scan in its own transaction and commits once. The scans live in
sessions.py (class sessions), scans.py (studying, closing enrollment, expiring certificates) and
digest.py (the approvers' daily list); each makes its notifications in SQL under unique dedup keys, so
running a job again creates nothing. Features add their scans to the registry (``add_job``) and counts
to the approvers' digest (``add_approval_counter``) in their ``init_app``."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l

from classroom.extensions import db
from courses.catalog.hooks import course_changed
from courses.reminders import digest, scans, sessions

# (name, label, email on by default, text message on by default): added to the registry by init_app
REMINDER_KINDS = [
    ("session.reminder", _l("Class reminders"), True, True),
    ("study.idle", _l("Reminders to keep studying"), True, False),
    ("course.closing", _l("Enrollment closing for a followed course"), True, False),
    ("approvals.digest", _l("Daily list of decisions waiting for you"), True, False),
    ("certificate.expiring", _l("A certificate is about to expire"), True, False),
]


def session_reminders(*, now: datetime) -> int:
    """Remind workers of their classes within 24 h and 2 h; returns how many reminders are new."""
    made = sessions.remind_sessions(now=now)
    db.session.commit()
    return made


def idle_reminders(*, now: datetime) -> int:
    """Remind workers who have not studied an online course for a week."""
    made = scans.remind_idle(now=now)
    db.session.commit()
    return made


def closing_reminders(*, now: datetime) -> int:
    """Tell followers of a course that its enrollment closes within 48 hours."""
    made = scans.remind_closing(now=now)
    db.session.commit()
    return made


def certificate_expiry_reminders(*, now: datetime) -> int:
    """Tell holders of certificates that expire within 30 days."""
    made = scans.remind_expiring_certificates(now=now)
    db.session.commit()
    return made


def approver_digest(*, now: datetime) -> int:
    """Once a day: one notification per approver listing what waits for them."""
    made = digest.send_digest(now=now)
    db.session.commit()
    return made


JOBS = (("reminders.sessions", session_reminders), ("reminders.idle", idle_reminders),
        ("reminders.closing", closing_reminders), ("reminders.approvals", approver_digest),
        ("reminders.certificates", certificate_expiry_reminders))


def init_app(app: Flask) -> None:
    """The reminder scans, their kinds, the approvers' digest of the shell's own waiting items, and the
    rewinding of reminder waves when a class moves."""
    registry = app.extensions["classroom"]
    for name, label, email, sms in REMINDER_KINDS:
        registry.add_kind(name, label, email=email, sms=sms)
    for counter, labels in digest.COUNTERS:
        registry.add_approval_counter(counter, labels)
    for name, job in JOBS:
        registry.add_job(name, job, "REMINDER_SCAN_SECONDS")
    course_changed.connect(sessions.rewind_moved_sessions)
