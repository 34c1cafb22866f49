"""Per-kind, per-channel choices, the email cadence and quiet hours."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select, update

from classroom.accounts.models import User
from classroom.database import dialect_insert
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.notifications.kinds import default, kinds
from classroom.notifications.models import NotificationPreference, OutboundMessage, OutboundStatus
from classroom.timefmt import zone

CADENCES = ("immediate", "daily", "weekly")
CHANNELS = ("email", "sms")
QUIET_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
HELD = (OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def choices_of(user: User) -> dict[tuple[str, str], NotificationPreference]:
    """The person's saved choices by (kind, channel)."""
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    return {(row.kind, row.channel): row for row in rows}


def table(user: User) -> list[dict[str, Any]]:
    """One row per kind: enabled per channel and the email cadence (saved or default)."""
    saved = choices_of(user)
    rows = []
    for name, kind in sorted(kinds().items()):
        email, sms = saved.get((name, "email")), saved.get((name, "sms"))
        rows.append({"kind": name, "label": kind.label,
                     "email": email.is_enabled if email else default(name, "email"),
                     "sms": sms.is_enabled if sms else default(name, "sms"),
                     "cadence": email.cadence if email else "immediate"})
    return rows


def save(user: User, choices: dict[str, dict[str, Any]], quiet_hours: str) -> None:
    """choices: {kind: {"email": bool, "sms": bool, "cadence": str}}; quiet_hours "22:00-07:00" or ""."""
    quiet_hours = (quiet_hours or "").replace(" ", "")
    if quiet_hours and not QUIET_RE.match(quiet_hours):
        raise Invalid(_l("Write quiet hours as 22:00-07:00, or leave them empty."), field="quiet_hours")
    saved = choices_of(user)
    for kind, choice in choices.items():
        if kind not in kinds():
            continue
        cadence = str(choice["cadence"]) if choice.get("cadence") in CADENCES else "immediate"
        for channel in CHANNELS:
            row = saved.get((kind, channel))
            if row is None:
                row = NotificationPreference(user_id=user.id, kind=kind, channel=channel)
                db.session.add(row)
            row.is_enabled = bool(choice.get(channel))
            row.cadence = cadence if channel == "email" else "immediate"
    user.notification_prefs = {**(user.notification_prefs or {}), "quiet_hours": quiet_hours}


def switch_off_email(user: User, kind: str) -> None:
    """Stop the emails of one kind for this person (one-click unsubscribe), and drop its copies still
    waiting. "digest" stops the digests: every kind held for them is switched off. Other people, other
    kinds and the text messages stay as they were."""
    waiting: ColumnElement[bool]
    if kind == "digest":
        db.session.execute(update(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.channel == "email",
            NotificationPreference.cadence.in_(("daily", "weekly"))).values(is_enabled=False))
        waiting = OutboundMessage.status.in_(HELD)
    else:
        statement = dialect_insert(db.session)(NotificationPreference).values(
            user_id=user.id, kind=kind[:40], channel="email", is_enabled=False, cadence="immediate")
        db.session.execute(statement.on_conflict_do_update(index_elements=["user_id", "kind", "channel"],
                                                           set_={"is_enabled": False}))
        waiting = OutboundMessage.kind == kind
    db.session.execute(update(OutboundMessage).where(
        OutboundMessage.user_id == user.id, OutboundMessage.channel == "email", waiting,
        OutboundMessage.status.in_((OutboundStatus.QUEUED, *HELD))).values(status=OutboundStatus.DROPPED))


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
