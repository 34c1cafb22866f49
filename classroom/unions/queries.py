"""What the union admin pages read: a subtree's members and applications, and its counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, Subquery, func, literal_column, or_, select, true, union_all
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.pagination import bounded_count
from classroom.unions import counters, scope
from classroom.unions.models import IN_SCOPE_STATUSES, Membership, MembershipStatus, TradeUnion
from classroom.unions.union_search import escape_like

# newest first; keyset on ix_membership_(union_)applied
MEMBER_ORDER: tuple[ColumnElement[Any], ...] = (Membership.applied_at.expression, Membership.id.expression)
FILTERS = ("q", "status", "trade", "level", "group")
# a search matching this many people or more is common ("王"): its list walks the members' index (_searched)
COMMON_MATCHES = 500


def first_managed_union(user: Any) -> TradeUnion | None:
    """The highest node ``user`` administers (the one their pages open on), or None."""
    if not scope.is_union_admin(user):
        return None
    return db.session.scalars(
        scope.visible_unions(user).order_by(TradeUnion.depth, TradeUnion.name).limit(1)
    ).first()


def member_key(row: Any) -> tuple:
    """The sort key of a member list's row (its cursor)."""
    return row.Membership.applied_at, row.Membership.id


def subtree_union_ids(union: TradeUnion) -> list[int] | None:
    """The ids of this node's subtree; None for the root, whose subtree is everything."""
    if union.parent_id is None:
        return None
    return list(db.session.scalars(select(TradeUnion.id).where(TradeUnion.path.startswith(union.path,
                                                                                           autoescape=True))))


def _in_subtree(union_ids: list[int] | None) -> ColumnElement[bool]:
    if union_ids is None:
        return true()
    return Membership.union_id == union_ids[0] if len(union_ids) == 1 else Membership.union_id.in_(union_ids)


def member_listing(union: TradeUnion, *, q: str = "", status: str = "", trade: str = "",
                   level: str = "", group: str = "", keys: bool = False) -> Select:
    """SELECT (Membership, User, TradeUnion) of the current memberships in this subtree, newest first.
    The subtree is named by its unions' ids, so one union's list walks its own index in order. ``keys``:
    SELECT (applied_at, id) only, the person joined only when a filter reads it, so the walk (a common name's:
    thousands of rows on a big union) reads the membership index alone (INCLUDE user_id, status);
    ``member_rows`` then reads the page's rows (``keyset_page(expand=…)``)."""
    searched, reads_person = _searched(q) if q else (true(), False)
    statement = select(Membership.applied_at, Membership.id) if keys else select(Membership, User, TradeUnion)
    if not keys or reads_person or trade or level or group:
        statement = statement.join(User, User.id == Membership.user_id)
    if not keys:
        statement = statement.join(TradeUnion, TradeUnion.id == Membership.union_id)
    statement = (
        statement
        .where(_in_subtree(subtree_union_ids(union)),
               Membership.status.in_([status] if status else IN_SCOPE_STATUSES))
        .order_by(Membership.applied_at.desc(), Membership.id.desc())
    )
    if q:
        statement = statement.where(searched)
    if trade:
        statement = statement.where(User.trade == trade)
    if level and (skill_level := parse_id(level)) is not None:
        statement = statement.where(User.skill_level == skill_level)
    if group:
        statement = statement.where(User.worker_group == group)
    return statement


def member_rows(keys: Subquery) -> Select:
    """SELECT (Membership, User, TradeUnion) of the memberships whose ids ``keys`` (a page of
    ``member_listing(keys=True)``) holds: a page's rows by their primary keys."""
    return (select(Membership, User, TradeUnion)
            .join(keys, keys.c.id == Membership.id)
            .join(User, User.id == Membership.user_id)
            .join(TradeUnion, TradeUnion.id == Membership.union_id))


def person_matches(q: str) -> ColumnElement[bool]:
    """SQL over User: a search by name or mobile, served by the trigram indexes on PostgreSQL. Three
    characters or more match anywhere; one or two match the start (a surname, a mobile's first digits):
    trigrams index a short prefix (its padded first trigram) but not one or two characters elsewhere."""
    return _column_matches(User.real_name, q) | _column_matches(User.mobile, q)


def _column_matches(column: Any, q: str) -> ColumnElement[bool]:
    """``column`` holds ``q`` (see person_matches), regardless of case. A text with no cased letters (Chinese,
    digits) is matched by LIKE, the same test, which the prefix btrees (ix_user_*_prefix) also serve:
    PostgreSQL takes any other character but ASCII for a letter, and ILIKE then never ranges over a btree."""
    text = escape_like(q)
    pattern = f"%{text}%" if len(q) >= 3 else f"{text}%"
    caseless = q.lower() == q.upper()
    return column.like(pattern, escape="\\") if caseless else column.ilike(pattern, escape="\\")


