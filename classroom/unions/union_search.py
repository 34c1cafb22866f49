"""Finding a grassroots union by what a worker knows of it: its name, employer or code (the union picker)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from classroom.extensions import db
from classroom.unions.models import TradeUnion, UnionKind


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_grassroots(query: str, *, limit: int = 50) -> list[TradeUnion]:
    """Grassroots unions whose name, employer or code contains the query."""
    statement = (
        select(TradeUnion).where(TradeUnion.kind == UnionKind.GRASSROOTS).options(joinedload(TradeUnion.parent))
    )
    query = (query or "").strip()
    if query:
        pattern = f"%{escape_like(query)}%"
        statement = statement.where(
            TradeUnion.name.ilike(pattern, escape="\\") | TradeUnion.employer.ilike(pattern, escape="\\")
            | TradeUnion.code.ilike(pattern, escape="\\")
        )
    return list(db.session.scalars(statement.order_by(TradeUnion.name).limit(limit)))


def union_label(union: TradeUnion) -> str:
    """"机电公司工会 · 东城区总工会" — enough to tell two similar names apart."""
    return f"{union.name} · {union.parent.name}" if union.parent else union.name


def union_choices(query: str | None, selected: int | None = None) -> list[tuple[int, str]]:
    """Options for a grassroots-union select: the search results, plus the selected one."""
    found = search_grassroots(query or "")
    if selected and all(union.id != selected for union in found):
        chosen = db.session.get(TradeUnion, selected)
        if chosen is not None and chosen.kind == UnionKind.GRASSROOTS:
            found.insert(0, chosen)
    return [(union.id, union_label(union)) for union in found]

