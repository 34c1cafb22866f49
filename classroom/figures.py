"""Figures that several parts of one page ask for, read together in one statement.

The home page's panels each want a number or two (members and applications waiting, skill
certificates and competition entries to decide …). A panel puts the SQL of a figure in its context
(a scalar subquery: ``select(...).scalar_subquery()``, e.g. ``pagination.bounded_count_of``) instead
of running it, and ``read_together`` runs every figure of the page in one SELECT.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import format_decimal
from sqlalchemy import ScalarSelect, select

from classroom import pagination
from classroom.extensions import db


def read_together(contexts: Iterable[dict[str, Any]]) -> None:
    """Replace each scalar subquery among the contexts' values by its value: one statement for all."""
    wanted = [(context, key) for context in contexts for key, value in context.items()
              if isinstance(value, ScalarSelect)]
    if not wanted:
        return
    values = db.session.execute(select(*[context[key].label(f"figure_{index}")
                                         for index, (context, key) in enumerate(wanted)])).one()
    for (context, key), value in zip(wanted, values, strict=True):
        context[key] = value


def bounded(value: int | tuple[int, bool] | None) -> str:
    """A count as pages show it: "10,000+" past COUNT_BOUND (a count of ``bounded_count_of``, or the
    (count, capped) of ``bounded_count``)."""
    bound = pagination.COUNT_BOUND
    count, capped = value if isinstance(value, tuple) else (value or 0, (value or 0) > bound)
    return format_decimal(min(count, bound)) + ("+" if capped else "")
