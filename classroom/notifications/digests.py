"""Email digests: each person's held email copies gathered into one message, daily items once their day
is over (in the person's timezone), weekly ones on Mondays. Held items past their expiry are dropped,
never sent in a digest. This queues the digests; the digest job commits."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.notifications.models import Notification, OutboundMessage, OutboundStatus
from classroom.timefmt import local_date, zone

HELD = (OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def make_digests(*, now: datetime) -> int:
    """Queue the digests due at ``now``; how many were made."""
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
        person_zone = zone(person.timezone)
        local_today = local_date(now, person_zone)
        if local_date(oldest, person_zone) >= local_today:
            continue  # today's items wait for tomorrow's digest
        cutoff = datetime.combine(local_today, datetime.min.time(), tzinfo=person_zone)
        made += _digest(person, cutoff, local_today, now)
    return made


def _digest(person: User, cutoff: datetime, day: date, now: datetime) -> int:
    items = _held_items(person, cutoff, day, now)
    if not items:
        return 0
    with force_locale(person.locale or "zh_CN"):
        subject = _("Your Worker Classroom digest: %(count)d updates", count=len(items))
    body = "\n\n".join(f"· {item.subject}\n{item.body}".strip() for item in items)
    links = dict(db.session.execute(select(Notification.id, Notification.link).where(
        Notification.id.in_([item.notification_id for item in items if item.notification_id]))).all())
    entries = [{"kind": item.kind, "subject": item.subject, "body": item.body, "at": item.created_at.isoformat(),
                "link": links.get(item.notification_id) if item.notification_id else None} for item in items]
    db.session.add(OutboundMessage(
        user_id=person.id, channel="email", kind="digest", dedup_key=f"digest:{person.id}:{day.isoformat()}",
        subject=subject[:200], body=body, facts={"entries": entries}, status=OutboundStatus.QUEUED,
        next_attempt_at=now, created_at=now))
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_([item.id for item in items]))
                       .values(status=OutboundStatus.DIGESTED))
    db.session.flush()
    return 1


def _held_items(person: User, cutoff: datetime, day: date, now: datetime) -> list[OutboundMessage]:
    """The person's email copies held before ``cutoff`` for this day's digest (Mondays: the weekly's too)."""
    held = [OutboundStatus.DIGEST] + ([OutboundStatus.DIGEST_WEEKLY] if day.weekday() == 0 else [])
    return list(db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.user_id == person.id, OutboundMessage.status.in_(held),
                                      OutboundMessage.channel == "email", OutboundMessage.created_at < cutoff,
                                      or_(OutboundMessage.expires_at.is_(None), OutboundMessage.expires_at > now))
        .order_by(OutboundMessage.created_at)
    ))
