"""Keyset pages for lists that grow without bound (members, applications, audit …): each page is
one indexed range scan whatever its depth, and no page counts the whole list.

A page is asked for with ``?after=<cursor>`` (the next page) or ``?before=<cursor>`` (the previous
one); a cursor is the opaque, URL-safe encoding of the sort key of a page's last (or first) row. A
cursor that does not decode is the first page. Totals are either exact figures the caller has
cheaply (maintained counters) or a count that stops at ``COUNT_BOUND`` ("10,000+").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request
from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_

from classroom.extensions import db

COUNT_BOUND = 10_000


@dataclass
class KeysetPage:
    """One page of rows and the cursors around it."""

    items: list
    next_cursor: str | None
    prev_cursor: str | None
    total: int | None = None
    capped: bool = False  # the total stopped counting at COUNT_BOUND: "more than COUNT_BOUND"

    keyset = True  # the pager macro draws Previous / Next links without page numbers

    @property
    def bound(self) -> int:
        return COUNT_BOUND



def encode_cursor(values: Sequence[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str | None, columns: Sequence[ColumnElement]) -> tuple | None:
    """The sort key a cursor encodes, typed like ``columns``; None when absent or malformed."""
    if not text or len(text) > 500:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(values, list) or len(values) != len(columns):
            return None
        return tuple(_typed(value, column) for value, column in zip(values, columns, strict=True))
    except (ValueError, TypeError, binascii.Error, OverflowError):
        return None


def _typed(value, column: ColumnElement):
    column_type = column.type
    kind = getattr(column_type, "impl", column_type).python_type  # a TypeDecorator's is its impl's
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
        return parsed
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**63):
        raise ValueError("not an id")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a text")
    return value


def keyset_page(statement: Select, order: Sequence[ColumnElement], key_of: Callable[[Any], Sequence[Any]], *,
                per_page: int | None = None, rows: bool = True, total: tuple[int, bool] | None = None) -> KeysetPage:
    """The page of ``statement`` (newest first by ``order``, descending) that the request's cursor
    names. ``key_of`` gives a result row's sort key; ``total`` is (how many, whether that is a cap)."""
    size = per_page or current_app.config["PAGE_SIZE"]
    key = tuple_(*order)
    before = decode_cursor(request.args.get("before"), order)
    after = None if before is not None else decode_cursor(request.args.get("after"), order)
    if before is not None:
        query = statement.where(key > _bound(before, order)).order_by(None).order_by(*[c.asc() for c in order])
    else:
        if after is not None:
            statement = statement.where(key < _bound(after, order))
        query = statement.order_by(None).order_by(*[c.desc() for c in order])
    result = db.session.execute(query.limit(size + 1))
    found = list(result.all() if rows else result.scalars().all())
    more = len(found) > size
    found = found[:size]
    if before is not None:
        found.reverse()
    next_cursor = encode_cursor(key_of(found[-1])) if found and (more or before is not None) else None
    prev_cursor = encode_cursor(key_of(found[0])) if found and (after is not None or (before is not None and more)) \
        else None
    count, capped = total if total is not None else (None, False)
    return KeysetPage(found, next_cursor, prev_cursor, count, capped)


def _bound(values: tuple, order: Sequence[ColumnElement]):
    return tuple_(*[literal(value, column.type) for value, column in zip(values, order, strict=True)])


def bounded_count(statement: Select) -> tuple[int, bool]:
    """(how many rows ``statement`` has, True when that stopped at COUNT_BOUND)."""
    bound = COUNT_BOUND
    limited = statement.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(bound + 1)
    found = db.session.scalar(select(func.count()).select_from(limited.subquery())) or 0
    return min(found, bound), found > bound
