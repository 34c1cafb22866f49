"""On SQLite the scheduler leads by an OS lock on a file beside the database: leading costs no write
(the lease row is written once, when leadership begins), a second runner cannot lead while the first
holds the lock, and it takes over as soon as the first lets go."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from classroom import scheduler
from classroom.extensions import db
from classroom.notifications.models import SchedulerLease
from tests.test_reminders import wait_until


def lease_row() -> tuple[str, object] | None:
    db.session.rollback()  # read what the runners committed, not this session's snapshot
    row = db.session.execute(select(SchedulerLease.holder, SchedulerLease.renewed_at)).first()
    return tuple(row) if row else None


@pytest.fixture
def quiet_jobs(app, monkeypatch):
    """Runners that lead without running the real scans; the lease renews every second."""
    monkeypatch.setattr(scheduler.Runner, "_run_job", lambda self, job, term=None: None)
    app.config.update(SCHEDULER_LEASE_SECONDS=1, DISPATCH_INTERVAL_SECONDS=3600, REMINDER_SCAN_SECONDS=3600)


def test_leading_on_sqlite_writes_the_lease_once_and_hands_over_at_once(app, quiet_jobs, is_postgres):
    if is_postgres:
        assert scheduler.Runner(app).file_lease is None  # PostgreSQL keeps the lease in the database
        return
    first, second = scheduler.Runner(app), scheduler.Runner(app)
    assert first.file_lease is not None and first.file_lease.path.endswith(".scheduler-lock")
    first.start_background()
    try:
        wait_until(lambda: first.leading)
        written = lease_row()
        assert written is not None and written[0] == first.holder
        second.start_background()
        time.sleep(3.5)  # three renewal intervals of the first, three tries of the second
        assert lease_row() == written  # renewing wrote nothing
        assert first.leading and not second.leading
        assert first.still_leading(first.term)
    finally:
        first.shutdown()
    try:
        wait_until(lambda: second.leading, timeout=5)  # the lock is free as soon as the first let go
        assert lease_row()[0] == second.holder
    finally:
        second.shutdown()
