"""Keyset pages for lists that grow without bound (members, applications, audit …): each page is
one indexed range scan whatever its depth, and no page counts the whole list.

A page is asked for with ``?after=<cursor>`` (the next page) or ``?before=<cursor>`` (the previous
one); a cursor is the opaque, URL-safe encoding of the sort key of a page's last (or first) row. A
cursor that does not decode is the first page. Totals are either exact figures the caller has
cheaply (maintained counters), a count that stops at ``COUNT_BOUND`` ("10,000+"), or the page's own
(``by_page``: exact when the list fits on its first page, else "more than a page").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app, request
from sqlalchemy import ColumnElement, ScalarSelect, Select, Subquery, func, literal, select, tuple_
from sqlalchemy.orm import QueryableAttribute

from classroom.extensions import db

# What a list is ordered by: mapped columns or expressions over them (coalesce …).
OrderColumn = ColumnElement[Any] | QueryableAttribute[Any]

COUNT_BOUND = 10_000


@dataclass
class KeysetPage:
    """One page of rows and the cursors around it."""

    items: list
    next_cursor: str | None
    prev_cursor: str | None
    total: int | None = None
    capped: bool = False  # the total stopped counting at its bound: "more than ``bound``"
    prefix: str = ""  # of the cursors' query arguments, when a page shows two lists ("r" → ?rafter=)
    count_bound: int | None = None  # where a capped total stopped, when not COUNT_BOUND (a page's size)

    keyset = True  # the pager macro draws Previous / Next links without page numbers

    @property
    def bound(self) -> int:
        return self.count_bound or COUNT_BOUND



def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque, URL-safe text of a sort key (times and dates in ISO form)."""
    plain = [value.isoformat() if isinstance(value, date) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str | None, columns: Sequence[OrderColumn]) -> tuple | None:
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


def _typed(value, column: OrderColumn):
    column_type = column.type
    kind = getattr(column_type, "impl", column_type).python_type  # a TypeDecorator's is its impl's
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
        return parsed
    if kind is date:
        return date.fromisoformat(value)
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**63):
        raise ValueError("not an id")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a text")
    return value


def keyset_page(statement: Select, order: Sequence[OrderColumn], key_of: Callable[[Any], Sequence[Any]], *,
                per_page: int | None = None, rows: bool = True, total: tuple[int, bool] | None = None,
                by_page: bool = False, ascending: bool = False, prefix: str = "",
                expand: Callable[[Subquery], Select] | None = None) -> KeysetPage:
    """The page of ``statement`` (by ``order``: descending, newest first, unless ``ascending``) that the
    request's cursor (?after= or ?before=, named with ``prefix`` before them) names. ``key_of`` gives a
    result row's sort key; ``total`` is (how many, whether that is a cap). ``by_page`` takes the total from
    the page itself, for a list no count may walk (a search whose matches grow with the city): exact when
    the first page holds the whole list, else "more than" a page's rows, which is all the page knows.
    ``expand``: ``statement`` selects only the rows' keys, and ``expand(the page's keys as a subquery)`` the
    rows shown: a list that filters many rows to fill a page walks an index alone, reading whole rows for
    the page's only (in the same statement)."""
    size = per_page or current_app.config["PAGE_SIZE"]
    key = tuple_(*order)
    before = decode_cursor(request.args.get(prefix + "before"), order)
    after = None if before is not None else decode_cursor(request.args.get(prefix + "after"), order)
    forward, backward = ([c.asc() for c in order], [c.desc() for c in order]) if ascending \
        else ([c.desc() for c in order], [c.asc() for c in order])
    if before is not None:
        bound = _bound(before, order)
        query = statement.where(key < bound if ascending else key > bound).order_by(None).order_by(*backward)
    else:
        if after is not None:
            bound = _bound(after, order)
            statement = statement.where(key > bound if ascending else key < bound)
        query = statement.order_by(None).order_by(*forward)
    query = query.limit(size + 1)
    if expand is not None:
        query = expand(query.subquery("page_keys")).order_by(*(backward if before is not None else forward))
    result = db.session.execute(query)
    found = list(result.all() if rows else result.scalars().all())
    more = len(found) > size
    found = found[:size]
    if before is not None:
        found.reverse()
    next_cursor = encode_cursor(key_of(found[-1])) if found and (more or before is not None) else None
    prev_cursor = encode_cursor(key_of(found[0])) if found and (after is not None or (before is not None and more)) \
        else None
    count, is_capped = total if total is not None else (None, False)
    page = KeysetPage(found, next_cursor, prev_cursor, count, is_capped, prefix)
    if by_page:
        whole = before is None and after is None and not more
        page.total, page.capped, page.count_bound = (len(found), False, None) if whole else (size, True, size)
    return page


def _bound(values: tuple, order: Sequence[OrderColumn]):
    return tuple_(*[literal(value, column.type) for value, column in zip(values, order, strict=True)])


def bounded_count(statement: Select) -> tuple[int, bool]:
    """(how many rows ``statement`` has, True when that stopped at COUNT_BOUND)."""
    return capped(db.session.scalar(select(bounded_count_of(statement))))


def bounded_count_of(statement: Select) -> ScalarSelect[int]:
    """SQL: how many rows ``statement`` has, counting no further than one past COUNT_BOUND (a scalar
    subquery, so several counts can share one statement; ``capped`` reads its value)."""
    limited = statement.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(COUNT_BOUND + 1)
    return select(func.count()).select_from(limited.subquery()).scalar_subquery()


def capped(found: int | None) -> tuple[int, bool]:
    """(a count of ``bounded_count_of``, True when it reached past COUNT_BOUND: "more than COUNT_BOUND")."""
    return min(found or 0, COUNT_BOUND), (found or 0) > COUNT_BOUND


def bounded_counts(statements: dict[str, Select]) -> dict[str, tuple[int, bool]]:
    """``bounded_count`` of each statement, all in one round trip."""
    if not statements:
        return {}
    row = db.session.execute(select(*[bounded_count_of(s).label(f"c{i}") for i, s in enumerate(statements.values())]))
    return {name: capped(value) for name, value in zip(statements, row.one(), strict=True)}
