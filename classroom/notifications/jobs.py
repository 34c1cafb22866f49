"""Scheduled work of the notification base: the outbox dispatcher and the email digests.

Job code owns its transactions, as a view's ``perform`` does a request's: the dispatcher claims due
messages in one short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, an atomic claim under the
write lock on SQLite), marks each message's fate as it is known (``delivery``) and commits the batch's
marks together when the batch ends, however it ends. A process killed in the middle of a batch leaves
its rows claimed: they are sent again once the claim lapses, so a message is delivered twice at most, and
at most a batch of them (those sent but not yet marked). The digest job commits once per run."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from classroom.accounts.models import User
from classroom.database import begin_write
from classroom.extensions import db
from classroom.mail import held_open
from classroom.notifications.delivery import deliver
from classroom.notifications.digests import make_digests
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus

MAX_BATCHES_PER_RUN = 50
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
OUTCOMES = ("sent", "retry", "failed", "waiting", "dropped")


def dispatch_job(*, now: datetime, still_leading: Callable[[], bool] = lambda: True) -> dict[str, int]:
    """Send due messages batch after batch until none is due, or as soon as this process no longer
    leads (checked before every batch: a deposed leader stops). Each batch runs at its own time, so
    claims are stamped when they are made, never with the time the run began."""
    started = time.monotonic()
    totals = dict.fromkeys(OUTCOMES, 0)
    with held_open():  # one SMTP session for the whole run, batch after batch
        for batch in range(MAX_BATCHES_PER_RUN):
            if not still_leading():
                break
            outcome = dispatch(now=now + timedelta(seconds=time.monotonic() - started) if batch else now)
            for key, value in outcome.items():
                totals[key] += value
            if not any(outcome.values()):
                break
    return totals


def dispatch(*, now: datetime, batch: int | None = None) -> dict[str, int]:
    """Send one batch of due messages; each is marked as its fate is known, and the batch's marks are
    committed together at its end (however it ends, but for the process dying)."""
    claimed = claim_due(now=now, batch=batch or current_app.config["DISPATCH_BATCH"])
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({message.user_id for message in claimed})))} if claimed else {}
    wanted = {message.notification_id for message in claimed if message.notification_id}
    notifications = {row.id: row for row in db.session.scalars(
        select(Notification).where(Notification.id.in_(wanted)))} if wanted else {}
    outcome = dict.fromkeys(OUTCOMES, 0)
    session = db.session()
    # The claimed rows are this process's until marked, the people and notifications only read: the
    # commit need not expire them (which would reload every row of the batch, one by one, after it).
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        db.session.commit()  # the reads end here: no transaction is open while the batch is sent (nor SQLite's lock)
        try:
            with held_open():  # one SMTP session for the batch (and for the run, when dispatch_job holds it)
                for message in claimed:
                    notification = notifications.get(message.notification_id) if message.notification_id else None
                    outcome[deliver(message, people.get(message.user_id), notification, now=now)] += 1
        finally:
            db.session.commit()  # the batch's marks, in one transaction
    finally:
        session.expire_on_commit = keep
    return outcome


def claim_due(*, now: datetime, batch: int) -> list[OutboundMessage]:
    """Claim up to ``batch`` due messages for this process, in one short transaction."""
    lease_seconds = current_app.config["OUTBOX_CLAIM_SECONDS"]
    begin_write(db.session)
    db.session.execute(update(OutboundMessage).where(  # a dispatcher died holding these: try again
        OutboundMessage.status == OutboundStatus.SENDING,
        OutboundMessage.claimed_at < now - timedelta(seconds=lease_seconds)).values(status=OutboundStatus.QUEUED))
    db.session.execute(update(OutboundMessage).where(
        OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.expires_at.is_not(None),
        OutboundMessage.expires_at <= now).values(status=OutboundStatus.DROPPED))
    due = (select(OutboundMessage.id).where(OutboundMessage.status == OutboundStatus.QUEUED,
                                            OutboundMessage.next_attempt_at <= now)
           .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id).limit(batch))
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(
            status=OutboundStatus.SENDING, claimed_at=now, claimed_by=WORKER_ID))
    db.session.commit()
    if not ids:
        return []
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))
                                   .order_by(OutboundMessage.id)))


def digest_job(*, now: datetime) -> int:
    """Queue each person's due digest (``digests``); one commit for the run."""
    made = make_digests(now=now)
    db.session.commit()
    return made
