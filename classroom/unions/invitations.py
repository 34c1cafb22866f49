"""Invitations made by a member import: a single-use link with which an imported person sets their own
password (accepting one is the people's part: classroom.accounts.invitations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert

from classroom.accounts.models import Invitation
from classroom.extensions import db
from classroom.http import public_url
from classroom.tokens import new_token

BulkWriter = Callable[[Table, list[dict[str, Any]]], None]


def create_invitations(user_ids: Iterable[int], *, created_by_id: int | None, now: datetime, days: int,
                       write: BulkWriter | None = None) -> dict[int, str]:
    """One invitation per person, inserted in one statement (or by ``write(table, rows)``, a bulk
    writer); returns {user_id: raw token}."""
    tokens: dict[int, str] = {}
    rows = []
    for user_id in user_ids:
        token, hashed = new_token()
        tokens[user_id] = token
        rows.append({"user_id": user_id, "token_hash": hashed, "created_by_id": created_by_id,
                     "created_at": now, "expires_at": now + timedelta(days=days)})
    if rows and write is not None:
        write(Invitation.metadata.tables[Invitation.__tablename__], rows)
    elif rows:
        db.session.execute(insert(Invitation), rows)
    return tokens


def invitation_link(token: str) -> str:
    """The absolute link an invited person opens to set their password."""
    return public_url("recovery.accept_invitation", token=token)
