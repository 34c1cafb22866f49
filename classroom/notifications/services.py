"""notify(): the one way any feature tells a person something; the bell's count and reading."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from flask_babel import force_locale
from sqlalchemy import CursorResult, Select, func, select, update

from classroom.database import dialect_insert
from classroom.extensions import db
from classroom.notifications.facts import stored
from classroom.notifications.models import Notification
from classroom.notifications.outbox import fan_out


def render_for(user: Any, text: object, params: dict | None = None) -> str:
    """Render a lazily translated text in the recipient's language; ``params`` fill in a translated
    text only (a plain text, such as an announcement's body, is taken as it is, "%" and all)."""
    with force_locale(user.locale or "zh_CN"):
        rendered = str(text)
        return rendered % params if params and not isinstance(text, str) else rendered


def notify(user: Any, kind: str, dedup_key: str, title: object, body: object = "", *, now: datetime,
           link: str | None = None, params: dict | None = None, facts: dict | None = None,
           expires_at: datetime | None = None) -> bool:
    """Create an in-app notification once per dedup key, and queue its email/SMS copies for the
    channels the person chose; True when it was new. Runs inside the caller's transaction; a
    repeat with the same key changes nothing. Copies are dropped, not sent, after ``expires_at``.
    ``params`` (which fill in the title and body) and ``facts`` (more of them: a class's times, its
    venue …) are kept for the email and text message, which each kind renders from its template."""
    values = dict(
        user_id=user.id, kind=kind, dedup_key=dedup_key[:200],
        title=render_for(user, title, params)[:200], body=render_for(user, body, params) if body else "",
        link=link, facts=stored(user, {**(params or {}), **(facts or {})}), created_at=now, expires_at=expires_at,
    )
    statement = (
        dialect_insert(db.session)(Notification).values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Notification.id)
        .execution_options(auth_users=(user.id,))  # the bell of this person changes
    )
    new_id = db.session.execute(statement).scalar()
    if new_id is not None:
        fan_out([new_id], now=now)
    return new_id is not None


def notify_many(users: Iterable[Any], kind: str, dedup_key: str, title: object, body: object = "", *,
                now: datetime, link: str | None = None, params: dict | None = None, facts: dict | None = None,
                expires_at: datetime | None = None) -> int:
    """notify() for many people in one statement; each person's key is ``dedup_key:user_id``.
    Texts and facts are rendered once per language. Returns how many notifications were new."""
    rendered: dict[str, tuple[str, str, dict | None]] = {}
    rows = []
    for user in users:
        if user.locale not in rendered:
            rendered[user.locale] = (render_for(user, title, params)[:200],
                                     render_for(user, body, params) if body else "",
                                     stored(user, {**(params or {}), **(facts or {})}))
        title_text, body_text, kept = rendered[user.locale]
        rows.append(dict(user_id=user.id, kind=kind, dedup_key=f"{dedup_key}:{user.id}"[:200], title=title_text,
                         body=body_text, link=link, facts=kept, created_at=now, expires_at=expires_at))
    if not rows:
        return 0
    statement = (dialect_insert(db.session)(Notification).on_conflict_do_nothing(index_elements=["dedup_key"])
                 .returning(Notification.id).execution_options(auth_users=tuple({row["user_id"] for row in rows})))
    new_ids = [row[0] for row in db.session.execute(statement, rows).all()]
    fan_out(new_ids, now=now)
    return len(new_ids)


def feed(user_id: int) -> Select[Notification]:
    """The person's notifications, newest first (a statement to page through)."""
    return (select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def unread_count(user_id: int) -> int:
    """How many of the person's notifications are unread (the bell's number)."""
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user_id: int, notification_id: int | None = None, *, now: datetime) -> int:
    """Mark one (or, with no id, every) unread notification of this user read."""
    statement = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    statement = statement.values(read_at=now).execution_options(auth_users=(user_id,))
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount
