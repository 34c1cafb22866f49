"""Members per union and status, kept by the database itself.

The admin pages of a city with a million members cannot count a subtree's memberships on every
request. Triggers on ``membership`` append what each statement changed to ``union_member_delta``
(one row per union and status a statement touched: a COPY of a million rows in ``flask seed-scale``
adds a few dozen), in the same transaction as the rows, whatever wrote them: the ORM, a bulk
import, ``COPY`` or hand-written SQL. Appending takes no lock that another transaction waits for,
so approvals, imports and sign-ups in one union never queue behind a counter row (or deadlock on
one). The scheduler folds the deltas into ``union_member_count`` every minute (jobs.py), and into
``union_subtree_count``: each node's subtree (itself and every union below it) per status, so a node's
figures are its own few rows plus the deltas not folded yet (a minute's changes), whatever the size of
its subtree: the city's total reads one row per status, not one per union.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    DDL,
    CursorResult,
    ForeignKey,
    Index,
    ScalarSelect,
    Select,
    String,
    Subquery,
    delete,
    event,
    func,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from classroom.database import is_postgresql
from classroom.extensions import Model, db
from classroom.unions.models import Membership, TradeUnion

TREE_LOCK = 18_002  # PostgreSQL's advisory lock serializing a fold with a move of a node (``lock_tree``)


class UnionMemberCount(Model):
    """How many memberships of one union are in one status, up to the last fold of the deltas."""

    __tablename__ = "union_member_count"

    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    members: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    def __repr__(self) -> str:
        return f"<UnionMemberCount {self.union_id} {self.status} {self.members}>"


class UnionSubtreeCount(Model):
    """How many memberships of one node's subtree (the node and every union below it) are in one status, up
    to the last fold: the fold adds each union's deltas to every node on its path, and moving a node takes its
    subtree's figures off the nodes it left and onto the ones it joined (``moved``)."""

    __tablename__ = "union_subtree_count"

    union_id: Mapped[int] = mapped_column(ForeignKey("trade_union.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    members: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    def __repr__(self) -> str:
        return f"<UnionSubtreeCount {self.union_id} {self.status} {self.members}>"


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
# each delta counts in every node on its union's path ("/1/4/17/": the ids 1, 4 and 17)
_SUBTREE_FOLD = ("INSERT INTO union_subtree_count (union_id, status, members) "
                 "SELECT above.id, folded.status, sum(folded.delta) FROM {source} AS folded "
                 "JOIN trade_union AS below ON below.id = folded.union_id {above} "
                 "GROUP BY above.id, folded.status ORDER BY above.id, folded.status "
                 "ON CONFLICT (union_id, status) DO UPDATE "
                 "SET members = union_subtree_count.members + EXCLUDED.members")
# PostgreSQL: one statement moves exactly the deltas it deletes (appends committed meanwhile stay for next time).
PG_FOLD = ("WITH moved AS (DELETE FROM union_member_delta RETURNING union_id, status, delta), "  # noqa: S608 - constants
           "subtrees AS (" + _SUBTREE_FOLD.format(
               source="moved", above="CROSS JOIN LATERAL unnest(string_to_array(trim(BOTH '/' FROM below.path), '/')"
                                     "::integer[]) AS above(id)") + ") "
           + _FOLD.format(source="moved"))
SQLITE_FOLD = _FOLD.format(source="union_member_delta")  # with SQLITE_SUBTREE_FOLD, then the deltas are deleted
SQLITE_SUBTREE_FOLD = _SUBTREE_FOLD.format(
    source="union_member_delta",
    above="JOIN trade_union AS above ON substr(below.path, 1, length(above.path)) = above.path")

_DDL = [DDL(statement).execute_if(dialect="postgresql") for statement in PG_TRIGGERS] + [
    DDL(statement).execute_if(dialect="sqlite") for statement in SQLITE_TRIGGERS]


def attach_triggers() -> None:
    """create_all() (the tests' schema) makes the triggers too; the migration runs the same statements."""
    for ddl in _DDL:
        if not event.contains(Membership.__table__, "after_create", ddl):
            event.listen(Membership.__table__, "after_create", ddl)


def lock_tree(session: Any = None) -> None:
    """Hold off a fold (or a move) until this transaction ends: a fold reads the unions' paths and a move
    changes them, and each must see the other's work whole (PostgreSQL; SQLite has one writer)."""
    session = session or db.session
    if is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(TREE_LOCK)))


