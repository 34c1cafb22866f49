"""Quota places per nominating union and the overall cap per event, taken race-free.

Both are one atomic conditional UPDATE (``… SET taken = taken + 1 WHERE taken < limit``): on
PostgreSQL the row lock the UPDATE takes makes concurrent approvals queue, and each re-checks the
condition against the committed count, so none passes the limit; on SQLite the writer holds the
database (``begin_write``). A rejection or withdrawal gives the place back the same way.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, Executable, or_, select, update

from classroom.database import dialect_insert
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.competitions.models import CompetitionEvent, Quota


def quota_union_id(path: str, depth: int) -> int:
    """The node at tree depth ``depth`` on this path (the node itself when it lies higher)."""
    ids = [int(part) for part in path.strip("/").split("/") if part]
    return ids[min(depth, len(ids) - 1)]


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE and say how many rows it changed."""
    return cast(CursorResult, db.session.execute(statement)).rowcount


def _ensure_row(event_id: int, union_id: int) -> None:
    insert = dialect_insert(db.session)
    db.session.execute(insert(Quota).values(event_id=event_id, union_id=union_id, taken=0)
                       .on_conflict_do_nothing(index_elements=["event_id", "union_id"]))


def take_quota(event: CompetitionEvent, union_id: int) -> bool:
    """One place of ``union_id``'s quota in ``event``; False when none is left."""
    _ensure_row(event.id, union_id)
    return rows_changed(
        update(Quota).where(Quota.event_id == event.id, Quota.union_id == union_id,
                            Quota.taken < event.quota_per_union)
        .values(taken=Quota.taken + 1).execution_options(synchronize_session=False)
    ) == 1


def release_quota(event_id: int, union_id: int) -> None:
    """Give back one place of ``union_id``'s quota in the event."""
    db.session.execute(update(Quota).where(Quota.event_id == event_id, Quota.union_id == union_id, Quota.taken > 0)
                       .values(taken=Quota.taken - 1).execution_options(synchronize_session=False))


def take_place(event: CompetitionEvent) -> bool:
    """One confirmed place under the event's overall cap; False when the event is full."""
    return rows_changed(
        update(CompetitionEvent).where(CompetitionEvent.id == event.id,
                                       or_(CompetitionEvent.overall_cap.is_(None),
                                           CompetitionEvent.confirmed_count < CompetitionEvent.overall_cap))
        .values(confirmed_count=CompetitionEvent.confirmed_count + 1).execution_options(synchronize_session=False)
    ) == 1


def release_place(event_id: int) -> None:
    """Give back one confirmed place of the event."""
    db.session.execute(update(CompetitionEvent)
                       .where(CompetitionEvent.id == event_id, CompetitionEvent.confirmed_count > 0)
                       .values(confirmed_count=CompetitionEvent.confirmed_count - 1)
                       .execution_options(synchronize_session=False))


def usage_by_event(event_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """{event id: [(quota union name, places taken)]}, most used first (one query)."""
    found: dict[int, list[tuple[str, int]]] = {}
    if event_ids:
        for event_id, name, taken in db.session.execute(
                select(Quota.event_id, TradeUnion.name, Quota.taken).join(TradeUnion, TradeUnion.id == Quota.union_id)
                .where(Quota.event_id.in_(event_ids)).order_by(Quota.event_id, Quota.taken.desc(), TradeUnion.name)):
            found.setdefault(event_id, []).append((name, taken))
    return found
