"""What the hours pages read: annual targets, a person's yearly totals and ledger entries, the unions above
a report's node that its reader manages."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, Select, case, func, select
from sqlalchemy.orm import aliased, joinedload

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.unions.memberships import membership_union_at
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from classroom.unions.scope import admin_paths, can_manage_union
from courses.hours.models import HoursEntry, HoursYear


def effective_targets(unions: list[TradeUnion]) -> dict[int, int | None]:
    """Each union's annual target: its own, else the nearest one set above it (one query)."""
    ancestor_ids = {ancestor for union in unions for ancestor in union.ancestor_ids()}
    targets = dict(db.session.execute(
        select(TradeUnion.id, TradeUnion.annual_target_minutes).where(TradeUnion.id.in_(ancestor_ids))
    ).all()) if ancestor_ids else {}
    result = {}
    for union in unions:
        chain = [targets.get(ancestor) for ancestor in reversed(union.ancestor_ids())]
        result[union.id] = next((value for value in chain if value is not None), None)
    return result


def current_union(user_id: int) -> TradeUnion | None:
    """The union of a person's membership now, if any."""
    union_id = membership_union_at(user_id)
    return db.session.get(TradeUnion, union_id) if union_id else None


def target_for_user(user_id: int) -> int | None:
    """A person's annual target in minutes: their union's (or the nearest above it), None when unset."""
    union = current_union(user_id)
    return effective_targets([union])[union.id] if union else None


def target_figure(user_id: int) -> ScalarSelect[int]:
    """SQL: ``target_for_user`` as a scalar subquery (the home page reads it with its other figures)."""
    own = aliased(TradeUnion)
    union_id = (select(Membership.union_id)
                .where(Membership.user_id == user_id,
                       Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.APPLIED]))
                .order_by(case((Membership.status == MembershipStatus.ACTIVE, 0), else_=1)).limit(1).scalar_subquery())
    return (select(TradeUnion.annual_target_minutes).join(own, own.id == union_id)
            .where(own.path.startswith(TradeUnion.path), TradeUnion.annual_target_minutes.is_not(None))
            .order_by(TradeUnion.depth.desc()).limit(1).scalar_subquery())


def year_figure(user_id: int, year: int) -> ScalarSelect[int]:
    """SQL: a person's minutes in one year (a scalar subquery, read with the page's other figures)."""
    return (select(func.coalesce(func.sum(HoursYear.minutes), 0))
            .where(HoursYear.user_id == user_id, HoursYear.year == year).scalar_subquery())


def yearly_totals(user_id: int) -> list[tuple[int, int]]:
    """[(year, minutes)] of a person, newest first."""
    return [(int(year), int(minutes)) for year, minutes in db.session.execute(
        select(HoursYear.year, func.sum(HoursYear.minutes)).where(HoursYear.user_id == user_id)
        .group_by(HoursYear.year).order_by(HoursYear.year.desc())
    )]


LEDGER_ORDER = (HoursEntry.earned_on, HoursEntry.id)  # newest first (keyset on ix_hours_entry_user_earned)


def entry_key(entry: HoursEntry) -> tuple:
    """The sort key of a ledger entry (its cursor)."""
    return entry.earned_on, entry.id


def entries_of(user_id: int, year: int | None = None) -> Select[HoursEntry]:
    """SELECT of a person's ledger entries (of one year), newest first."""
    statement = select(HoursEntry).where(HoursEntry.user_id == user_id)
    if year:
        statement = statement.where(HoursEntry.earned_on >= date(year, 1, 1),
                                    HoursEntry.earned_on <= date(year, 12, 31))
    return statement.order_by(HoursEntry.earned_on.desc(), HoursEntry.id.desc())


def member_export(person: User) -> tuple[list[str], list[list[object]]]:
    """The header and rows of a member's whole ledger, for CSV or XLSX."""
    header = [_("Date"), _("Source"), _("What"), _("Note"), _("Minutes"), _("Union")]
    entries = db.session.scalars(entries_of(person.id).options(joinedload(HoursEntry.union)))
    return header, [[entry.earned_on.isoformat(), entry.source_label, entry.title, entry.note_label or "",
                     entry.minutes, entry.union.name if entry.union else _("No union")] for entry in entries]


def managed_ancestors(node: TradeUnion, viewer: User) -> list[TradeUnion]:
    """The unions above ``node``, top first, that ``viewer`` manages (the report's breadcrumbs)."""
    paths = admin_paths(viewer)
    ancestors = node.ancestor_ids()[:-1]  # an ancestor's path is a prefix of the node's: no query for those
    ids = [i for k, i in enumerate(ancestors)  # the viewer cannot manage
           if paths is None or any(f"/{'/'.join(map(str, ancestors[:k + 1]))}/".startswith(p) for p in paths)]
    if not ids:
        return []
    rows = {union.id: union for union in db.session.scalars(select(TradeUnion).where(TradeUnion.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows and can_manage_union(viewer, rows[i])]
