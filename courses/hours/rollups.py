"""The ledger's rollups, kept in the ledger's own transaction: minutes per union and month (``HoursMonth``),
per person, year and union (``HoursYear``, with whether the person is a member there at the year's end and
whether they have rows of other unions that year), and per union and year the people with hours, those past
the union's annual target and those of them who are no members at the year's end (``HoursUnionYear``).

Memberships change whatever writes them (services, imports, COPY, SQL): triggers on ``membership`` keep
``HoursYear.member`` and the ``outside`` counts (PostgreSQL: per statement; SQLite: per row). A changed
annual target is recounted by ``retarget`` (a scheduled job); until then the report counts the rows of the
unions whose target moved itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    DDL,
    ColumnElement,
    CursorResult,
    ScalarSelect,
    and_,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from classroom.database import dialect_insert, is_postgresql
from classroom.extensions import Model, db
from classroom.timefmt import day_start
from classroom.unions.history import MEMBER_STATES
from classroom.unions.models import Membership, TradeUnion
from courses.hours.models import HoursMonth, HoursUnionYear, HoursYear

HOURS_LOCK = 20_001  # the advisory locks' first key for a person's credits (the second: the person's id)


def year_end(year: int) -> datetime:
    """The instant a calendar year ends: midnight starting the next, in the platform's zone."""
    return day_start(date(year + 1, 1, 1))


def member_of(user_id: Any, union_id: Any, ends_at: Any) -> ColumnElement[bool]:
    """SQL: whether the person is a member of the union at ``ends_at`` (started before it, not ended by then)."""
    return exists(select(Membership.id).where(
        Membership.user_id == user_id, Membership.union_id == union_id, Membership.status.in_(MEMBER_STATES),
        Membership.started_at < ends_at, or_(Membership.ended_at.is_(None), Membership.ended_at >= ends_at)))


def effective_target(union_id: Any) -> ScalarSelect[int | None]:
    """SQL: a union's annual target, its own or else the nearest one set above it (NULL: none)."""
    own = aliased(TradeUnion)
    return (select(TradeUnion.annual_target_minutes).select_from(own)
            .join(TradeUnion, own.path.startswith(TradeUnion.path))
            .where(own.id == union_id, TradeUnion.annual_target_minutes.is_not(None))
            .order_by(TradeUnion.depth.desc()).limit(1)
            .correlate_except(own, TradeUnion).scalar_subquery())  # whatever names union_id: from the query around


def beyond(minutes: Any, target: Any) -> ColumnElement[bool]:
    """SQL: whether ``minutes`` meet ``target`` differently from no minutes at all (target > 0: they reach
    it; target 0: they are below it); false when there is no target."""
    return or_((target > 0) & (minutes >= target), (target <= 0) & (minutes < target))


def roll_up(union_id: int, earned_on: date, source: str, category: str, minutes: int, user_id: int) -> None:
    """Add one entry's minutes to the month and year rollups and to its union's people in that year."""
    upsert = dialect_insert(db.session)
    month = upsert(HoursMonth).values(union_id=union_id, month=earned_on.replace(day=1), source=source,
                                      category=category, minutes=minutes, entries=1)
    db.session.execute(month.on_conflict_do_update(
        index_elements=["union_id", "month", "source", "category"],
        set_={"minutes": HoursMonth.minutes + month.excluded.minutes, "entries": HoursMonth.entries + 1}))
    ends_at = year_end(earned_on.year)
    year = upsert(HoursYear).values(user_id=user_id, year=earned_on.year, union_id=union_id, minutes=minutes,
                                    ends_at=ends_at, member=_is_member(user_id, union_id, ends_at))
    new, member = db.session.execute(year.on_conflict_do_update(
        index_elements=["user_id", "year", "union_id"], set_={"minutes": HoursYear.minutes + year.excluded.minutes})
        .returning(HoursYear.minutes, HoursYear.member)).one()
    if new == minutes:  # perhaps a new row: the person may have rows of other unions that year
        db.session.execute(update(HoursYear).where(
            HoursYear.user_id == user_id, HoursYear.year == earned_on.year, HoursYear.shared.is_(False),
            select(func.count()).select_from(HoursYear).where(  # "others": the same table, aliased in the subquery
                _other.user_id == user_id, _other.year == earned_on.year).scalar_subquery() > 1)
            .values(shared=True).execution_options(synchronize_session=False))
    if minutes:
        _count(union_id, earned_on.year, new - minutes, new, member=bool(member))


