"""Schemas every resource shares: the problem document, cursor arguments and pages, times with offsets,
and validators whose messages speak the caller's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class ProblemSchema(Schema):
    """An error (RFC 9457 ``application/problem+json``)."""

    type = fields.String(required=True, metadata={"description": "The kind of problem (a stable URI)."})
    title = fields.String(required=True, metadata={"description": "The kind's title, in the caller's language."})
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, in the caller's language."})
    instance = fields.String(required=True, metadata={"description": "The path of the request."})
    errors = fields.Dict(metadata={"description": "Messages per location and field (invalid input)."})


class CursorArgs(Schema):
    """``?limit=&cursor=``: a page of a list; the next page's cursor comes with each page."""

    limit = fields.Integer(load_default=20, validate=validate.Range(
        min=1, max=100, error=_l("Ask for 1 to 100 items.")), metadata={"description": "Items per page (≤ 100)."})
    cursor = fields.String(validate=validate.Length(max=500, error=_l("Not a cursor of this list.")),
                           metadata={"description": "The next_cursor of the previous page."})


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of a page of ``item``s: ``{"items": […], "next_cursor": "…" | null}``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True,
                                     metadata={"description": "The cursor of the next page; null on the last."}),
    }, name=name)


def instant(**kwargs) -> fields.AwareDateTime:
    """A moment: ISO 8601 with its offset (times are stored in UTC); a time without an offset is refused."""
    return fields.AwareDateTime(format="iso", **kwargs)


def at_most(max_length: int) -> validate.Length:
    """At most ``max_length`` characters (the message in the caller's language)."""
    return validate.Length(max=max_length, error=_l("Use at most {max} characters."))


def text(max_length: int, **kwargs) -> fields.String:
    """A string of at most ``max_length`` characters."""
    return fields.String(validate=at_most(max_length), **kwargs)


def one_of(choices, **kwargs) -> fields.String:
    """A string among ``choices``."""
    return fields.String(validate=validate.OneOf(list(choices), error=_l("Choose one of: {choices}.")), **kwargs)


def whole_number(minimum: int, maximum: int, *, strict: bool = True, **kwargs) -> fields.Integer:
    """An integer from ``minimum`` to ``maximum`` (``strict``: a JSON number, not a string of digits)."""
    error = _l("Enter a number from {min} to {max}.")
    return fields.Integer(validate=validate.Range(min=minimum, max=maximum, error=error), strict=strict, **kwargs)


def query_number(minimum: int, maximum: int, **kwargs) -> fields.Integer:
    """An integer from ``minimum`` to ``maximum`` in the query string (written in digits)."""
    return whole_number(minimum, maximum, strict=False, **kwargs)
