"""The outbox: email and SMS copies of notifications, queued by set-based inserts and sent by a
dispatcher that claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, an atomic claim under the
write lock on SQLite), sends them and marks them sent. Quiet hours delay, expiry drops. A transient
failure (the server down or timing out, a 4xx answer, any error not known to be permanent) is retried
with exponential backoff, capped, for as long as it takes: nothing is lost while SMTP is down. Only a
permanent failure (a 5xx refusal of this recipient or message, no address to send to) marks a message
failed."""

from __future__ import annotations

import email.errors
import logging
import os
import smtplib
import socket
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, literal, select, update

from classroom.accounts.models import User
from classroom.database import UTCDateTime, begin_write
from classroom.extensions import db
from classroom.notifications.kinds import default, kinds
from classroom.notifications.models import Notification, NotificationPreference, OutboundMessage, OutboundStatus
from classroom.timefmt import zone

log = logging.getLogger("classroom.outbox")
CHANNELS = ("email", "sms")
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class PermanentFailure(Exception):
    """A channel backend raises this (or any exception with ``permanent = True``) when this message can
    never be delivered, e.g. a gateway refusing the number: the outbox marks it failed, no retry."""

    permanent = True


def _insert():
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


# ---- queueing ------------------------------------------------------------------------------------

def fan_out(notifications, *, now: datetime) -> int:
    """Queue the email and SMS copies of these notifications (a SELECT of Notification ids, or a
    list of ids) for the people whose preferences (or the kind's defaults) ask for them."""
    if isinstance(notifications, list) and not notifications:
        return 0
    return sum(_queue(channel, notifications, now) for channel in CHANNELS)


def _queue(channel: str, notifications, now: datetime) -> int:
    address = User.email if channel == "email" else User.mobile
    preference = NotificationPreference
    enabled = func.coalesce(preference.is_enabled, _default_case(channel))
    status = case((preference.cadence == "daily", OutboundStatus.DIGEST),
                  (preference.cadence == "weekly", OutboundStatus.DIGEST_WEEKLY), else_=OutboundStatus.QUEUED) \
        if channel == "email" else literal(OutboundStatus.QUEUED)
    id_filter = Notification.id.in_(notifications)
    rows = (
        select(Notification.user_id, Notification.id, literal(channel), Notification.kind,
               Notification.dedup_key + literal(f":{channel}"), Notification.title, Notification.body, status,
               literal(0), literal(now, UTCDateTime()), Notification.expires_at, literal(now, UTCDateTime()))
        .join(User, User.id == Notification.user_id)
        .outerjoin(preference, and_(preference.user_id == Notification.user_id, preference.kind == Notification.kind,
                                    preference.channel == channel))
        .where(id_filter, address.is_not(None), User.is_active.is_(True), enabled.is_(True))
    )
    statement = _insert()(OutboundMessage).from_select(
        ["user_id", "notification_id", "channel", "kind", "dedup_key", "subject", "body", "status", "attempts",
         "next_attempt_at", "expires_at", "created_at"], rows
    ).on_conflict_do_nothing(index_elements=["dedup_key"])
    return max(db.session.execute(statement).rowcount or 0, 0)


def _default_case(channel: str):
    on = [name for name in kinds() if default(name, channel)]
    unknown_default = channel == "email"
    return case((Notification.kind.in_(on), True),
                (Notification.kind.in_([name for name in kinds() if name not in on]), False),
                else_=unknown_default)


# ---- sending -------------------------------------------------------------------------------------

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


def dispatch(*, now: datetime, batch: int | None = None) -> dict[str, int]:
    """Send one batch of due messages; each is marked as soon as its fate is known."""
    config = current_app.config
    claimed = claim_due(now=now, batch=batch or config["DISPATCH_BATCH"])
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({message.user_id for message in claimed})))} if claimed else {}
    wanted = {message.notification_id for message in claimed if message.notification_id}
    notifications = {row.id: row for row in db.session.scalars(
        select(Notification).where(Notification.id.in_(wanted)))} if wanted else {}
    outcome = {"sent": 0, "retry": 0, "failed": 0, "waiting": 0, "dropped": 0}
    for message in claimed:
        person = people.get(message.user_id)
        result = _deliver(message, person, now, notifications.get(message.notification_id))
        outcome[result] += 1
        db.session.commit()
    return outcome


