"""Role grants: a person made an instructor or a union admin for one node of the tree (site admins' page)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.unions.models import TradeUnion


def grant_role(user: User, role: str, union: TradeUnion, *, actor: Any) -> RoleGrant:
    """Give ``user`` the ``role`` at ``union`` (audited); Conflict when they already hold it there."""
    if role not in set(Role):
        raise Invalid(_l("Unknown role."))
    existing = db.session.scalar(select(RoleGrant).filter_by(user_id=user.id, role=role, union_id=union.id))
    if existing:
        raise Conflict(_l("This person already holds that role there."))
    grant = RoleGrant(user=user, role=role, union_id=union.id, granted_by_id=getattr(actor, "id", None))
    db.session.add(grant)
    db.session.flush()
    record_event(actor, "role.grant", grant, union_id=union.id, user_id=user.id, role=role)
    return grant


def grant_role_by_codes(mobile: str, role: str, union_code: str, *, actor: Any) -> RoleGrant:
    """``grant_role`` for the person with this mobile number at the union with this code (the admin form)."""
    person = db.session.scalar(select(User).where(User.mobile == mobile))
    if person is None:
        raise Invalid(_l("No account has this mobile number."), field="mobile")
    union = db.session.scalar(select(TradeUnion).where(TradeUnion.code == union_code))
    if union is None:
        raise Invalid(_l("No union has this code."), field="union_code")
    return grant_role(person, role, union, actor=actor)


def revoke_role(grant: RoleGrant, *, actor: Any) -> None:
    """Take a role grant away (audited)."""
    record_event(actor, "role.revoke", grant, union_id=grant.union_id, user_id=grant.user_id, role=grant.role)
    db.session.delete(grant)


def role_grants():
    """SELECT of every role grant, newest first (the site admins' list)."""
    return select(RoleGrant).join(RoleGrant.user).order_by(RoleGrant.granted_at.desc())
