"""The competitions a page lists: the public list, an organizer's own, one with its whole program."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload, selectinload

from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import admin_paths
from courses.competitions.access import visible_clause
from courses.competitions.models import Competition, CompetitionEvent


def listing(organizer_ids: list[int] | None = None) -> Select[Competition]:
    """SELECT of the competitions on /competitions/, sign-up closing soonest first: every published
    one, or those organized by these unions (a person's ``viewer_union_ids``)."""
    statement = select(Competition).where(visible_clause())
    if organizer_ids is not None:
        statement = statement.where(Competition.organizer_union_id.in_(organizer_ids))
    return (statement.options(joinedload(Competition.organizer_union))
            .order_by(Competition.status, Competition.signup_closes_at.desc(), Competition.id.desc()))


def organized_by(user) -> Select[Competition]:
    """SELECT of the competitions whose organizer this admin manages (drafts included)."""
    statement = select(Competition).join(TradeUnion, TradeUnion.id == Competition.organizer_union_id)
    paths = admin_paths(user)
    if paths is not None:
        statement = statement.where(or_(*[TradeUnion.path.startswith(path, autoescape=True) for path in paths])
                                    if paths else TradeUnion.id.is_(None))
    return statement.options(joinedload(Competition.organizer_union)).order_by(*ORGANIZED_ORDER)


ORGANIZED_ORDER = (Competition.created_at, Competition.id)  # newest first (keyset; a few per union)


def organized_key(competition: Competition) -> tuple:
    """The sort key of a competition in the organizers' list (its cursor)."""
    return competition.created_at, competition.id


def with_program(competition_id: int) -> Competition | None:
    """A competition with its organizer, stages, events (and their required courses) and files."""
    return db.session.scalars(
        select(Competition).where(Competition.id == competition_id)
        .options(joinedload(Competition.organizer_union), selectinload(Competition.stages),
                 selectinload(Competition.events).joinedload(CompetitionEvent.required_course),
                 selectinload(Competition.attachments))
    ).one_or_none()