def _searched(q: str) -> tuple[ColumnElement[bool], bool]:
    """(SQL: the member's person matches ``q``; whether it reads User, or Membership alone), in the form whose
    work stays bounded as the city grows. One indexed look counts the matching people up to COMMON_MATCHES.
    Fewer (a full name, a mobile's digits): the list joins from them, at most that many. More (a surname: a
    share of the city): the list walks its own index newest first and keeps the members among them, about a
    page ÷ their share of rows whatever the city's size, from the index alone; the people's ids (name
    matches, then mobile matches: each from its index alone, ix_user_*_prefix, or else the trigram index) are
    hashed once. PostgreSQL pulls a bare IN up into a join, which loses the index's order; "OR false" keeps it
    a hashed filter."""
    matching = union_all(*[select(User.id).where(_column_matches(column, q)) for column in (User.real_name,
                                                                                              User.mobile)])
    found = db.session.scalar(select(func.count()).select_from(matching.limit(COMMON_MATCHES).subquery()))
    if (found or 0) < COMMON_MATCHES:
        return person_matches(q), True
    return or_(Membership.user_id.in_(matching), literal_column("false")), False


def member_total(union: TradeUnion, statement: Select, *, q: str = "", status: str = "", trade: str = "",
                 level: str = "", group: str = "") -> tuple[int, bool] | None:
    """(how many the member list holds, whether that is a cap): from the counters when only the status
    narrows it, else a count that stops at COUNT_BOUND; None for a search, whose page tells its total
    (``keyset_page(by_page=True)``): a common name's matches grow with the city, and an admin looking for
    one person needs the page and "more than a page", not their number."""
    if q:
        return None
    if trade or level or group:
        return bounded_count(statement)
    counts = counters.subtree_counts(union)
    return sum(counts.get(name, 0) for name in ([status] if status else IN_SCOPE_STATUSES)), False


def history_of(user_id: int) -> Select:
    """SELECT of a person's memberships with their unions, newest application first (MEMBER_ORDER)."""
    return (select(Membership).where(Membership.user_id == user_id).options(joinedload(Membership.union))
            .order_by(Membership.applied_at.desc(), Membership.id.desc()))


def history_key(membership: Membership) -> tuple:
    """The sort key of a membership in a person's history (its cursor)."""
    return membership.applied_at, membership.id


def pending_applications(union: TradeUnion) -> Select:
    """SELECT (Membership, User, TradeUnion) of applications waiting in this subtree, oldest first by
    MEMBER_ORDER (keyset on the partial indexes ix_membership_(union_)waiting)."""
    return (
        select(Membership, User, TradeUnion)
        .join(User, User.id == Membership.user_id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id)
        .where(_in_subtree(subtree_union_ids(union)), Membership.status == MembershipStatus.APPLIED)
        .order_by(Membership.applied_at, Membership.id)
    )


def waiting_total(union: TradeUnion) -> tuple[int, bool]:
    """(how many applications wait in this subtree, False): from the member counters."""
    return counters.subtree_counts(union).get(MembershipStatus.APPLIED, 0), False


def children_with_counts(union: TradeUnion) -> list[tuple[TradeUnion, int, int]]:
    """Each child node with its subtree's active members and waiting applications, from the children's own
    subtree counters (one query, whatever the number of unions and members below them)."""
    kept = counters.children_kept(union)
    active = func.coalesce(func.sum(kept.c.members).filter(kept.c.status == MembershipStatus.ACTIVE), 0)
    applied = func.coalesce(func.sum(kept.c.members).filter(kept.c.status == MembershipStatus.APPLIED), 0)
    rows = db.session.execute(
        select(TradeUnion, active, applied)
        .where(TradeUnion.parent_id == union.id)
        .outerjoin(kept, kept.c.union_id == TradeUnion.id)
        .group_by(TradeUnion.id)
        .order_by(TradeUnion.name)
    ).all()
    return [(row[0], int(row[1]), int(row[2])) for row in rows]


def subtree_figures(union: TradeUnion) -> dict[str, ScalarSelect[int]]:
    """SQL of the active members and waiting applications in this node's subtree (from the member counters),
    for ``classroom.figures.read_together``."""
    return {status: counters.subtree_figure(union, status)
            for status in (MembershipStatus.ACTIVE, MembershipStatus.APPLIED)}


def subtree_counts(union: TradeUnion) -> dict[str, int]:
    """Active members and waiting applications in this node's subtree (from the member counters)."""
    counts = counters.subtree_counts(union)
    wanted = (MembershipStatus.ACTIVE, MembershipStatus.APPLIED)
    return {status: counts[status] for status in wanted if counts.get(status)}
