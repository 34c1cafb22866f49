"""The union tree: adding, renaming and moving nodes, annual targets, and what the tree pages read."""

from __future__ import annotations

from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, literal, select, update

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.unions import counters
from classroom.unions.models import TradeUnion, UnionKind

MAX_TARGET_MINUTES = 1000 * 60


def create_union(parent: TradeUnion | None, name: str, kind: str, *, code: str | None = None,
                 employer: str | None = None, actor: Any = None) -> TradeUnion:
    """Add a node under ``parent`` (None only for the city federation, the root)."""
    _check_placement(kind, parent)
    if code and db.session.scalar(select(TradeUnion.id).where(TradeUnion.code == code)):
        raise Conflict(_l("The code %(code)s is already taken."), code=code)
    union = TradeUnion(name=name.strip(), kind=kind, parent=parent, code=code or None,
                       employer=(employer or "").strip() or None)
    db.session.add(union)
    db.session.flush()
    union.path = f"{parent.path if parent else '/'}{union.id}/"
    union.depth = parent.depth + 1 if parent else 0
    union.code = union.code or f"U{union.id:06d}"
    if actor is not None:
        record_event(actor, "union.create", union, union_id=union.id, name=union.name, kind=kind)
    return union


def _check_placement(kind: str, parent: TradeUnion | None) -> None:
    if kind not in set(UnionKind):
        raise Invalid(_l("Unknown kind of union."))
    if (kind == UnionKind.CITY) != (parent is None):
        raise Invalid(_l("The city federation is the root; every other union needs a parent."))
    if parent is not None and parent.kind == UnionKind.GRASSROOTS:
        raise Invalid(_l("A grassroots union cannot have unions below it."))


def rename_union(union: TradeUnion, name: str, *, employer: str | None, actor: Any) -> None:
    """A node's new name and employer (audited)."""
    old = union.name
    union.name = name.strip()
    union.employer = (employer or "").strip() or None
    record_event(actor, "union.rename", union, union_id=union.id, old=old, new=union.name)


def move_union(union: TradeUnion, new_parent: TradeUnion | None, *, actor: Any) -> int:
    """Move a node and its subtree under ``new_parent``; returns the number of nodes moved."""
    if new_parent is None:
        raise Invalid(_l("Choose the new parent union."))
    if union.parent_id is None:
        raise Invalid(_l("The city federation cannot be moved."))
    if new_parent.path.startswith(union.path):
        raise Invalid(_l("A union cannot be moved below itself."))
    _check_placement(union.kind, new_parent)
    counters.lock_tree()
    old_path, new_path = union.path, f"{new_parent.path}{union.id}/"
    above_before, above_after = union.ancestor_ids()[:-1], new_parent.ancestor_ids()
    depth_change = new_parent.depth + 1 - union.depth
    moved = cast(CursorResult[Any], db.session.execute(
        update(TradeUnion)
        .where(TradeUnion.path.startswith(old_path, autoescape=True))
        .values(
            path=literal(new_path) + func.substr(TradeUnion.path, len(old_path) + 1),
            depth=TradeUnion.depth + depth_change,
        )
        .execution_options(synchronize_session=False)
    )).rowcount
    union.parent_id = new_parent.id
    counters.moved(union, [node for node in above_before if node not in above_after],
                   [node for node in above_after if node not in above_before])
    record_event(actor, "union.move", union, union_id=union.id, old_path=old_path, new_path=new_path)
    db.session.flush()
    db.session.expire_all()
    return moved


def set_annual_target(union: TradeUnion, minutes: int | None, *, actor: Any) -> None:
    """The node's annual training target for its members (None: inherit the nearest one above)."""
    if minutes is not None and not 0 <= minutes <= MAX_TARGET_MINUTES:
        raise Invalid(_l("The target must be between 0 and 1000 hours."))
    union.annual_target_minutes = minutes
    record_event(actor, "union.target", union, union_id=union.id, minutes=minutes)


def possible_parents(union: TradeUnion) -> list[tuple[int, str]]:
    """Where a node may move: any non-grassroots node outside its own subtree."""
    rows = db.session.scalars(
        select(TradeUnion).where(TradeUnion.kind != UnionKind.GRASSROOTS,
                                 ~TradeUnion.path.startswith(union.path, autoescape=True))
        .order_by(TradeUnion.path)
    )
    return [(row.id, "— " * row.depth + row.name) for row in rows]


def inherited_target(union: TradeUnion) -> int | None:
    """The nearest annual target set above this node (what applies when it sets none)."""
    ids = union.ancestor_ids()[:-1]
    if not ids:
        return None
    targets = dict(db.session.execute(select(TradeUnion.id, TradeUnion.annual_target_minutes)
                                      .where(TradeUnion.id.in_(ids))).all())
    return next((targets[i] for i in reversed(ids) if targets.get(i) is not None), None)


def ancestors(union: TradeUnion) -> list[TradeUnion]:
    """The nodes above ``union``, root first (one query)."""
    ids = union.ancestor_ids()[:-1]
    if not ids:
        return []
    by_id = {row.id: row for row in db.session.scalars(select(TradeUnion).where(TradeUnion.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]
