"""Union training-hours reports: every figure aggregated in SQL. Year, quarter and month hours
come from the month rollup; custom ranges, trades and worker groups read the ledger through its
indexes; the people (workers, members, the target) are ``report_people``'s."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer as SAInteger
from sqlalchemy import Select, case, cast, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from classroom.accounts.models import User
from classroom.domain import Invalid
from classroom.extensions import db
from classroom.unions.models import Membership, TradeUnion
from courses.hours.models import HoursEntry, HoursMonth, HoursYear
from courses.hours.report_people import active_at, people


@dataclass
class Period:
    kind: str  # year / quarter / month / custom
    start: date
    end: date  # inclusive
    label: str = ""

    @property
    def whole_months(self) -> bool:
        """Whether the month rollup can answer (a year, quarter or month)."""
        return self.kind in ("year", "quarter", "month")

    @property
    def year(self) -> int:
        """The calendar year the period ends in."""
        return self.end.year


def period_from(kind: str, year: int, part: int | None = None, start: date | None = None,
                end: date | None = None) -> Period:
    """The period a report's form asks for; Invalid for a custom range without both ends or over three years."""
    if kind == "quarter" and part in (1, 2, 3, 4):
        first = date(year, 3 * part - 2, 1)
        last_month = 3 * part
        return Period("quarter", first, date(year, last_month, calendar.monthrange(year, last_month)[1]),
                      f"{year} Q{part}")
    if kind == "month" and part and 1 <= part <= 12:
        return Period("month", date(year, part, 1), date(year, part, calendar.monthrange(year, part)[1]),
                      f"{year}-{part:02d}")
    if kind == "custom":
        if not start or not end or end < start or (end - start).days > 3 * 366:
            raise Invalid(_l("Choose a start and an end (at most three years apart)."), field="start")
        return Period("custom", start, end, f"{start.isoformat()} – {end.isoformat()}")
    return Period("year", date(year, 1, 1), date(year, 12, 31), str(year))


@dataclass
class Row:
    key: object
    label: str
    minutes: int = 0
    workers: int = 0
    members: int = 0
    meeting_target: int = 0
    union: TradeUnion | None = None
    extra: dict = field(default_factory=dict)

    @property
    def average_minutes(self) -> float:
        """Minutes per member."""
        return self.minutes / self.members if self.members else 0.0

    @property
    def target_share(self) -> float:
        """The share of members who met the annual target."""
        return self.meeting_target / self.members if self.members else 0.0


def _in_subtree(column, path: str):
    return column.startswith(path, autoescape=True)


def children_of(node: TradeUnion) -> list[TradeUnion]:
    """A union's direct children, by name."""
    return list(db.session.scalars(select(TradeUnion).where(TradeUnion.parent_id == node.id)
                                   .order_by(TradeUnion.name)))


def union_breakdown(node: TradeUnion, period: Period) -> tuple[Row, list[Row]]:
    """The node's total and one row per child union (its whole subtree), in a few grouped queries."""
    children = children_of(node)
    unions = _union_map(node, [(child.id, child.path) for child in children])
    total = Row("total", node.name, union=node)
    rows = {child.id: Row(child.id, child.name, union=child) for child in children}
    found = people(unions, period.kind, period.start, period.end)
    for key, minutes in found.minutes.items() if found.minutes is not None else _grouped_minutes(unions, period):
        _target(total, rows, key).minutes += int(minutes or 0)
    for key, (workers, members, meeting) in found.groups.items():
        row = _target(total, rows, key)
        row.workers += workers
        row.members += members
        row.meeting_target += meeting
    if children:
        total.minutes = sum(row.minutes for row in rows.values())
        total.workers = found.workers if found.workers is not None else sum(row.workers for row in rows.values())
        total.members = sum(row.members for row in rows.values())
        total.meeting_target = sum(row.meeting_target for row in rows.values())
    return total, [rows[child.id] for child in children]


def _target(total: Row, rows: dict, key) -> Row:
    return rows.get(key, total)


def _group_column(node: TradeUnion, groups: list[tuple[int, str]], path_column):
    """The child whose subtree holds the union (or NULL: the node itself): on PostgreSQL the part of the
    union's path after the node's ("/1/4/17/" under "/1/": 4), elsewhere a CASE over the children's paths."""
    if not groups:
        return literal(None, SAInteger)
    if db.session.get_bind().dialect.name == "postgresql":
        part = func.split_part(path_column, "/", len(node.ancestor_ids()) + 2)
        return cast(func.nullif(part, ""), SAInteger)
    return case(*[(path_column.startswith(path, autoescape=True), child_id) for child_id, path in groups],
                else_=None)


def _union_map(node: TradeUnion, groups: list[tuple[int, str]]):
    """One row per union of the node's subtree: its id, the child group it falls in, and its annual
    target (its own, else the nearest one set above it). The CASEs run once per union, never once
    per ledger or membership row; the fact tables join this small set by union id (a CTE: a statement
    that joins it more than once computes it once)."""
    setters = db.session.execute(
        select(TradeUnion.path, TradeUnion.annual_target_minutes)
        .where(TradeUnion.annual_target_minutes.is_not(None),
               or_(TradeUnion.id.in_(node.ancestor_ids()), _in_subtree(TradeUnion.path, node.path)))
        .order_by(TradeUnion.depth.desc())).all()  # the deepest target wins
    target = case(*[(TradeUnion.path.startswith(path, autoescape=True), minutes) for path, minutes in setters],
                  else_=None) if setters else literal(None, SAInteger)
    return (select(TradeUnion.id.label("union_id"), _group_column(node, groups, TradeUnion.path).label("grp"),
                   target.label("target"))
            .where(_in_subtree(TradeUnion.path, node.path)).cte("unions"))


