"""Notifications made in bulk, in SQL: one INSERT … SELECT under unique dedup keys (texts rendered per
language in SQL), then the outbox fan-out, so memory stays flat however many people are told."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_babel import force_locale
from sqlalchemy import CursorResult, Select, String, case, func, literal, select
from sqlalchemy import cast as sql_cast

from classroom.accounts.models import User
from classroom.accounts.session_cache import changed_everyone
from classroom.database import UTCDateTime, dialect_insert, is_postgresql
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.notifications.outbox import fan_out, fan_out_with


def as_text(column):
    """SQL: the column as text, to build keys and links."""
    return sql_cast(column, String)


def localized(lazy, *suffix):
    """SQL: the text in the recipient's language (User.locale), then the given SQL pieces."""
    english, chinese = _text(lazy, "en"), _text(lazy, "zh_CN")
    text = case((User.locale == "en", literal(english)), else_=literal(chinese))
    for piece in suffix:
        text = text + piece
    return text


def _text(lazy, locale: str) -> str:
    with force_locale(locale):
        return str(lazy)


def notify_from(rows: Select, kind: str, *, now: datetime) -> int:
    """INSERT the notifications a SELECT describes (user_id, kind, dedup_key, title, body, link,
    expires_at and, for the email and text message, facts: classroom.notifications.facts.sql_facts),
    skipping keys that exist, then queue their email/SMS copies — all in SQL. Returns how many were new."""
    columns = ["user_id", "kind", "dedup_key", "title", "body", "link", "expires_at"]
    columns += ["facts", "created_at"] if len(rows.selected_columns) > len(columns) else ["created_at"]
    stamp = literal(now, UTCDateTime())
    insert = dialect_insert(db.session)
    statement = (insert(Notification).from_select(columns, rows.add_columns(stamp))
                 .on_conflict_do_nothing(index_elements=["dedup_key"]).execution_options(auth_users=()))
    if is_postgresql(db.session):  # one statement: the notifications, their copies, counted in the database
        table = Notification.__table__.c
        made = statement.returning(table.id, table.user_id, table.kind, table.dedup_key, table.title, table.body,
                                   table.expires_at).cte("made")
        count = db.session.scalar(select(func.count()).select_from(made).add_cte(*fan_out_with(made, now)))
        if count:
            changed_everyone(db.session())  # bells of people not named here
        return count or 0
    made_here = cast(CursorResult[Any], db.session.execute(statement)).rowcount
    if made_here:  # the rows this scan created carry its kind and its timestamp
        changed_everyone(db.session())
        fan_out(select(Notification.id).where(Notification.kind == kind, Notification.created_at == stamp), now=now)
    return made_here or 0
