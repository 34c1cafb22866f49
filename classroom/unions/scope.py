"""Which unions and people a user may see or manage: the one place every admin query asks."""

from __future__ import annotations

from flask import abort
from sqlalchemy import exists, false, or_, select, true

from classroom.accounts.models import Role, User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.extensions import db
from classroom.personal_data import mask_mobile
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, TradeUnion


def admin_paths(user) -> list[str] | None:
    """Paths of the nodes this user administers; None means everything (site admin)."""
    if not user.is_authenticated:
        return []
    if user.is_site_admin:
        return None
    return [grant.union.path for grant in user.grants if grant.role == Role.UNION_ADMIN]


def is_union_admin(user) -> bool:
    return admin_paths(user) != []


def under(paths: list[str], column=TradeUnion.path):
    """SQL: the path column lies in one of these subtrees."""
    if not paths:
        return false()
    return or_(*[column.startswith(path, autoescape=True) for path in paths])


def managed_unions_clause(user):
    paths = admin_paths(user)
    return true() if paths is None else under(paths)


def can_manage_union(user, union: TradeUnion) -> bool:
    paths = admin_paths(user)
    return paths is None or any(union.path.startswith(path) for path in paths)


def visible_unions(user):
    """SELECT of the unions this user manages."""
    return select(TradeUnion).where(managed_unions_clause(user))


def members_clause(union_path: str):
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


def visible_users(user):
    """SELECT of the people whose current membership lies in a union this user manages."""
    paths = admin_paths(user)
    if paths is None:
        return select(User)
    if not paths:
        return select(User).where(false())
    return select(User).where(or_(*[members_clause(path) for path in paths]))


def can_see_user(viewer, person: User) -> bool:
    if viewer.id == person.id:
        return True
    statement = visible_users(viewer).where(User.id == person.id).with_only_columns(User.id)
    return db.session.scalar(statement) is not None


# Mobile numbers are read in full by the person and by the admins of their union (an admin of a
# node administers everything below it, site admins everything), and masked (138****1234) by
# everyone else, e.g. an instructor reading a roster. These three are the one rule.

def readable_mobiles(viewer, user_ids) -> set[int]:
    """The people among ``user_ids`` whose full mobile ``viewer`` may read: one query."""
    ids = set(user_ids)
    if admin_paths(viewer) is None:
        return ids
    full = {viewer.id} & ids
    if ids and is_union_admin(viewer):
        full |= set(db.session.scalars(visible_users(viewer).where(User.id.in_(ids)).with_only_columns(User.id)))
    return full


def shown_mobiles(viewer, people) -> dict[int, str]:
    """{person id: mobile as ``viewer`` may see it}."""
    people = list(people)
    full = readable_mobiles(viewer, [person.id for person in people])
    return {person.id: (person.mobile or "") if person.id in full else mask_mobile(person.mobile) for person in people}


def can_see_mobile(viewer, union: TradeUnion) -> bool:
    """Whether ``viewer`` reads in full the mobiles of the members of ``union``."""
    return viewer.is_authenticated and can_manage_union(viewer, union)


def deny(actor, object_type: str, object_id, *, union_id: int | None = None):
    """Log an attempt to reach an object outside the actor's scope, then answer 404."""
    db.session.rollback()
    begin_write(db.session)  # the denial is written in a transaction of its own, holding the write lock
    record_event(actor, "scope.denied", union_id=union_id, object_type=object_type,
                 object_id=_int_or_none(object_id))
    db.session.commit()
    abort(404)


def managed_union_or_404(actor, union_id: int) -> TradeUnion:
    union = db.session.get(TradeUnion, union_id)
    if union is None or not can_manage_union(actor, union):
        deny(actor, "TradeUnion", union_id)
    return union


def member_or_404(actor, union: TradeUnion, user_id: int) -> User:
    """A person whose current membership lies in this (managed) union's subtree."""
    person = db.session.scalar(select(User).where(User.id == user_id, members_clause(union.path)))
    if person is None:
        deny(actor, "User", user_id, union_id=union.id)
    return person


def membership_or_404(actor, union: TradeUnion, membership_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.id == membership_id, TradeUnion.path.startswith(union.path, autoescape=True))
    )
    if membership is None:
        deny(actor, "Membership", membership_id, union_id=union.id)
    return membership


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

