"""Scheduled work of the notification base: the outbox dispatcher and the email digests."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.i18n import zone
from classroom.notifications.models import OutboundMessage, OutboundStatus
from classroom.notifications.outbox import dispatch
from classroom.scheduler import register_job

MAX_BATCHES_PER_RUN = 50
HELD = (OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def dispatch_job(*, now: datetime, still_leading=lambda: True) -> dict[str, int]:
    """Send due messages batch after batch until none is due (or leadership is lost)."""
    totals: dict[str, int] = {}
    for _batch in range(MAX_BATCHES_PER_RUN):
        outcome = dispatch(now=now)
        for key, value in outcome.items():
            totals[key] = totals.get(key, 0) + value
        if not any(outcome.values()) or not still_leading():
            break
    return totals


def digest_job(*, now: datetime) -> int:
    """Gather each person's held email copies into one digest: daily items once their day is
    over (in the person's timezone), weekly ones on Mondays."""
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
                                      OutboundMessage.channel == "email", OutboundMessage.created_at < cutoff)
        .order_by(OutboundMessage.created_at)
    ).all()
    if not items:
        return 0
    with force_locale(person.locale or "zh_CN"):
        subject = _("Your Worker Classroom digest: %(count)d updates", count=len(items))
    body = "\n\n".join(f"· {item.subject}\n{item.body}".strip() for item in items)
    digest = OutboundMessage(user_id=person.id, channel="email", kind="digest",
                             dedup_key=f"digest:{person.id}:{day.isoformat()}", subject=subject[:200], body=body,
                             status=OutboundStatus.QUEUED, next_attempt_at=now, created_at=now)
    db.session.add(digest)
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_([item.id for item in items]))
                       .values(status=OutboundStatus.DIGESTED))
    db.session.flush()
    return 1


register_job("outbox.dispatch", dispatch_job, "DISPATCH_INTERVAL_SECONDS")
register_job("outbox.digest", digest_job, "REMINDER_SCAN_SECONDS")