_other = aliased(HoursYear)


def _is_member(user_id: int, union_id: int, ends_at: datetime) -> bool:
    """Whether the person is a member of the union at ``ends_at``. Their credits run one at a time (PostgreSQL:
    an advisory lock), and their memberships of the union are locked for share, so a transfer committing
    meanwhile waits for this transaction and its trigger then sees the row this one writes."""
    if is_postgresql(db.session):
        db.session.execute(select(func.pg_advisory_xact_lock(HOURS_LOCK, user_id)))
    held = db.session.execute(select(Membership.status, Membership.started_at, Membership.ended_at).where(
        Membership.user_id == user_id, Membership.union_id == union_id).with_for_update(read=True)).all()
    return any(status in MEMBER_STATES and started is not None and started < ends_at
               and (ended is None or ended >= ends_at) for status, started, ended in held)


def _count(union_id: int, year: int, old: int, new: int, *, member: bool) -> None:
    """A person's minutes in the union and year went from ``old`` to ``new``: its people move with them."""
    target = HoursUnionYear.target
    moved = case((target.is_(None), 0), else_=case((beyond(literal(new), target), 1), else_=0)
                 - case((beyond(literal(old), target), 1), else_=0))
    counted = (update(HoursUnionYear)
               .where(HoursUnionYear.union_id == union_id, HoursUnionYear.year == year)
               .values(minutes=HoursUnionYear.minutes + (new - old),
                       workers=HoursUnionYear.workers + (int(new > 0) - int(old > 0)),
                       beyond=HoursUnionYear.beyond + moved,
                       outside=HoursUnionYear.outside + (0 if member else moved))
               .execution_options(synchronize_session=False))
    if _changed(counted):
        return
    db.session.execute(dialect_insert(db.session)(HoursUnionYear).values(
        union_id=union_id, year=year, minutes=0, workers=0, beyond=0, outside=0,
        target=effective_target(union_id))
        .on_conflict_do_nothing(index_elements=["union_id", "year"]))
    db.session.execute(counted)


def _changed(statement: Any, session: Any = None) -> int:
    return cast(CursorResult[Any], (session or db.session).execute(statement)).rowcount


def retarget(session: Any = None) -> int:
    """Recount the people past the target of every union whose effective target changed since its rows were
    counted (the caller commits); how many union-years were recounted. On PostgreSQL the table is locked
    against credits meanwhile (a few seconds for a whole city), so that none is lost between the count and
    the write."""
    session = session or db.session
    target = effective_target(HoursUnionYear.union_id)
    stale = HoursUnionYear.target.is_distinct_from(target)
    if session.scalar(select(HoursUnionYear.union_id).where(stale).limit(1)) is None:
        return 0
    if is_postgresql(session):
        session.execute(text("LOCK TABLE hours_union_year IN SHARE ROW EXCLUSIVE MODE"))
    rows = (HoursYear.union_id == HoursUnionYear.union_id) & (HoursYear.year == HoursUnionYear.year) \
        & beyond(HoursYear.minutes, target)
    people = select(func.count()).select_from(HoursYear).where(rows).scalar_subquery()
    outside = select(func.count()).select_from(HoursYear).where(rows, HoursYear.member.is_(False)).scalar_subquery()
    return _changed(update(HoursUnionYear).where(stale).values(target=target, beyond=people, outside=outside)
                    .execution_options(synchronize_session=False), session)


