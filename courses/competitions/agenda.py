"""The competitions' part of a worker's schedule (/me/schedule): the rounds of competitions they are entered
in, and the sign-up deadlines of competitions they follow and have not entered (the reminder's rule)."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import exists, select

from classroom.agenda import Item
from classroom.extensions import db
from courses.competitions.models import (
    Competition,
    CompetitionFollow,
    CompetitionStatus,
    Entry,
    EntryMember,
    MemberStatus,
    Stage,
)


def schedule_items(user, start: datetime, end: datetime, limit: int) -> list[Item]:
    """The person's competition rounds and sign-up deadlines between ``start`` and ``end``."""
    return [*_rounds(user.id, start, end, limit), *_signup_deadlines(user.id, start, end, limit)]


def _rounds(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    entered = exists().where(EntryMember.entry_id == Entry.id, Entry.competition_id == Competition.id,
                             EntryMember.user_id == user_id, EntryMember.status == MemberStatus.ACCEPTED,
                             EntryMember.is_active.is_(True))
    rows = db.session.execute(
        select(Stage, Competition.title).join(Competition, Competition.id == Stage.competition_id)
        .where(entered, Stage.ends_at > start, Stage.starts_at < end)
        .order_by(Stage.starts_at, Stage.id).limit(limit))
    return [Item(stage.starts_at, "stage", _("Competition round"), f"{title} · {stage.name}",
                 url_for("competitions.show", competition_id=stage.competition_id), stage.venue,
                 ends_at=stage.ends_at) for stage, title in rows]


def _signup_deadlines(user_id: int, start: datetime, end: datetime, limit: int) -> list[Item]:
    entered = exists().where(EntryMember.user_id == user_id, EntryMember.is_active.is_(True),
                             EntryMember.entry_id == Entry.id, Entry.competition_id == Competition.id)
    competitions = db.session.scalars(
        select(Competition).join(CompetitionFollow, CompetitionFollow.competition_id == Competition.id)
        .where(CompetitionFollow.user_id == user_id, Competition.status == CompetitionStatus.PUBLISHED, ~entered,
               Competition.signup_closes_at >= start, Competition.signup_closes_at < end)
        .order_by(Competition.signup_closes_at, Competition.id).limit(limit))
    return [Item(competition.signup_closes_at, "signup", _("Sign-up closes"), competition.title,
                 url_for("competitions.show", competition_id=competition.id)) for competition in competitions]
