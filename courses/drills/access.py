"""Who may edit a bank (its union's instructors and admins, and those of the nodes above it; site admins)
and who may practise it (members of its union's subtree, and its editors). Anything else is a 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, literal, or_, select, true
from sqlalchemy.orm import aliased

from classroom.accounts.models import Role
from classroom.extensions import db
from classroom.unions import scope
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from courses.drills.models import QuestionBank

EDITOR_ROLES = (Role.INSTRUCTOR, Role.UNION_ADMIN)


def editor_paths(user: Any) -> list[str] | None:
    """Paths of the nodes whose banks ``user`` edits; None means all of them (site admin)."""
    if not user.is_authenticated:
        return []
    if user.is_site_admin:
        return None
    return [grant.union.path for grant in user.grants if grant.role in EDITOR_ROLES]


def member_paths(user: Any) -> list[str]:
    """The paths of the unions ``user`` is an active member of (one query)."""
    if not user.is_authenticated:
        return []
    return list(db.session.scalars(select(TradeUnion.path).join(Membership, Membership.union_id == TradeUnion.id)
                                   .where(Membership.user_id == user.id,
                                          Membership.status == MembershipStatus.ACTIVE)))


def practisable_clause(user: Any) -> ColumnElement[bool]:
    """SQL over QuestionBank joined to its TradeUnion: the banks ``user`` practises or edits, as one
    expression that runs no query first (for figures read together with others, classroom/figures.py)."""
    if not user.is_authenticated:
        return false()
    member_union = aliased(TradeUnion)
    member = (select(Membership.id).join(member_union, member_union.id == Membership.union_id)
              .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE,
                     member_union.path.startswith(TradeUnion.path)).exists())
    return or_(member, edited_banks_clause(user))


def edited_banks_clause(user: Any) -> ColumnElement[bool]:
    """SQL over QuestionBank joined to its TradeUnion: the banks ``user`` edits."""
    paths = editor_paths(user)
    return true() if paths is None else scope.under(paths)


def practised_banks_clause(user: Any) -> ColumnElement[bool]:
    """SQL over QuestionBank joined to its TradeUnion: banks of a union at or above the person's union."""
    paths = member_paths(user)
    if not paths:
        return false()
    return or_(*[literal(path).startswith(TradeUnion.path) for path in paths])


def banks_statement(user: Any, *, editing: bool) -> Select:
    clause = edited_banks_clause(user) if editing else or_(practised_banks_clause(user), edited_banks_clause(user))
    return (select(QuestionBank, TradeUnion).join(TradeUnion, TradeUnion.id == QuestionBank.union_id)
            .where(clause).order_by(QuestionBank.title, QuestionBank.id))


def can_edit(user: Any, bank: QuestionBank) -> bool:
    return _bank_in(user, bank, editing=True)


def can_practise(user: Any, bank: QuestionBank) -> bool:
    return _bank_in(user, bank, editing=False)


def _bank_in(user: Any, bank: QuestionBank, *, editing: bool) -> bool:
    statement = banks_statement(user, editing=editing).where(QuestionBank.id == bank.id)
    return db.session.execute(statement.with_only_columns(QuestionBank.id)).first() is not None


def bank_or_404(user: Any, bank_id: int, *, editing: bool) -> QuestionBank:
    """The bank ``bank_id`` when ``user`` may edit (or practise) it; else a 404 (audited)."""
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None or not _bank_in(user, bank, editing=editing):
        scope.deny(user, "QuestionBank", bank_id)
    return bank


def editor_unions(user: Any) -> list[TradeUnion]:
    """The unions ``user`` may create banks for (the nodes of their grants, or every top node for a site admin)."""
    paths = editor_paths(user)
    statement = select(TradeUnion).order_by(TradeUnion.path)
    if paths is None:
        return list(db.session.scalars(statement.where(TradeUnion.depth <= 1)))
    return list(db.session.scalars(statement.where(TradeUnion.path.in_(paths)))) if paths else []