def rebuild(*, flags: bool = True, session: Any = None) -> None:
    """Rebuild the people per union and year from the year rollup, and (``flags``) its member and shared marks
    from the memberships and the rows (the migration, seed-scale; the caller commits). ``session``: another
    than the app's."""
    session = session or db.session
    if flags:
        session.execute(update(HoursYear).values(
            member=member_of(HoursYear.user_id, HoursYear.union_id, HoursYear.ends_at), shared=_shared())
            .execution_options(synchronize_session=False))
    session.execute(delete(HoursUnionYear).execution_options(synchronize_session=False))
    session.execute(insert(HoursUnionYear).from_select(
        ["union_id", "year", "minutes", "workers", "beyond", "outside"],
        select(HoursYear.union_id, HoursYear.year, func.sum(HoursYear.minutes),
               func.count().filter(HoursYear.minutes > 0), literal(0), literal(0))
        .group_by(HoursYear.union_id, HoursYear.year)))
    retarget(session)


def _shared() -> ColumnElement[bool]:
    return select(func.count()).select_from(_other).where(
        _other.user_id == HoursYear.user_id, _other.year == HoursYear.year).scalar_subquery() > 1


def mismatches() -> list[str]:
    """What the member and shared marks and the people per union and year say that the memberships and the
    rows do not (people past the target as counted by the target the rollup holds: a target changed since is
    ``retarget``'s)."""
    member, shared = member_of(HoursYear.user_id, HoursYear.union_id, HoursYear.ends_at), _shared()
    found = [f"year rollup of user {user}, {year}, union {union}: marked member {marked_member}, shared "
             f"{marked_shared}; the rows say {is_member}, {is_shared}"
             for user, year, union, marked_member, marked_shared, is_member, is_shared in db.session.execute(
                 select(HoursYear.user_id, HoursYear.year, HoursYear.union_id, HoursYear.member, HoursYear.shared,
                        member, shared)
                 .where(or_(HoursYear.member.is_distinct_from(member), HoursYear.shared.is_distinct_from(shared))))]
    kept = {(row.union_id, row.year): (row.minutes, row.workers, row.beyond, row.outside)
            for row in db.session.scalars(select(HoursUnionYear))}
    past = beyond(HoursYear.minutes, HoursUnionYear.target)  # by the target the rollup was counted with
    counted = {(union_id, year): tuple(map(int, figures)) for union_id, year, *figures in db.session.execute(
        select(HoursYear.union_id, HoursYear.year, func.sum(HoursYear.minutes),
               func.count().filter(HoursYear.minutes > 0), func.count().filter(past),
               func.count().filter(past & HoursYear.member.is_(False)))
        .outerjoin(HoursUnionYear, and_(HoursUnionYear.union_id == HoursYear.union_id,
                                        HoursUnionYear.year == HoursYear.year))
        .group_by(HoursYear.union_id, HoursYear.year))}
    for key in sorted(set(kept) | set(counted)):
        if kept.get(key, (0, 0, 0, 0)) != counted.get(key, (0, 0, 0, 0)):
            found.append(f"union {key[0]} in {key[1]} (minutes, people with hours, past the target, of them no "
                         f"members): rows {counted.get(key, (0, 0, 0, 0))}, rollup {kept.get(key, (0, 0, 0, 0))}")
    return found


_STATES = ", ".join(f"'{state.value}'" for state in MEMBER_STATES)
MEMBER_SQL = ("EXISTS (SELECT 1 FROM membership m WHERE m.user_id = {row}.user_id AND m.union_id = {row}.union_id "  # noqa: S608
              f"AND m.status IN ({_STATES}) AND m.started_at < {{row}}.ends_at "
              "AND (m.ended_at IS NULL OR m.ended_at >= {row}.ends_at))")
