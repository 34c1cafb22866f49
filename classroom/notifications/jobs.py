"""Scheduled work of the notification base: the outbox dispatcher and the email digests."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus
from classroom.notifications.outbox import dispatch
from classroom.timefmt import zone

MAX_BATCHES_PER_RUN = 50
HELD = (OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def dispatch_job(*, now: datetime, still_leading=lambda: True) -> dict[str, int]:
    """Send due messages batch after batch until none is due, or as soon as this process no longer
    leads (checked before every batch: a deposed leader stops). Each batch runs at its own time, so
    claims are stamped when they are made, never with the time the run began."""
    started = time.monotonic()
    totals: dict[str, int] = {}
    for batch in range(MAX_BATCHES_PER_RUN):
        if not still_leading():
            break
        outcome = dispatch(now=now + timedelta(seconds=time.monotonic() - started) if batch else now)
        for key, value in outcome.items():
            totals[key] = totals.get(key, 0) + value
        if not any(outcome.values()):
            break
    return totals


def digest_job(*, now: datetime) -> int:
    """Gather each person's held email copies into one digest: daily items once their day is
    over (in the person's timezone), weekly ones on Mondays. Held items past their expiry are
    dropped first, never sent in a digest."""
    db.session.execute(update(OutboundMessage).where(
        OutboundMessage.status.in_(HELD), OutboundMessage.expires_at.is_not(None), OutboundMessage.expires_at <= now)
        .values(status=OutboundStatus.DROPPED))
    rows = db.session.execute(
        select(OutboundMessage.user_id, func.min(OutboundMessage.created_at))
        .where(OutboundMessage.status.in_(HELD), OutboundMessage.channel == "email")
        .group_by(OutboundMessage.user_id)
    ).all()
    people = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_([r[0] for r in rows])))}
    made = 0
    for user_id, oldest in rows:
        person = people.get(user_id)
        if person is None:
            continue
        local_today = now.astimezone(zone(person.timezone)).date()
        cutoff = datetime.combine(local_today, datetime.min.time(), tzinfo=zone(person.timezone))
        if oldest.astimezone(zone(person.timezone)).date() >= local_today:
            continue  # today's items wait for tomorrow's digest
        made += _send_digest(person, cutoff, local_today, now)
    db.session.commit()
    return made


def _send_digest(person: User, cutoff: datetime, day, now: datetime) -> int:
    held = [OutboundStatus.DIGEST] + ([OutboundStatus.DIGEST_WEEKLY] if day.weekday() == 0 else [])
    items = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.user_id == person.id,
                                      OutboundMessage.status.in_(held),
                                      OutboundMessage.channel == "email", OutboundMessage.created_at < cutoff,
                                      or_(OutboundMessage.expires_at.is_(None), OutboundMessage.expires_at > now))
        .order_by(OutboundMessage.created_at)
    ).all()
    if not items:
        return 0
    with force_locale(person.locale or "zh_CN"):
        subject = _("Your Worker Classroom digest: %(count)d updates", count=len(items))
    body = "\n\n".join(f"· {item.subject}\n{item.body}".strip() for item in items)
    links = dict(db.session.execute(select(Notification.id, Notification.link).where(
        Notification.id.in_([item.notification_id for item in items if item.notification_id]))).all())
    entries = [{"kind": item.kind, "subject": item.subject, "body": item.body, "at": item.created_at.isoformat(),
                "link": links.get(item.notification_id)} for item in items]
    digest = OutboundMessage(user_id=person.id, channel="email", kind="digest",
                             dedup_key=f"digest:{person.id}:{day.isoformat()}", subject=subject[:200], body=body,
                             facts={"entries": entries}, status=OutboundStatus.QUEUED, next_attempt_at=now,
                             created_at=now)
    db.session.add(digest)
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_([item.id for item in items]))
                       .values(status=OutboundStatus.DIGESTED))
    db.session.flush()
    return 1

