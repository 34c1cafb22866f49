"""The people in a union report: per child group of the report's node, its workers with hours in the period,
its members at the period's end and those of them meeting their union's annual target (by their minutes in
that union in the year the period ends in); and the distinct workers of the whole node.

A year reads only rollups, a few rows per union whatever the city's size: the people per union and year
(``HoursUnionYear``), the members per union and month (``classroom.unions.history``), and the year rows of
the people with hours in more than one union that year (few: people who moved), so that each counts once per
group. Quarters, months and custom ranges read workers from the ledger, and members and the target from the
memberships and the year rollup.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import CTE, ColumnElement, Integer, and_, func, literal, or_, select, union_all

from classroom.extensions import db
from classroom.timefmt import day_start
from classroom.unions.history import MEMBER_STATES, members_at_month_end
from classroom.unions.models import Membership
from courses.hours.models import HoursEntry, HoursUnionYear, HoursYear
from courses.hours.rollups import beyond


@dataclass
class People:
    """Figures per group (a child's id; None: the node itself): [workers, members, meeting the target], and for
    a year its minutes."""

    groups: defaultdict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    workers: int | None = None  # distinct workers of the whole node (None: the groups' sum)
    minutes: Counter | None = None  # a year's minutes per group, from the same rollup


def people(unions: CTE, kind: str, start: date, end: date) -> People:
    """The people figures of a period (``kind``: year, quarter, month or custom) for the unions map
    (union_id, grp, target)."""
    found = People()
    if kind == "year":
        _year(found, unions, end.year)
        return found
    for grp, workers in _ledger_workers(unions, start, end):
        found.groups[grp][0] += int(workers or 0)
    for grp, members, meeting in _members_from_memberships(unions, end):
        found.groups[grp][1] += int(members or 0)
        found.groups[grp][2] += int(meeting or 0)
    return found


def ends(day: date) -> datetime:
    """The instant after ``day`` in the platform's zone: what happened before it happened by its end."""
    return day_start(day + timedelta(days=1))


def active_at(end: date) -> ColumnElement[bool]:
    """Memberships that are members at the end of ``end`` (a local day): started before it ended, not ended by then."""
    moment = ends(end)
    return and_(Membership.status.in_(MEMBER_STATES), Membership.started_at < moment,
                or_(Membership.ended_at.is_(None), Membership.ended_at >= moment))


# ---- a year: the rollups, in one statement ------------------------------------------------------------

PEOPLE, MEMBERS, SHARED = 1, 2, 3  # the kinds of rows the year's statement returns


def _year(found: People, unions: CTE, year: int) -> None:
    """Minutes, workers, members at the year's end and members meeting the target, per group: the people per
    union and year (as counted by the target they hold; the unions whose target changed since are counted from their
    rows), the members per union and month, and the rows of the people with hours in more than one union."""
    met: Counter = Counter()  # group → members meeting the target, but for the members of unions with target 0
    positive: defaultdict = defaultdict(Counter)  # person in several unions → group → unions with minutes > 0
    workers_sum, any_stale, found.minutes = 0, False, Counter()
    for kind, grp, *figures in db.session.execute(_year_statement(unions, year)):
        numbers = [int(value or 0) for value in figures]
        if kind == PEOPLE:
            minutes, workers, past, outside, below, below_outside, stale = numbers
            found.minutes[grp] += minutes
            found.groups[grp][0] += workers
            workers_sum += workers
            met[grp] += past - outside - below + below_outside
            any_stale = any_stale or bool(stale)
        elif kind == MEMBERS:
            found.groups[grp][1] += numbers[0]
            met[grp] += numbers[1]  # a target of 0: every member but those below it
        else:
            positive[numbers[0]][grp] += 1
    if any_stale:
        met.update(_recount(unions, year))
    total_duplicates = 0
    for groups in positive.values():
        for grp, count in groups.items():
            found.groups[grp][0] -= count - 1
        total_duplicates += sum(groups.values()) - 1
    for grp in met:
        found.groups[grp][2] = met[grp]
    found.workers = workers_sum - total_duplicates


def _stale(unions: CTE) -> ColumnElement[bool]:
    """The union's target changed since its people were counted (until the retarget job has run)."""
    return HoursUnionYear.target.is_distinct_from(unions.c.target) & unions.c.target.is_not(None)


def _year_statement(unions: CTE, year: int):
    counted, months = HoursUnionYear, members_at_month_end(date(year, 12, 31))
    fresh, reaching = ~_stale(unions), unions.c.target > 0  # a target of 0: the rollup counts those below it
    blank = literal(None, Integer)
    return union_all(
        select(literal(PEOPLE), unions.c.grp, func.sum(counted.minutes), func.sum(counted.workers),
               func.sum(counted.beyond).filter(fresh & reaching), func.sum(counted.outside).filter(fresh & reaching),
               func.sum(counted.beyond).filter(fresh & ~reaching), func.sum(counted.outside).filter(fresh & ~reaching),
               func.count().filter(~fresh))
        .select_from(counted).join(unions, unions.c.union_id == counted.union_id)
        .where(counted.year == year).group_by(unions.c.grp),
        select(literal(MEMBERS), unions.c.grp, func.sum(months.c.members),
               func.sum(months.c.members).filter(unions.c.target <= 0), blank, blank, blank, blank, blank)
        .select_from(months).join(unions, unions.c.union_id == months.c.union_id).group_by(unions.c.grp),
        select(literal(SHARED), unions.c.grp, HoursYear.user_id, blank, blank, blank, blank, blank, blank)
        .select_from(HoursYear).join(unions, unions.c.union_id == HoursYear.union_id)
        .where(HoursYear.year == year, HoursYear.shared, HoursYear.minutes > 0))  # on ix_hours_year_shared


def _recount(unions: CTE, year: int) -> Counter:
    """Per group, members meeting the target (but for the members of unions with target 0, less those below
    it) in the unions whose target changed since their rollup was counted, from their year rows."""
    reaching, member = unions.c.target > 0, HoursYear.member.is_(True)
    return Counter({grp: int(meeting or 0) - int(below or 0) for grp, meeting, below in db.session.execute(
        select(unions.c.grp, func.count().filter(reaching & member), func.count().filter(~reaching & member))
        .select_from(HoursYear).join(unions, unions.c.union_id == HoursYear.union_id)
        .join(HoursUnionYear, and_(HoursUnionYear.union_id == HoursYear.union_id, HoursUnionYear.year == year))
        .where(HoursYear.year == year, _stale(unions), beyond(HoursYear.minutes, unions.c.target))
        .group_by(unions.c.grp))})


# ---- quarters, months and custom ranges ------------------------------------------------------------

def _ledger_workers(unions: CTE, start: date, end: date):
    per_person = (select(HoursEntry.user_id, HoursEntry.union_id).where(
        HoursEntry.earned_on >= start, HoursEntry.earned_on <= end)
        .group_by(HoursEntry.user_id, HoursEntry.union_id).having(func.sum(HoursEntry.minutes) > 0).subquery())
    return db.session.execute(
        select(unions.c.grp, func.count(func.distinct(per_person.c.user_id))).select_from(per_person)
        .join(unions, unions.c.union_id == per_person.c.union_id).group_by(unions.c.grp)).all()


def _members_from_memberships(unions: CTE, end: date):
    """Members at the end of the period, and those of them whose minutes in their union that year reach its
    target."""
    year_minutes = (select(HoursYear.user_id, HoursYear.union_id, HoursYear.minutes)
                    .where(HoursYear.year == end.year).subquery())
    meets = func.coalesce(year_minutes.c.minutes, 0) >= unions.c.target
    return db.session.execute(
        select(unions.c.grp, func.count(), func.count().filter(meets)).select_from(Membership)
        .join(unions, unions.c.union_id == Membership.union_id)
        .outerjoin(year_minutes, and_(year_minutes.c.user_id == Membership.user_id,
                                      year_minutes.c.union_id == Membership.union_id))
        .where(active_at(end)).group_by(unions.c.grp)).all()
