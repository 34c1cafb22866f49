"""Members of each union at the end of any month, kept by the database itself.

A membership is a member from its start (``started_at``) until its end (``ended_at``) when it is active,
transferred or lapsed (an application or a rejection never is). Triggers on ``membership`` append what each
statement changed to ``union_member_change`` (+1 at a start, −1 at an end, per union and instant), in the
same transaction as the rows and whatever wrote them: the services, a member import, ``COPY`` in
``flask seed-scale`` or hand-written SQL. Appending takes no lock another transaction waits for (as the
member counters, ``counters.py``). The scheduler folds the changes into ``union_member_month`` by the
platform's local month, and into ``union_member_total``, with the counters' deltas. Members at the end of a
month are the folded total less the months after it, plus the changes not folded yet that came before the
month ended: a few rows per union, never the memberships.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    DDL,
    CursorResult,
    Date,
    Index,
    Subquery,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, mapped_column

from classroom.database import dialect_insert, is_postgresql
from classroom.extensions import Model, db
from classroom.timefmt import day_start, local_date, platform_zone
from classroom.unions.models import Membership, MembershipStatus

ONE_DAY = timedelta(days=1)
MEMBER_STATES = (MembershipStatus.ACTIVE, MembershipStatus.TRANSFERRED, MembershipStatus.LAPSED)


class UnionMemberChange(Model):
    """A change to a union's members at one instant, appended by the membership triggers."""

    __tablename__ = "union_member_change"
    __table_args__ = (Index("ix_union_member_change_changed", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int]  # no foreign key: an append must never wait on the union's row
    changed_at: Mapped[datetime]
    delta: Mapped[int]

    def __repr__(self) -> str:
        return f"<UnionMemberChange {self.union_id} {self.changed_at} {self.delta:+d}>"


class UnionMemberMonth(Model):
    """The net change of a union's members during one local month, up to the last fold."""

    __tablename__ = "union_member_month"
    __table_args__ = (Index("ix_union_member_month_month", "month"),)

    union_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    delta: Mapped[int]

    def __repr__(self) -> str:
        return f"<UnionMemberMonth {self.union_id} {self.month} {self.delta:+d}>"


class UnionMemberTotal(Model):
    """A union's members by every change folded so far (its months together): the end of a recent month is
    this less the few months after it, without reading the union's whole history."""

    __tablename__ = "union_member_total"

    union_id: Mapped[int] = mapped_column(primary_key=True)
    members: Mapped[int]

    def __repr__(self) -> str:
        return f"<UnionMemberTotal {self.union_id} {self.members}>"


_STATES = ", ".join(f"'{state.value}'" for state in MEMBER_STATES)
_COUNTS = "{row}.started_at IS NOT NULL AND {row}.status IN (" + _STATES + ")"


def _pg_changes(row: str, rows: str, sign: int, where: str = "") -> str:
    """The changes one side of a statement's rows make (sign −1: the old rows', undone)."""
    counts = _COUNTS.format(row=row) + where
    return (f"SELECT {row}.union_id, {row}.started_at AS changed_at, {sign} AS delta "  # noqa: S608 - constants
            f"FROM {rows} WHERE {counts} UNION ALL "
            f"SELECT {row}.union_id, {row}.ended_at, {-sign} FROM {rows} WHERE {counts} AND {row}.ended_at IS NOT NULL")


_MOVED = ("(cur.status, cur.union_id, cur.started_at, cur.ended_at) IS DISTINCT FROM "
          "(prev.status, prev.union_id, prev.started_at, prev.ended_at)")
_PAIRS = "new_rows cur JOIN old_rows prev ON prev.id = cur.id"
_APPEND = ("INSERT INTO union_member_change (union_id, changed_at, delta) SELECT union_id, changed_at, sum(delta) "
           "FROM ({changes}) AS changes GROUP BY union_id, changed_at HAVING sum(delta) <> 0;")
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION union_member_change_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_APPEND.format(changes=_pg_changes("new_rows", "new_rows", 1))}
  ELSIF TG_OP = 'DELETE' THEN
    {_APPEND.format(changes=_pg_changes("old_rows", "old_rows", -1))}
  ELSE
    {_APPEND.format(changes=_pg_changes("cur", _PAIRS, 1, f" AND {_MOVED}") + " UNION ALL "
                    + _pg_changes("prev", _PAIRS, -1, f" AND {_MOVED}"))}
  END IF;
  RETURN NULL;
