"""The union hours report's figures as the ledger and the memberships say them, counted in Python row by row
(no rollup), to hold the report's rollup-derived figures against."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from classroom.extensions import db
from classroom.unions.models import Membership, TradeUnion
from courses.hours import reports
from courses.hours.models import HoursEntry

ZONE = ZoneInfo("Asia/Shanghai")
MEMBER_STATES = {"active", "transferred", "lapsed"}


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


def truth(node: TradeUnion, start: date, end: date) -> dict:
    """{child id or "total": (minutes, workers, members, members meeting the target)} for the period."""
    unions = {union.id: union for union in db.session.scalars(select(TradeUnion))}
    children = [union for union in unions.values() if union.parent_id == node.id]

    def group(union_id):
        path = unions[union_id].path if union_id in unions else None
        if path is None or not path.startswith(node.path):
            return "outside"
        return next((child.id for child in children if path.startswith(child.path)), None)

    def target(union_id):
        for ancestor in reversed(unions[union_id].ancestor_ids()):
            if unions[ancestor].annual_target_minutes is not None:
                return unions[ancestor].annual_target_minutes
        return None

    period, year = Counter(), Counter()  # (person, union) → minutes in the period / in the period's last year
    for entry in db.session.scalars(select(HoursEntry)):
        if entry.union_id is not None and start <= entry.earned_on <= end:
            period[(entry.user_id, entry.union_id)] += entry.minutes
        if entry.union_id is not None and entry.earned_on.year == end.year:
            year[(entry.user_id, entry.union_id)] += entry.minutes
    ends = local_midnight(end + timedelta(days=1))
    members = [m for m in db.session.scalars(select(Membership)) if m.status in MEMBER_STATES and m.started_at
               and m.started_at < ends and (m.ended_at is None or m.ended_at >= ends)]
    keys = [child.id for child in children] or [None]
    found = {}
    for key in keys:
        minutes = sum(value for (_user, union), value in period.items() if group(union) == key)
        workers = {user for (user, union), value in period.items() if value > 0 and group(union) == key}
        in_group = [m for m in members if group(m.union_id) == key]
        meeting = [m for m in in_group if target(m.union_id) is not None
                   and year[(m.user_id, m.union_id)] >= target(m.union_id)]
        found[key] = (minutes, len(workers), len(in_group), len(meeting))
    everyone = {user for (user, union), value in period.items() if value > 0 and group(union) != "outside"}
    found["total"] = (sum(row[0] for row in found.values()), len(everyone),
                      sum(row[2] for row in found.values()), sum(row[3] for row in found.values()))
    if not children:
        found = {"total": found[None]}
    return found


def shown(node: TradeUnion, period: reports.Period) -> dict:
    """The same figures as the report computes them."""
    total, rows = reports.union_breakdown(node, period)
    found = {row.key: (row.minutes, row.workers, row.members, row.meeting_target) for row in rows}
    found["total"] = (total.minutes, total.workers, total.members, total.meeting_target)
    return found


def periods(year: int) -> list[reports.Period]:
    """The year, its quarters and two of its months, last year, and a custom range across the new year."""
    return ([reports.period_from("year", year), reports.period_from("year", year - 1)]
            + [reports.period_from("quarter", year, part) for part in (1, 2, 3, 4)]
            + [reports.period_from("month", year, part) for part in (1, 5)]
            + [reports.period_from("custom", year, start=date(year - 1, 12, 15), end=date(year, 2, 10))])


def differences(nodes: list[TradeUnion], year: int) -> dict:
    """{(node, period): (report, truth)} wherever the report says otherwise than the ledger and memberships."""
    found = {}
    for node in nodes:
        for period in periods(year):
            expected, got = truth(node, period.start, period.end), shown(node, period)
            if got != expected:
                found[(node.name, period.label)] = (got, expected)
    db.session.rollback()
    return found
