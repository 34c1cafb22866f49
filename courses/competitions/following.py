"""Following a competition, to hear before its sign-up closes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from classroom.extensions import db
from courses.competitions.models import Competition, CompetitionFollow


def is_following(user, competition: Competition) -> bool:
    """Whether this person follows the competition (never for visitors)."""
    return user.is_authenticated and db.session.scalar(
        select(CompetitionFollow.id).filter_by(user_id=user.id, competition_id=competition.id)) is not None


def set_following(user, competition: Competition, follow: bool, *, now: datetime) -> None:
    """Follow the competition (``follow``) or stop; doing it twice changes nothing."""
    existing = db.session.scalar(select(CompetitionFollow).filter_by(user_id=user.id, competition_id=competition.id))
    if follow and existing is None:
        db.session.add(CompetitionFollow(user_id=user.id, competition_id=competition.id, created_at=now))
    elif not follow and existing is not None:
        db.session.delete(existing)
