"""One outbox message's fate: sent, retried later, failed for good, or dropped. A transient failure (the
server down or timing out, a 4xx answer, any error not known to be permanent) is retried with
exponential backoff, capped, for as long as it takes: nothing is lost while SMTP is down. Only a
permanent failure (a 5xx refusal of this recipient or message, no address to send to) marks a message
failed. Quiet hours delay, expiry drops. This marks the message; the dispatcher (``jobs``) commits."""

from __future__ import annotations

import email.errors
import logging
import smtplib
from datetime import datetime, timedelta

from flask import current_app

from classroom.accounts.models import User
from classroom.mail_wire import transmit
from classroom.notifications.emails import prepare
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus
from classroom.notifications.preferences import quiet_until
from classroom.notifications.texts import sms_text
from classroom.sms import backend as sms_backend

log = logging.getLogger("classroom.outbox")


class PermanentFailure(Exception):
    """A channel backend raises this (or any exception with ``permanent = True``) when this message can
    never be delivered, e.g. a gateway refusing the number: the outbox marks it failed, no retry."""

    permanent = True


def deliver(message: OutboundMessage, person: User | None, notification: Notification | None, *,
            now: datetime) -> str:
    """Send the message or decide to wait; its outcome: sent, retry, failed, waiting or dropped."""
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
        send(message, person, notification)
    except Exception as error:  # noqa: BLE001 - any failure is retried unless known to be permanent
        return _fail(message, error, now)
    message.status, message.sent_at, message.last_error = OutboundStatus.SENT, now, None
    message.attempts += 1
    return "sent"


def send(message: OutboundMessage, person: User, notification: Notification | None) -> None:
    """Hand the message to the channel's backend; errors propagate so the outbox can retry. Both
    channels render here, from the notification's facts, in the person's language and timezone."""
    if message.channel == "sms":
        if not person.mobile:
            raise PermanentFailure("no mobile number")
        sms_backend().send(person.mobile, sms_text(message, person, notification))
        return
    if not person.email:
        raise PermanentFailure("no email address")
    transmit(prepare(message, person, notification, to=person.email))


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
