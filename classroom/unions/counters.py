"""Members per union and status, kept by the database itself.

The admin pages of a city with a million members cannot count a subtree's memberships on every
request. Triggers on ``membership`` append what each statement changed to ``union_member_delta``
(one row per union and status a statement touched: a COPY of a million rows in ``flask seed-scale``
adds a few dozen), in the same transaction as the rows, whatever wrote them: the ORM, a bulk
import, ``COPY`` or hand-written SQL. Appending takes no lock that another transaction waits for,
so approvals, imports and sign-ups in one union never queue behind a counter row (or deadlock on
one). The scheduler folds the deltas into ``union_member_count`` every minute (jobs.py); a figure is the sum
of both, over the subtree's unions (a few thousand rows at most).
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    ForeignKey,
    Index,
    ScalarSelect,
    String,
    Subquery,
    delete,
    event,
    func,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, mapped_column

from classroom.extensions import Model, db
from classroom.unions.models import Membership, TradeUnion


class UnionMemberCount(Model):
    """How many memberships of one union are in one status, up to the last fold of the deltas."""

    __tablename__ = "union_member_count"

    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    members: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    def __repr__(self) -> str:
        return f"<UnionMemberCount {self.union_id} {self.status} {self.members}>"


class UnionMemberDelta(Model):
    """A change to a union's count in one status, appended by the membership triggers."""

    __tablename__ = "union_member_delta"
    __table_args__ = (Index("ix_union_member_delta_union", "union_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    union_id: Mapped[int]  # no foreign key: an append must never wait on the union's row
    status: Mapped[str] = mapped_column(String(12))
    delta: Mapped[int]

    def __repr__(self) -> str:
        return f"<UnionMemberDelta {self.union_id} {self.status} {self.delta:+d}>"


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION union_member_delta_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO union_member_delta (union_id, status, delta)
      SELECT union_id, status, count(*) FROM new_rows GROUP BY union_id, status;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO union_member_delta (union_id, status, delta)
      SELECT union_id, status, -count(*) FROM old_rows GROUP BY union_id, status;
  ELSE
    INSERT INTO union_member_delta (union_id, status, delta)
      SELECT union_id, status, sum(n) FROM (
        SELECT cur.union_id, cur.status, 1 AS n FROM new_rows cur JOIN old_rows prev ON prev.id = cur.id
          WHERE prev.status <> cur.status OR prev.union_id <> cur.union_id
        UNION ALL
        SELECT prev.union_id, prev.status, -1 FROM new_rows cur JOIN old_rows prev ON prev.id = cur.id
          WHERE prev.status <> cur.status OR prev.union_id <> cur.union_id) AS moves
      GROUP BY union_id, status HAVING sum(n) <> 0;
  END IF;
  RETURN NULL;
END $$;
"""
PG_TRIGGERS = [
    _PG_FUNCTION,
    "CREATE TRIGGER membership_count_insert AFTER INSERT ON membership REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_delta_append()",
    "CREATE TRIGGER membership_count_update AFTER UPDATE ON membership "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_delta_append()",
    "CREATE TRIGGER membership_count_delete AFTER DELETE ON membership REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION union_member_delta_append()",
]
_SQLITE_APPEND = "INSERT INTO union_member_delta (union_id, status, delta) VALUES ({row}.union_id, {row}.status, {n});"
SQLITE_TRIGGERS = [
    "CREATE TRIGGER membership_count_insert AFTER INSERT ON membership BEGIN "
    + _SQLITE_APPEND.format(row="NEW", n=1) + " END",
    "CREATE TRIGGER membership_count_update AFTER UPDATE OF status, union_id ON membership "
    "WHEN OLD.status IS NOT NEW.status OR OLD.union_id IS NOT NEW.union_id BEGIN "
    + _SQLITE_APPEND.format(row="OLD", n=-1) + " " + _SQLITE_APPEND.format(row="NEW", n=1) + " END",
    "CREATE TRIGGER membership_count_delete AFTER DELETE ON membership BEGIN "
    + _SQLITE_APPEND.format(row="OLD", n=-1) + " END",
]
DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS membership_count_insert ON membership",
                   "DROP TRIGGER IF EXISTS membership_count_update ON membership",
                   "DROP TRIGGER IF EXISTS membership_count_delete ON membership",
                   "DROP FUNCTION IF EXISTS union_member_delta_append()"],
    "sqlite": ["DROP TRIGGER IF EXISTS membership_count_insert", "DROP TRIGGER IF EXISTS membership_count_update",
               "DROP TRIGGER IF EXISTS membership_count_delete"],
}
RECOUNT = ("INSERT INTO union_member_count (union_id, status, members) "
           "SELECT union_id, status, count(*) FROM membership GROUP BY union_id, status")
_FOLD = ("INSERT INTO union_member_count (union_id, status, members) SELECT union_id, status, sum(delta) FROM {source} "
         "GROUP BY union_id, status ORDER BY union_id, status "
         "ON CONFLICT (union_id, status) DO UPDATE SET members = union_member_count.members + EXCLUDED.members")
# PostgreSQL: one statement moves exactly the deltas it deletes (appends committed meanwhile stay for next time).
PG_FOLD = ("WITH moved AS (DELETE FROM union_member_delta RETURNING union_id, status, delta) "  # noqa: S608 - constants
           + _FOLD.format(source="moved"))
SQLITE_FOLD = _FOLD.format(source="union_member_delta")  # then the deltas are deleted (jobs.fold)

_DDL = [DDL(statement).execute_if(dialect="postgresql") for statement in PG_TRIGGERS] + [
    DDL(statement).execute_if(dialect="sqlite") for statement in SQLITE_TRIGGERS]


def attach_triggers() -> None:
    """create_all() (the tests' schema) makes the triggers too; the migration runs the same statements."""
    for ddl in _DDL:
        if not event.contains(Membership.__table__, "after_create", ddl):
            event.listen(Membership.__table__, "after_create", ddl)


def _kept() -> Subquery:
    """(union_id, status, members) rows: the folded counts and the deltas not folded yet."""
    return union_all(
        select(UnionMemberCount.union_id, UnionMemberCount.status, UnionMemberCount.members.label("members")),
        select(UnionMemberDelta.union_id, UnionMemberDelta.status, UnionMemberDelta.delta.label("members")),
    ).subquery("kept")


def subtree_counts(union: TradeUnion) -> dict[str, int]:
    """Memberships per status in this node's subtree, from the counters (one small query)."""
    kept = _kept()
    rows = db.session.execute(
        select(kept.c.status, func.sum(kept.c.members))
        .join(TradeUnion, TradeUnion.id == kept.c.union_id)
        .where(TradeUnion.path.startswith(union.path, autoescape=True))
        .group_by(kept.c.status)
    ).all()
    return {status: int(count or 0) for status, count in rows}


def subtree_figure(union: TradeUnion, status: str) -> ScalarSelect[int]:
    """SQL: memberships in one status in this node's subtree, from the counters (a scalar subquery, so a
    page reads it with its other figures: ``classroom.figures.read_together``)."""
    kept = _kept()
    return (select(func.coalesce(func.sum(kept.c.members), 0))
            .join(TradeUnion, TradeUnion.id == kept.c.union_id)
            .where(TradeUnion.path.startswith(union.path, autoescape=True), kept.c.status == status)
            .scalar_subquery())


def per_union() -> Subquery:
    """A subquery of (union_id, status, members) with the current figures, for other reports to join."""
    kept = _kept()
    return (select(kept.c.union_id, kept.c.status, func.sum(kept.c.members).label("members"))
            .group_by(kept.c.union_id, kept.c.status).subquery("member_counts"))


def recount() -> None:
    """Rebuild the counters from the memberships (``flask unions recount``)."""
    db.session.execute(delete(UnionMemberDelta).execution_options(synchronize_session=False))
    db.session.execute(delete(UnionMemberCount).execution_options(synchronize_session=False))
    db.session.execute(text(RECOUNT))


def mismatches() -> dict[tuple[int, str], tuple[int, int]]:
    """{(union, status): (memberships, counter)} wherever the counters disagree with the rows."""
    actual = {(row.union_id, row.status): row.n for row in db.session.execute(
        select(Membership.union_id, Membership.status, func.count().label("n"))
        .group_by(Membership.union_id, Membership.status))}
    current = per_union()
    kept = {(row.union_id, row.status): row.members for row in db.session.execute(select(current))}
    return {key: (actual.get(key, 0), kept.get(key, 0)) for key in set(actual) | set(kept)
            if actual.get(key, 0) != kept.get(key, 0)}
