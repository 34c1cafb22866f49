"""Checking and rebuilding the member counters (counters.py) from the memberships: ``flask unions check`` and
``flask unions recount``, and the subtree counts' first build (their migration)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, func, insert, select, text

from classroom.extensions import db
from classroom.unions.counters import (
    RECOUNT,
    UnionMemberCount,
    UnionMemberDelta,
    UnionSubtreeCount,
    lock_tree,
    per_union,
)
from classroom.unions.models import Membership, TradeUnion


def recount() -> None:
    """Rebuild the counters from the memberships (``flask unions recount``)."""
    lock_tree()
    db.session.execute(delete(UnionMemberDelta).execution_options(synchronize_session=False))
    db.session.execute(delete(UnionMemberCount).execution_options(synchronize_session=False))
    db.session.execute(text(RECOUNT))
    rebuild_subtrees()


def rebuild_subtrees(session: Any = None) -> None:
    """Rebuild the subtree counts from the folded counts per union (``recount``, the migration); the tree's
    paths and counts are read once, and each count added to the nodes on its union's path here."""
    session = session or db.session
    session.execute(delete(UnionSubtreeCount).execution_options(synchronize_session=False))
    totals = _along_paths(session.execute(
        select(UnionMemberCount.union_id, UnionMemberCount.status, UnionMemberCount.members)), session)
    if totals:
        session.execute(insert(UnionSubtreeCount), [{"union_id": union_id, "status": status, "members": members}
                                                     for (union_id, status), members in totals.items()])


def _along_paths(counts: Any, session: Any) -> Counter[tuple[int, str]]:
    """{(node, status): members} of (union, status, members) rows added to every node on each union's path."""
    paths = dict(session.execute(select(TradeUnion.id, TradeUnion.path)).all())
    totals: Counter[tuple[int, str]] = Counter()
    for union_id, status, members in counts:
        for node in (int(part) for part in paths.get(union_id, "").strip("/").split("/") if part):
            totals[(node, status)] += members
    return totals


def mismatches() -> dict[tuple[int, str], tuple[int, int]]:
    """{(union, status): (memberships, counter)} wherever the counters disagree with the rows; a subtree's
    figures (its folded row and its deltas) under (node, "<status> in its subtree")."""
    actual = {(row.union_id, row.status): row.n for row in db.session.execute(
        select(Membership.union_id, Membership.status, func.count().label("n"))
        .group_by(Membership.union_id, Membership.status))}
    current = per_union()
    kept = {(row.union_id, row.status): row.members for row in db.session.execute(select(current))}
    found = {key: (actual.get(key, 0), kept.get(key, 0)) for key in set(actual) | set(kept)
             if actual.get(key, 0) != kept.get(key, 0)}
    in_subtrees = _along_paths([(union_id, status, n) for (union_id, status), n in actual.items()], db.session)
    folded = dict(((row.union_id, row.status), row.members) for row in db.session.execute(
        select(UnionSubtreeCount.union_id, UnionSubtreeCount.status, UnionSubtreeCount.members)))
    pending = _along_paths(db.session.execute(
        select(UnionMemberDelta.union_id, UnionMemberDelta.status, UnionMemberDelta.delta)), db.session)
    for key in set(in_subtrees) | set(folded) | set(pending):
        subtree = folded.get(key, 0) + pending.get(key, 0)
        if subtree != in_subtrees.get(key, 0):
            found[(key[0], f"{key[1]} in its subtree")] = (in_subtrees.get(key, 0), subtree)
    return found