def _deliver(message: OutboundMessage, person: User | None, now: datetime, notification: Notification | None) -> str:
    if person is None or not person.is_active:
        message.status = OutboundStatus.DROPPED
        return "dropped"
    quiet_end = quiet_until(person, now)
    if quiet_end is not None:
        if message.expires_at is not None and message.expires_at <= quiet_end:
            message.status = OutboundStatus.DROPPED
            return "dropped"
        message.status, message.next_attempt_at = OutboundStatus.QUEUED, quiet_end
        return "waiting"
    try:
        if not (person.email if message.channel == "email" else person.mobile):
            raise PermanentFailure(f"no {'email address' if message.channel == 'email' else 'mobile number'}")
        _send(message, person, notification)
    except Exception as error:  # noqa: BLE001 - any failure is retried unless known to be permanent
        return _fail(message, error, now)
    message.status, message.sent_at, message.last_error = OutboundStatus.SENT, now, None
    message.attempts += 1
    return "sent"


def is_permanent(error: Exception) -> bool:
    """Whether retrying can never deliver this message: the server refused this recipient or this
    message with a 5xx answer, or the backend said so. Everything else (connection refused, a timeout,
    a 4xx answer, the sender or log-in refused: the server's or our configuration's trouble, not the
    message's) is transient."""
    if getattr(error, "permanent", False) is True:
        return True
    if isinstance(error, (smtplib.SMTPNotSupportedError, email.errors.MessageError, ValueError, UnicodeError)):
        return True  # the message or address itself cannot be sent (built or encoded), however often we try
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return False


def backoff_seconds(attempts: int) -> int:
    """The wait after the ``attempts``-th failure: OUTBOX_BACKOFF_SECONDS doubled per attempt, at most
    OUTBOX_BACKOFF_MAX_SECONDS."""
    config = current_app.config
    base, cap = int(config["OUTBOX_BACKOFF_SECONDS"]), int(config["OUTBOX_BACKOFF_MAX_SECONDS"])
    return min(base * 2 ** min(max(attempts - 1, 0), 32), cap)


def _fail(message: OutboundMessage, error: Exception, now: datetime) -> str:
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:500]
    if is_permanent(error):
        message.status = OutboundStatus.FAILED
        log.error("Not sending %s: permanent failure after %d attempts: %s", message.dedup_key, message.attempts,
                  error)
        return "failed"
    delay = backoff_seconds(message.attempts)
    message.status, message.next_attempt_at = OutboundStatus.QUEUED, now + timedelta(seconds=delay)
    log.warning("Sending %s failed (attempt %d: %s); next attempt in %d s", message.dedup_key, message.attempts,
                error, delay)
    return "retry"


def _send(message: OutboundMessage, person: User, notification: Notification | None) -> None:
    """Hand the message to the channel's backend; errors propagate so the outbox can retry. Both
    channels render here, from the notification's facts, in the person's language and timezone."""
    if message.channel == "sms":
        from classroom.notifications.texts import sms_text
        from classroom.sms import backend as sms_backend

        sms_backend().send(person.mobile, sms_text(message, person, notification))
        return
    from classroom.mail import backend as mail_backend
    from classroom.notifications.emails import build

    mail_backend().send(build(message, person, notification))


def quiet_until(person: User, now: datetime) -> datetime | None:
    """When the person's quiet hours end, if ``now`` falls inside them (in their timezone)."""
    spec = (person.notification_prefs or {}).get("quiet_hours", current_app.config["QUIET_HOURS"])
    if not spec:
        return None
    start_text, _, end_text = spec.partition("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = now.astimezone(zone(person.timezone))
    current = local.time()
    inside = start <= current or current < end if start > end else start <= current < end
    if not inside:
        return None
    end_day = local.date() if current < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=local.tzinfo).astimezone(now.tzinfo)

