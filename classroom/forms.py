"""The base every form of the app builds on, bounded numbers and typed numbers: what a request may
put into a form or a URL never reaches the database as a value it cannot hold (a 400-digit "id" is a
form error or a 404, not a 500).

Numbers and codes a person types are read by one rule (``typed``): Unicode NFKC first, so what a
phone keyboard in full-width mode gives ("１２３", "８５．５", the ideographic space) counts as the
ASCII it stands for, and so do superscript, subscript and circled digits ("²", "①"), which NFKC
also maps to ASCII digits; what is left must be ASCII digits (and a point for decimals). Digits of
other scripts (Arabic-Indic "١٢٣", Devanagari "१२३"), mixed scripts and letters are a form error,
though Python's int() and str.isdigit() would take some of them."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.routing import IntegerConverter
from wtforms import FieldList, FileField, FormField
from wtforms import IntegerField as _IntegerField
from wtforms.validators import ValidationError

MAX_INT = 2**31 - 1  # the largest id or number a column holds (PostgreSQL integer)
TYPE_DIGITS = _l("Type this with the digits 0-9.")
_GROUPING = re.compile(r"[\s-]+")  # "123 456", "123-456": spaces and hyphens people type between digit groups
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def bounded_int(value) -> int:
    """int(value) within ±MAX_INT, else ValueError: the ``coerce`` of a SelectField of ids."""
    number = int(value)
    if abs(number) > MAX_INT:
        raise ValueError("out of range")
    return number


def parse_id(text: str) -> int | None:
    """A number written in ASCII digits (an id in a badge, a secret or a field name) that a column
    holds, else None: "²" or "١" are digits to str.isdigit, and "99999999999" fits no column."""
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(MAX_INT)):
        return None
    number = int(text)
    return number if number <= MAX_INT else None


def typed(text: str | None) -> str:
    """What a person typed, NFKC-normalised and stripped: "１２３．５　" → "123.5"."""
    return unicodedata.normalize("NFKC", text or "").strip()


def typed_digits(text: str | None, *, length: int | None = None) -> str | None:
    """The ASCII digits a person typed (``typed``; spaces and hyphens between groups dropped), else
    None: "１２３ ４５６" → "123456"; "١٢٣٤٥٦", "12a456" or a wrong ``length`` → None."""
    digits = _GROUPING.sub("", typed(text))
    if not (digits.isascii() and digits.isdigit()) or length is not None and len(digits) != length:
        return None
    return digits


def typed_int(text: str | None) -> int | None:
    """A whole number a person typed ("－１２" → -12) that a column holds, else None."""
    text = typed(text)
    number = parse_id(text[1:] if text.startswith(("+", "-")) else text)
    return -number if number is not None and text.startswith("-") else number


def typed_decimal(text: str | None) -> Decimal | None:
    """A decimal number a person typed ("８５．５" → Decimal("85.5")), else None (no exponents)."""
    text = typed(text)
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


class TypedDigits:
    """Validator: the field holds ASCII digits as ``typed_digits`` reads them, else ``message``."""

    def __init__(self, length: int | None = None, message=None) -> None:
        self.length, self.message = length, message or TYPE_DIGITS

    def __call__(self, form, field) -> None:
        digits = typed_digits(field.data, length=self.length)
        if digits is None:
            raise ValidationError(self.message)
        field.data = digits


def arg_int(name: str, default: int | None = None) -> int | None:
    """An integer query argument (?union=12), ``default`` when absent, malformed or out of range."""
    try:
        return bounded_int(request.args[name])
    except (KeyError, ValueError):
        return default


class IntegerField(_IntegerField):
    """WTForms' IntegerField for numbers people type (``typed_int``): full-width digits count, digits
    of other scripts are an error, and so are numbers no column holds."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = typed_int(valuelist[0])
        if self.data is None:
            text = typed(valuelist[0])
            raise ValueError(_l("Enter a smaller number.") if _INTEGER.fullmatch(text) else
                             _l("Enter a whole number with the digits 0-9."))

    def _value(self) -> str:
        """The value shown again: the number read ("１２" shows as "12"), else nothing, since a
        type="number" input may only hold a number ("十二" would be invalid HTML)."""
        if self.raw_data:
            return "" if self.data is None else str(self.data)
        return super()._value()


class BoundedIntegerConverter(IntegerConverter):
    """The ``int`` URL converter: an id no column holds matches no route (404). Its pattern stops at ``max``
    itself: werkzeug refuses a number above it only after it chose the route by its path and method, and
    when another method's route at that path came first it answers 405 (for a DELETE beside a PUT)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)
        if not self.signed and self.max is not None:
            self.regex = digits_up_to(self.max)


def digits_up_to(limit: int) -> str:
    """A regular expression (no capturing group) of the decimal numbers from 0 to ``limit``, leading zeros
    allowed as the ``int`` converter allows them: fewer digits than ``limit``, or as many with a first
    digit below its own after the same start, or ``limit`` itself."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        lowest = 1 if index == 0 and len(digits) > 1 else 0  # a number of as many digits starts with 1-9
        if int(digit) > lowest:
            options.append(rf"{digits[:index]}[{lowest}-{int(digit) - 1}]\d{{{len(digits) - index - 1}}}")
    return "0*(?:" + "|".join([*options, digits]) + ")"


class Form(FlaskForm):
    """FlaskForm whose uploads fill only its file fields: a file posted under a text field's name
    is ignored, not handed to that field's filters and validators as if it were text."""

    class Meta(FlaskForm.Meta):
        def render_field(self, field, render_kw):
            # The CSRF token has no id: two forms on a page would repeat id="csrf_token".
            if field.type == "CSRFTokenField":
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)

        def wrap_formdata(self, form, formdata):
            wrapped = super().wrap_formdata(form, formdata)
            if formdata is _Auto and isinstance(wrapped, CombinedMultiDict):
                names = {field.name for field in form._fields.values() if isinstance(field, FileField)}
                nested = tuple(f"{field.name}-" for field in form._fields.values()
                               if isinstance(field, (FormField, FieldList)))  # their files: "name-0-file"
                files = MultiDict([(key, value) for key, value in request.files.items(multi=True)
                                   if key in names or key.startswith(nested)])
                return CombinedMultiDict((files, request.form))
            return wrapped