def fold(session: Any = None) -> int:
    """Move the appended deltas into the counts per union and per subtree (the scheduler, every minute; the
    scale seed after its copies; the caller commits); how many counts of a union and status they changed.
    ``session``: another than the app's (a migration's)."""
    session = session or db.session
    lock_tree(session)
    if is_postgresql(session):
        return max(cast(CursorResult[Any], session.execute(text(PG_FOLD))).rowcount or 0, 0)
    # SQLite has one writer: nothing can append between the statements
    session.execute(text(SQLITE_SUBTREE_FOLD))
    folded = cast(CursorResult[Any], session.execute(text(SQLITE_FOLD))).rowcount or 0
    session.execute(delete(UnionMemberDelta).execution_options(synchronize_session=False))
    return max(folded, 0)


def moved(union: TradeUnion, left: list[int], joined: list[int]) -> None:
    """After ``union`` moved (its subtree with it) from under the nodes ``left`` to under ``joined``: its
    subtree's folded figures come off the ones and onto the others, a few rows whatever the subtree's size.
    The deltas not folded yet follow the new path by themselves (a read and the fold join it). The caller
    took ``lock_tree`` before the move, so no fold runs in between."""
    totals = dict(db.session.execute(select(UnionSubtreeCount.status, UnionSubtreeCount.members)
                                     .where(UnionSubtreeCount.union_id == union.id)).all())
    if not totals or not (left or joined):
        return
    rows = {(row.union_id, row.status): row for row in db.session.scalars(
        select(UnionSubtreeCount).where(UnionSubtreeCount.union_id.in_(left + joined)))}
    for nodes, sign in ((left, -1), (joined, 1)):
        for node in nodes:
            for status, members in totals.items():
                row = rows.get((node, status))
                if row is None:
                    row = rows[(node, status)] = UnionSubtreeCount(union_id=node, status=status, members=0)
                    db.session.add(row)
                row.members += sign * members


def _kept() -> Subquery:
    """(union_id, status, members) rows: the folded counts and the deltas not folded yet."""
    return union_all(
        select(UnionMemberCount.union_id, UnionMemberCount.status, UnionMemberCount.members.label("members")),
        select(UnionMemberDelta.union_id, UnionMemberDelta.status, UnionMemberDelta.delta.label("members")),
    ).subquery("kept")


def _subtree_kept(union: TradeUnion) -> Subquery:
    """(status, members) rows whose sum per status is this node's subtree: its folded rows and the deltas not
    folded yet of its unions (the root's: all of them, no join)."""
    pending: Select = select(UnionMemberDelta.status, UnionMemberDelta.delta.label("members"))
    if union.parent_id is not None:
        pending = (pending.join(TradeUnion, TradeUnion.id == UnionMemberDelta.union_id)
                   .where(TradeUnion.path.startswith(union.path, autoescape=True)))
    return union_all(
        select(UnionSubtreeCount.status, UnionSubtreeCount.members).where(UnionSubtreeCount.union_id == union.id),
        pending,
    ).subquery("subtree")


def subtree_counts(union: TradeUnion) -> dict[str, int]:
    """Memberships per status in this node's subtree, from the counters (one small query)."""
    kept = _subtree_kept(union)
    rows = db.session.execute(select(kept.c.status, func.sum(kept.c.members)).group_by(kept.c.status)).all()
    return {status: int(count or 0) for status, count in rows}


def subtree_figure(union: TradeUnion, status: str) -> ScalarSelect[int]:
    """SQL: memberships in one status in this node's subtree, from the counters (a scalar subquery, so a
    page reads it with its other figures: ``classroom.figures.read_together``)."""
    kept = _subtree_kept(union)
    return select(func.coalesce(func.sum(kept.c.members), 0)).where(kept.c.status == status).scalar_subquery()


def per_union() -> Subquery:
    """A subquery of (union_id, status, members) with the current figures, for other reports to join."""
    kept = _kept()
    return (select(kept.c.union_id, kept.c.status, func.sum(kept.c.members).label("members"))
            .group_by(kept.c.union_id, kept.c.status).subquery("member_counts"))


def children_kept(union: TradeUnion) -> Subquery:
    """(union_id, status, members) rows whose sum per child and status is each child node's subtree: the
    children's folded subtree rows and the deltas not folded yet, each credited to the child above its union.
    Its size is the children's few rows plus a minute's deltas, whatever lies below them."""
    children = select(TradeUnion.id).where(TradeUnion.parent_id == union.id)
    child, below = aliased(TradeUnion), aliased(TradeUnion)
    return union_all(
        select(UnionSubtreeCount.union_id, UnionSubtreeCount.status, UnionSubtreeCount.members)
        .where(UnionSubtreeCount.union_id.in_(children)),
        select(child.id, UnionMemberDelta.status, UnionMemberDelta.delta)
        .join(below, below.id == UnionMemberDelta.union_id)
        .join(child, (child.parent_id == union.id) & below.path.startswith(child.path)),
    ).subquery("children_kept")

