"""Who may see, organize and change a competition, and which competitions concern a person."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_

from classroom.accounts.models import Role
from classroom.domain import Conflict, NotAllowed
from classroom.extensions import db
from classroom.unions.models import TradeUnion, UnionKind
from classroom.unions.scope import admin_paths, can_manage_union, visible_unions
from courses.catalog.visibility import member_union_path
from courses.competitions.models import Competition, CompetitionStatus


def can_organize(user, competition: Competition) -> bool:
    """The admins of the organizer union (and above it) run the competition."""
    return user.is_authenticated and can_manage_union(user, competition.organizer_union)


def require_organizer(user, competition: Competition) -> None:
    """Refuse anyone but the organizer's administrators."""
    if not can_organize(user, competition):
        raise NotAllowed(_l("Only the organizer's administrators may change this competition."))


def require_changeable(actor, competition: Competition) -> None:
    """The organizer may change the competition until its results are published."""
    require_organizer(actor, competition)
    if competition.status == CompetitionStatus.RESULTS_PUBLISHED:
        raise Conflict(_l("The results are published: the competition can no longer change."))


def viewer_union_ids(user) -> list[int]:
    """The unions whose competitions concern this person: those above (and at) their own union and
    the nodes they administer."""
    paths = [member_union_path(user)] if user.is_authenticated else []
    paths += admin_paths(user) or []
    return sorted({int(part) for path in paths if path for part in path.strip("/").split("/") if part})


def visible_clause() -> ColumnElement[bool]:
    """SQL over Competition: every published notice, whatever its level, is public (DESIGN §1: anyone
    sees competition notices); who may enter is the eligibility rule's business, not visibility's."""
    return Competition.status != CompetitionStatus.DRAFT


def can_view(user, competition: Competition) -> bool:
    """Published notices are public; a draft only for its organizer."""
    return competition.status != CompetitionStatus.DRAFT or can_organize(user, competition)


def concerns(user, competition: Competition) -> bool:
    """Organized by a union this person administers or at or above their unions: the competitions
    their members may enter and whose entries they may see (admins' pages)."""
    return can_organize(user, competition) or competition.organizer_union_id in viewer_union_ids(user)


def organizer_unions(user) -> list[TradeUnion]:
    """The unions this admin may name as organizer: the nodes they hold and the non-grassroots ones below,
    in tree order (at most 300)."""
    held = [grant.union_id for grant in user.grants if grant.role == Role.UNION_ADMIN]
    return list(db.session.scalars(visible_unions(user).where(
        or_(TradeUnion.kind != UnionKind.GRASSROOTS, TradeUnion.id.in_(held))).order_by(TradeUnion.path).limit(300)))
