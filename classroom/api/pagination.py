"""Cursor pages for the API: ``limit`` (at most 100) and an opaque ``cursor`` (the sort key of the previous
page's last item, encoded as ``classroom.pagination`` encodes the pages' cursors). Each page is one
indexed range scan whatever its depth; a cursor that does not decode is a 400 problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, literal, tuple_

from classroom.api.problems import Problem
from classroom.extensions import db
from classroom.pagination import OrderColumn, decode_cursor, encode_cursor


@dataclass(frozen=True)
class CursorPage:
    """A page of items and the cursor of the next page (None on the last)."""

    items: list
    next_cursor: str | None


def cursor_page(statement: Select, order: Sequence[OrderColumn], key_of: Callable[[Any], Sequence[Any]], *,
                limit: int, cursor: str | None, descending: bool = True) -> CursorPage:
    """The page of ``statement`` after ``cursor``, sorted by ``order`` (all descending, or all ascending);
    ``key_of(item)`` gives an item's values of ``order`` (NULL-free: coalesce nullable columns)."""
    if cursor:
        after = _decoded(cursor, order)
        key, bound = tuple_(*order), tuple_(*[literal(value, column.type) for value, column in zip(after, order,
                                                                                                strict=True)])
        statement = statement.where(key < bound if descending else key > bound)
    statement = statement.order_by(None).order_by(*[column.desc() if descending else column.asc()
                                                    for column in order])
    found = list(db.session.scalars(statement.limit(limit + 1)).unique())
    items = found[:limit]
    more = len(found) > limit
    return CursorPage(items, encode_cursor([_plain(value) for value in key_of(items[-1])]) if more else None)


def _plain(value: Any) -> Any:
    """A sort value as JSON carries it (times by classroom.pagination itself)."""
    return value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) else value


def _decoded(cursor: str, order: Sequence[OrderColumn]) -> tuple:
    values = decode_cursor(cursor, order)
    if values is None:
        raise Problem("invalid-cursor")
    try:
        return tuple(_restored(value, column) for value, column in zip(values, order, strict=True))
    except (ValueError, TypeError):
        raise Problem("invalid-cursor") from None


def _restored(value: Any, column: OrderColumn) -> Any:
    """A date back from its ISO text (classroom.pagination types times, ids and texts itself)."""
    column_type = column.type
    if getattr(column_type, "impl", column_type).python_type is not date:
        return value
    if isinstance(value, date):  # classroom.pagination typed it already
        return value
    if not isinstance(value, str):
        raise ValueError("not a date")
    return date.fromisoformat(value)