END $$;
"""
PG_TRIGGERS = [
    _PG_FUNCTION,
    "CREATE TRIGGER membership_history_insert AFTER INSERT ON membership REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_change_append()",
    "CREATE TRIGGER membership_history_update AFTER UPDATE ON membership "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_change_append()",
    "CREATE TRIGGER membership_history_delete AFTER DELETE ON membership REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_change_append()",
]


def _sqlite_changes(row: str, sign: int) -> str:
    counts = _COUNTS.format(row=row)
    into = "INSERT INTO union_member_change (union_id, changed_at, delta)"
    return (f"{into} SELECT {row}.union_id, {row}.started_at, {sign} WHERE {counts}; "
            f"{into} SELECT {row}.union_id, {row}.ended_at, {-sign} WHERE {counts} AND {row}.ended_at IS NOT NULL;")


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER membership_history_insert AFTER INSERT ON membership BEGIN {_sqlite_changes('NEW', 1)} END",
    "CREATE TRIGGER membership_history_update AFTER UPDATE OF status, union_id, started_at, ended_at ON membership "
    f"BEGIN {_sqlite_changes('OLD', -1)} {_sqlite_changes('NEW', 1)} END",
    f"CREATE TRIGGER membership_history_delete AFTER DELETE ON membership BEGIN {_sqlite_changes('OLD', -1)} END",
]
DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS membership_history_insert ON membership",
                   "DROP TRIGGER IF EXISTS membership_history_update ON membership",
                   "DROP TRIGGER IF EXISTS membership_history_delete ON membership",
                   "DROP FUNCTION IF EXISTS union_member_change_append()"],
    "sqlite": ["DROP TRIGGER IF EXISTS membership_history_insert", "DROP TRIGGER IF EXISTS membership_history_update",
               "DROP TRIGGER IF EXISTS membership_history_delete"],
}
_DDL = [DDL(statement).execute_if(dialect="postgresql") for statement in PG_TRIGGERS] + [
    DDL(statement).execute_if(dialect="sqlite") for statement in SQLITE_TRIGGERS]

# PostgreSQL: one statement moves exactly the changes it deletes (appends committed meanwhile stay for next time).
PG_FOLD = ("WITH moved AS (DELETE FROM union_member_change RETURNING union_id, changed_at, delta), "
           "months AS (INSERT INTO union_member_month (union_id, month, delta) "
           "SELECT union_id, date_trunc('month', changed_at AT TIME ZONE :zone)::date, sum(delta) FROM moved "
           "GROUP BY 1, 2 ORDER BY 1, 2 "
           "ON CONFLICT (union_id, month) DO UPDATE SET delta = union_member_month.delta + EXCLUDED.delta) "
           "INSERT INTO union_member_total (union_id, members) SELECT union_id, sum(delta) FROM moved "
           "GROUP BY 1 ORDER BY 1 "
           "ON CONFLICT (union_id) DO UPDATE SET members = union_member_total.members + EXCLUDED.members")


def attach_triggers() -> None:
    """create_all() (the tests' schema) makes the triggers too; the migration runs the same statements."""
    for ddl in _DDL:
        if not event.contains(Membership.__table__, "after_create", ddl):
            event.listen(Membership.__table__, "after_create", ddl)


def fold(session: Any = None) -> int:
    """Fold the appended changes into the months and the totals (the caller commits); how many unions they
    changed. ``session``: another than the app's (a migration's)."""
    session = session or db.session
    if is_postgresql(session):
        result = session.execute(text(PG_FOLD), {"zone": platform_zone().key})
        return max(cast(CursorResult[Any], result).rowcount or 0, 0)
    # SQLite has one writer: nothing can append between the read and the delete
    changes = session.execute(
        select(UnionMemberChange.union_id, UnionMemberChange.changed_at, UnionMemberChange.delta)).all()
    months: Counter[tuple[int, date]] = Counter()
    totals: Counter[int] = Counter()
    for union_id, changed_at, delta in changes:
        months[(union_id, local_date(changed_at).replace(day=1))] += delta
        totals[union_id] += delta
    if months:
        upsert = dialect_insert(session)(UnionMemberMonth)
        session.execute(upsert.on_conflict_do_update(
            index_elements=["union_id", "month"], set_={"delta": UnionMemberMonth.delta + upsert.excluded.delta}),
            [{"union_id": union_id, "month": month, "delta": delta} for (union_id, month), delta in months.items()])
        total = dialect_insert(session)(UnionMemberTotal)
        session.execute(total.on_conflict_do_update(
            index_elements=["union_id"], set_={"members": UnionMemberTotal.members + total.excluded.members}),
            [{"union_id": union_id, "members": members} for union_id, members in totals.items()])
    session.execute(delete(UnionMemberChange).execution_options(synchronize_session=False))
    return len(totals)


def members_at_month_end(month_end: date) -> Subquery:
    """A subquery of (union_id, members) rows whose sum per union is its members at the end of the local
    month ending on ``month_end``: the folded total less the months after it, and the changes not folded yet
    that came before it ended (this year's reports read one row per union, and the changes of a minute)."""
    if (month_end + ONE_DAY).day != 1:
        raise ValueError(f"{month_end} is not the last day of a month")
    return union_all(
        select(UnionMemberTotal.union_id, UnionMemberTotal.members),
        select(UnionMemberMonth.union_id, (-UnionMemberMonth.delta).label("members"))
        .where(UnionMemberMonth.month > month_end.replace(day=1)),
        select(UnionMemberChange.union_id, UnionMemberChange.delta.label("members"))
        .where(UnionMemberChange.changed_at < day_start(month_end + ONE_DAY)),
    ).subquery("member_months")


def rebuild(session: Any = None) -> None:
    """Rebuild the months from the memberships (the migration; ``flask unions recount``); the caller commits."""
    session = session or db.session
    session.execute(delete(UnionMemberChange).execution_options(synchronize_session=False))
    session.execute(delete(UnionMemberMonth).execution_options(synchronize_session=False))
    session.execute(delete(UnionMemberTotal).execution_options(synchronize_session=False))
    member = Membership.started_at.is_not(None) & Membership.status.in_(MEMBER_STATES)
    for moment, sign in ((Membership.started_at, 1), (Membership.ended_at, -1)):
        session.execute(insert(UnionMemberChange).from_select(
            ["union_id", "changed_at", "delta"],
            select(Membership.union_id, moment, literal(sign)).where(member, moment.is_not(None))))
    fold(session)


def mismatches() -> dict[tuple[int, date], tuple[int, int]]:
    """{(union, first day of a month): (memberships, months)} wherever the members at the end of a month
    disagree (the months with changes, and this one)."""
    months = set(db.session.scalars(select(UnionMemberMonth.month).distinct()))
    months |= {local_date(moment).replace(day=1) for moment in db.session.scalars(select(UnionMemberChange.changed_at))}
    months.add(local_date(datetime.now(UTC)).replace(day=1))
    found = {}
    for month in sorted(months):
        end = (month + timedelta(days=32)).replace(day=1) - ONE_DAY
        rollup = members_at_month_end(end)
        kept = dict(db.session.execute(
            select(rollup.c.union_id, func.sum(rollup.c.members)).group_by(rollup.c.union_id)).all())
        ends = day_start(end + ONE_DAY)
        actual = dict(db.session.execute(
            select(Membership.union_id, func.count()).where(
                Membership.status.in_(MEMBER_STATES), Membership.started_at < ends,
                (Membership.ended_at.is_(None)) | (Membership.ended_at >= ends)).group_by(Membership.union_id)).all())
        for union_id in set(kept) | set(actual):
            if int(kept.get(union_id) or 0) != int(actual.get(union_id) or 0):
                found[(union_id, month)] = (int(actual.get(union_id) or 0), int(kept.get(union_id) or 0))
    return found
