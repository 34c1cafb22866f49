"""Per-kind, per-channel choices, the email cadence and quiet hours."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from classroom.domain import Invalid
from classroom.extensions import db
from classroom.notifications.kinds import default, kinds
from classroom.notifications.models import NotificationPreference, OutboundMessage, OutboundStatus

CADENCES = ("immediate", "daily", "weekly")
QUIET_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def choices_of(user) -> dict[tuple[str, str], NotificationPreference | None]:
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    return {(row.kind, row.channel): row for row in rows}


def table(user) -> list[dict]:
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


def save(user, choices: dict[str, dict], quiet_hours: str) -> None:
    """choices: {kind: {"email": bool, "sms": bool, "cadence": str}}; quiet_hours "22:00-07:00" or ""."""
    quiet_hours = (quiet_hours or "").replace(" ", "")
    if quiet_hours and not QUIET_RE.match(quiet_hours):
        raise Invalid(_l("Write quiet hours as 22:00-07:00, or leave them empty."), field="quiet_hours")
    saved = choices_of(user)
    for kind, choice in choices.items():
        if kind not in kinds():
            continue
        cadence = choice.get("cadence") if choice.get("cadence") in CADENCES else "immediate"
        for channel in ("email", "sms"):
            row = saved.get((kind, channel))
            if row is None:
                row = NotificationPreference(user_id=user.id, kind=kind, channel=channel)
                db.session.add(row)
            row.is_enabled = bool(choice.get(channel))
            row.cadence = cadence if channel == "email" else "immediate"
    prefs = dict(user.notification_prefs or {})
    prefs["quiet_hours"] = quiet_hours
    user.notification_prefs = prefs


HELD = (OutboundStatus.DIGEST, OutboundStatus.DIGEST_WEEKLY)


def switch_off_email(user, kind: str) -> None:
    """Stop the emails of one kind for this person (one-click unsubscribe), and drop its copies still
    waiting. "digest" stops the digests: every kind held for them is switched off. Other people, other
    kinds and the text messages stay as they were."""
    if kind == "digest":
        db.session.execute(update(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.channel == "email",
            NotificationPreference.cadence.in_(("daily", "weekly"))).values(is_enabled=False))
        waiting = OutboundMessage.status.in_(HELD)
    else:
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(NotificationPreference).values(user_id=user.id, kind=kind[:40], channel="email",
                                                          is_enabled=False, cadence="immediate")
        db.session.execute(statement.on_conflict_do_update(index_elements=["user_id", "kind", "channel"],
                                                           set_={"is_enabled": False}))
        waiting = OutboundMessage.kind == kind
    db.session.execute(update(OutboundMessage).where(
        OutboundMessage.user_id == user.id, OutboundMessage.channel == "email", waiting,
        OutboundMessage.status.in_((OutboundStatus.QUEUED, *HELD))).values(status=OutboundStatus.DROPPED))