_PAST = "(({c}.target > 0 AND {h}.minutes >= {c}.target) OR ({c}.target <= 0 AND {h}.minutes < {c}.target))"
# PostgreSQL: the rows of the people whose memberships a statement changed get their member mark again; the
# union-years whose rows changed mark have their people outside moved by those past the target.
_PG_MARK = (f"WITH people AS ({{people}}), flipped AS (UPDATE hours_year h SET member = {MEMBER_SQL.format(row='h')} "  # noqa: S608
            f"FROM people p WHERE h.user_id = p.user_id AND h.union_id = p.union_id "
            f"AND h.member IS DISTINCT FROM {MEMBER_SQL.format(row='h')} "
            "RETURNING h.union_id, h.year, h.minutes, h.member) "
            "UPDATE hours_union_year c SET outside = c.outside + d.delta FROM ("
            "SELECT f.union_id, f.year, sum(CASE WHEN f.member THEN -1 ELSE 1 END) AS delta FROM flipped f "
            "JOIN hours_union_year t ON t.union_id = f.union_id AND t.year = f.year "
            f"WHERE {_PAST.format(c='t', h='f')} GROUP BY f.union_id, f.year) AS d "
            "WHERE c.union_id = d.union_id AND c.year = d.year;")
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION hours_year_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_PG_MARK.format(people="SELECT DISTINCT user_id, union_id FROM new_rows")}
  ELSIF TG_OP = 'DELETE' THEN
    {_PG_MARK.format(people="SELECT DISTINCT user_id, union_id FROM old_rows")}
  ELSE
    {_PG_MARK.format(people="SELECT user_id, union_id FROM new_rows UNION SELECT user_id, union_id FROM old_rows")}
  END IF;
  RETURN NULL;
END $$;
"""  # noqa: S608 - constants
PG_TRIGGERS = [
    _PG_FUNCTION,
    "CREATE TRIGGER hours_year_membership_insert AFTER INSERT ON membership REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hours_year_membership()",
    "CREATE TRIGGER hours_year_membership_update AFTER UPDATE ON membership REFERENCING OLD TABLE AS old_rows "
    "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hours_year_membership()",
    "CREATE TRIGGER hours_year_membership_delete AFTER DELETE ON membership REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION hours_year_membership()",
]
# SQLite, per row: first the union-years' people outside (from the marks before), then the marks.
_SQLITE_MARK = (
    "UPDATE hours_union_year SET outside = outside + (SELECT coalesce(sum(CASE WHEN h.member THEN 1 ELSE -1 END), 0) "  # noqa: S608 - constants
    "FROM hours_year h WHERE h.union_id = hours_union_year.union_id AND h.year = hours_union_year.year "
    f"AND ({{people}}) AND h.member IS NOT {MEMBER_SQL.format(row='h')} "
    f"AND {_PAST.format(c='hours_union_year', h='h')}) WHERE union_id IN ({{unions}}); "
    f"UPDATE hours_year SET member = {MEMBER_SQL.format(row='hours_year')} WHERE {{rows}};")


def _sqlite_mark(*sides: str) -> str:
    people = " OR ".join(f"(h.user_id = {side}.user_id AND h.union_id = {side}.union_id)" for side in sides)
    rows = " OR ".join(f"(user_id = {side}.user_id AND union_id = {side}.union_id)" for side in sides)
    return _SQLITE_MARK.format(people=people, unions=", ".join(f"{side}.union_id" for side in sides), rows=rows)


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER hours_year_membership_insert AFTER INSERT ON membership BEGIN {_sqlite_mark('NEW')} END",
    "CREATE TRIGGER hours_year_membership_update AFTER UPDATE OF user_id, union_id, status, started_at, ended_at "
    f"ON membership BEGIN {_sqlite_mark('NEW', 'OLD')} END",
    f"CREATE TRIGGER hours_year_membership_delete AFTER DELETE ON membership BEGIN {_sqlite_mark('OLD')} END",
]
DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS hours_year_membership_insert ON membership",
                   "DROP TRIGGER IF EXISTS hours_year_membership_update ON membership",
                   "DROP TRIGGER IF EXISTS hours_year_membership_delete ON membership",
                   "DROP FUNCTION IF EXISTS hours_year_membership()"],
    "sqlite": ["DROP TRIGGER IF EXISTS hours_year_membership_insert",
               "DROP TRIGGER IF EXISTS hours_year_membership_update",
               "DROP TRIGGER IF EXISTS hours_year_membership_delete"],
}
_DDL = [DDL(statement).execute_if(dialect="postgresql") for statement in PG_TRIGGERS] + [
    DDL(statement).execute_if(dialect="sqlite") for statement in SQLITE_TRIGGERS]


def attach_triggers() -> None:
    """create_all() (the tests' schema) makes the triggers once every table exists; the migration runs the same
    statements."""
    for ddl in _DDL:
        if not event.contains(Model.metadata, "after_create", ddl):
            event.listen(Model.metadata, "after_create", ddl)
