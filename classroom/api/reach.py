"""The administrators' side of the API: a union administrator's token or a partner's key, and the objects of
a union subtree it names. As on the pages, a person who administers no union is refused (403) and an object
outside the caller's reach answers an audited 404 (``door.deny``)."""

from __future__ import annotations

from sqlalchemy import select

from classroom.accounts.models import User
from classroom.api.door import deny, reachable_union
from classroom.api.principal import Principal, current_principal
from classroom.api.problems import Problem
from classroom.extensions import db
from classroom.unions.models import Membership, TradeUnion
from classroom.unions.scope import is_union_admin


def require_admin() -> Principal:
    """The caller, when it is a key (bound to its subtree) or a person who administers some union; else 403."""
    principal = current_principal()
    if principal.user is not None and not is_union_admin(principal.user):
        raise Problem("forbidden")
    return principal


def require_admin_person() -> User:
    """The person calling, when they administer some union (a key or a worker: 403)."""
    user = current_principal().user
    if user is None:
        raise Problem("person-required")
    if not is_union_admin(user):
        raise Problem("forbidden")
    return user


def admin_union(union_id: int) -> TradeUnion:
    """The union a URL names, for an administrator or key that reaches it (else an audited 404)."""
    require_admin()
    return reachable_union(union_id)


def acting_person() -> User | None:
    """Who acts, for the services and their audit rows: the person, or None for a key (whose every use is
    audited as ``api_key.use`` with the request's path)."""
    return current_principal().user


def membership_in(union: TradeUnion, membership_id: int) -> Membership:
    """A membership of this (reached) union's subtree; else an audited 404."""
    membership = db.session.scalar(
        select(Membership).join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(Membership.id == membership_id, TradeUnion.path.startswith(union.path, autoescape=True)))
    if membership is None:
        deny("Membership", membership_id)
    return membership
