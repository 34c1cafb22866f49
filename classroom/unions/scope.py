"""Which unions and people a user may see or manage: the one place every admin query asks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true
from werkzeug.exceptions import NotFound

from classroom.accounts.models import Role, User
from classroom.extensions import db
from classroom.personal_data import mask_mobile
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, TradeUnion


def admin_paths(user: Any) -> list[str] | None:
    """Paths of the nodes this user administers; None means everything (site admin)."""
    if not user.is_authenticated:
        return []
    if user.is_site_admin:
        return None
    return [grant.union.path for grant in user.grants if grant.role == Role.UNION_ADMIN]


def is_union_admin(user: Any) -> bool:
    """Whether ``user`` administers some union (site admins administer them all)."""
    return admin_paths(user) != []


def under(paths: list[str], column: Any = TradeUnion.path) -> ColumnElement[bool]:
    """SQL: the path column lies in one of these subtrees."""
    if not paths:
        return false()
    return or_(*[column.startswith(path, autoescape=True) for path in paths])


def managed_unions_clause(user: Any) -> ColumnElement[bool]:
    """SQL over TradeUnion: the unions ``user`` administers."""
    paths = admin_paths(user)
    return true() if paths is None else under(paths)


def can_manage_union(user: Any, union: TradeUnion) -> bool:
    """Whether ``user`` administers ``union`` (or a node above it)."""
    return can_manage_path(user, union.path)


def can_manage_path(user: Any, union_path: str) -> bool:
    """Whether ``user`` administers the union at ``union_path`` (or a node above it)."""
    paths = admin_paths(user)
    return paths is None or any(union_path.startswith(path) for path in paths)


def visible_unions(user: Any) -> Select:
    """SELECT of the unions this user manages."""
    return select(TradeUnion).where(managed_unions_clause(user))


def members_clause(union_path: str) -> ColumnElement[bool]:
    """SQL over User: the person's current membership lies in this subtree."""
    return exists(
        select(Membership.id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(
            Membership.user_id == User.id,
            Membership.status.in_(IN_SCOPE_STATUSES),
            TradeUnion.path.startswith(union_path, autoescape=True),
        )
    )


def visible_users(user: Any) -> Select:
    """SELECT of the people whose current membership lies in a union this user manages."""
    paths = admin_paths(user)
    if paths is None:
        return select(User)
    if not paths:
        return select(User).where(false())
    return select(User).where(or_(*[members_clause(path) for path in paths]))


def can_see_user(viewer: Any, person: User) -> bool:
    """Whether ``viewer`` may see ``person``: themselves, or a member of a union they administer."""
    if viewer.id == person.id:
        return True
    statement = visible_users(viewer).where(User.id == person.id).with_only_columns(User.id)
    return db.session.scalar(statement) is not None


# Mobile numbers are read in full by the person and by the admins of their union (an admin of a
# node administers everything below it, site admins everything), and masked (138****1234) by
# everyone else, e.g. an instructor reading a roster. These three are the one rule.

def readable_mobiles(viewer: Any, user_ids: Iterable[int]) -> set[int]:
    """The people among ``user_ids`` whose full mobile ``viewer`` may read: one query."""
    ids = set(user_ids)
    if admin_paths(viewer) is None:
        return ids
    full = {viewer.id} & ids
    if ids and is_union_admin(viewer):
        full |= set(db.session.scalars(visible_users(viewer).where(User.id.in_(ids)).with_only_columns(User.id)))
    return full


def shown_mobiles(viewer: Any, people: Iterable[User]) -> dict[int, str]:
    """{person id: mobile as ``viewer`` may see it}."""
    people = list(people)
    full = readable_mobiles(viewer, [person.id for person in people])
    return {person.id: (person.mobile or "") if person.id in full else mask_mobile(person.mobile) for person in people}


def can_see_mobile(viewer: Any, union: TradeUnion) -> bool:
    """Whether ``viewer`` reads in full the mobiles of the members of ``union``."""
    return viewer.is_authenticated and can_manage_union(viewer, union)


class ScopeDenied(NotFound):
    """An attempt to reach an object outside the actor's scope: answered as any 404 is, and audited by
    the unions package's error handler (``views.record_denial``), which writes the audit row in a
    transaction of its own once the request's work is rolled back."""

    def __init__(self, actor: Any, object_type: str, object_id: object, union_id: int | None = None) -> None:
        super().__init__()
        self.actor, self.object_type, self.union_id = actor, object_type, union_id
        self.object_id = _int_or_none(object_id)


def deny(actor: Any, object_type: str, object_id: object, *, union_id: int | None = None) -> NoReturn:
    """Refuse an object outside the actor's scope: a 404, logged as ``scope.denied``."""
    raise ScopeDenied(actor, object_type, object_id, union_id)


def managed_union_or_404(actor: Any, union_id: int) -> TradeUnion:
    """The union ``union_id`` when ``actor`` administers it; else a 404 (audited)."""
    union = db.session.get(TradeUnion, union_id)
    if union is None or not can_manage_union(actor, union):
        deny(actor, "TradeUnion", union_id)
    return union


def member_or_404(actor: Any, union: TradeUnion, user_id: int) -> User:
    """A person whose current membership lies in this (managed) union's subtree."""
    person = db.session.scalar(select(User).where(User.id == user_id, members_clause(union.path)))
    if person is None:
        deny(actor, "User", user_id, union_id=union.id)
    return person


def membership_or_404(actor: Any, union: TradeUnion, membership_id: int) -> Membership:
    """A membership of this (managed) union's subtree; else a 404 (audited)."""
    membership = db.session.scalar(
        select(Membership).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.id == membership_id, TradeUnion.path.startswith(union.path, autoescape=True))
    )
    if membership is None:
        deny(actor, "Membership", membership_id, union_id=union.id)
    return membership


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