def _grouped_minutes(unions, period: Period):
    if period.whole_months:
        return db.session.execute(
            select(unions.c.grp, func.sum(HoursMonth.minutes)).join(unions, unions.c.union_id == HoursMonth.union_id)
            .where(HoursMonth.month >= period.start, HoursMonth.month <= period.end)
            .group_by(unions.c.grp)).all()
    return db.session.execute(
        select(unions.c.grp, func.sum(HoursEntry.minutes)).join(unions, unions.c.union_id == HoursEntry.union_id)
        .where(HoursEntry.earned_on >= period.start, HoursEntry.earned_on <= period.end)
        .group_by(unions.c.grp)).all()


def member_rows(union: TradeUnion, period: Period) -> Select[User, int]:
    """SELECT (User, minutes) of a grassroots union's members at the end of the period."""
    if period.kind == "year":
        minutes = (select(HoursYear.user_id, func.sum(HoursYear.minutes).label("minutes"))
                   .where(HoursYear.union_id == union.id, HoursYear.year == period.year)
                   .group_by(HoursYear.user_id).subquery())
    else:
        minutes = (select(HoursEntry.user_id, func.sum(HoursEntry.minutes).label("minutes"))
                   .where(HoursEntry.union_id == union.id, HoursEntry.earned_on >= period.start,
                          HoursEntry.earned_on <= period.end).group_by(HoursEntry.user_id).subquery())
    return (select(User, func.coalesce(minutes.c.minutes, 0).label("minutes"))
            .join(Membership, Membership.user_id == User.id)
            .outerjoin(minutes, minutes.c.user_id == User.id)
            .where(Membership.union_id == union.id, active_at(period.end))
            .order_by(func.coalesce(minutes.c.minutes, 0).desc(), User.id))


def member_page_rows(union: TradeUnion, period: Period) -> Select[User, int, Membership]:
    """SELECT (User, minutes, Membership) of a grassroots union's members at the end of the period, for
    keyset pages in MEMBER_ORDER (newest member first, on ix_membership_union_applied): each row's
    minutes are that person's own indexed look-up, so a page costs the same whatever the union's size."""
    if period.kind == "year":
        minutes = (select(func.coalesce(func.sum(HoursYear.minutes), 0))
                   .where(HoursYear.user_id == User.id, HoursYear.union_id == union.id, HoursYear.year == period.year))
    else:
        minutes = (select(func.coalesce(func.sum(HoursEntry.minutes), 0))
                   .where(HoursEntry.user_id == User.id, HoursEntry.union_id == union.id,
                          HoursEntry.earned_on >= period.start, HoursEntry.earned_on <= period.end))
    return (select(User, minutes.scalar_subquery().label("minutes"), Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.union_id == union.id, active_at(period.end)))


def dimension_breakdown(node: TradeUnion, period: Period, dimension: str) -> list[tuple[str, int, int | None]]:
    """[(value, minutes, workers)] by trade, worker group, course category or source (workers None when
    the month rollup answers, which does not count people)."""
    if dimension in ("category", "source") and period.whole_months:
        return _rollup_breakdown(node, period, HoursMonth.category if dimension == "category" else HoursMonth.source)
    column = {"trade": User.trade, "group": User.worker_group, "category": HoursEntry.category,
              "source": HoursEntry.source}[dimension]
    rows = db.session.execute(
        select(column, func.sum(HoursEntry.minutes), func.count(func.distinct(HoursEntry.user_id)))
        .join(User, User.id == HoursEntry.user_id).join(TradeUnion, TradeUnion.id == HoursEntry.union_id)
        .where(_in_subtree(TradeUnion.path, node.path), HoursEntry.earned_on >= period.start,
               HoursEntry.earned_on <= period.end)
        .group_by(column).order_by(func.sum(HoursEntry.minutes).desc()))
    return [(value or "", int(minutes or 0), int(workers or 0)) for value, minutes, workers in rows]


def _rollup_breakdown(node: TradeUnion, period: Period,
                      column: InstrumentedAttribute[str]) -> list[tuple[str, int, int | None]]:
    rows = db.session.execute(
        select(column, func.sum(HoursMonth.minutes))
        .join(TradeUnion, TradeUnion.id == HoursMonth.union_id)
        .where(_in_subtree(TradeUnion.path, node.path), HoursMonth.month >= period.start,
               HoursMonth.month <= period.end)
        .group_by(column).order_by(func.sum(HoursMonth.minutes).desc()))
    return [(value or "", int(minutes or 0), None) for value, minutes in rows]


def no_union_minutes(period: Period) -> int:
    """Hours earned by people with no union (shown to city-level admins as "no union")."""
    if period.whole_months:
        return int(db.session.scalar(select(func.coalesce(func.sum(HoursMonth.minutes), 0)).where(
            HoursMonth.union_id == 0, HoursMonth.month >= period.start, HoursMonth.month <= period.end)) or 0)
    return int(db.session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0)).where(
        HoursEntry.union_id.is_(None), HoursEntry.earned_on >= period.start, HoursEntry.earned_on <= period.end))
        or 0)
