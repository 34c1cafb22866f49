"""The base every form of the app builds on, and bounded numbers: what a request may put into a
form or a URL never reaches the database as a value it cannot hold (a 400-digit "id" is a form
error or a 404, not a 500)."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.routing import IntegerConverter
from wtforms import FieldList, FileField, FormField
from wtforms import IntegerField as _IntegerField

MAX_INT = 2**31 - 1  # the largest id or number a column holds (PostgreSQL integer)


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


def arg_int(name: str, default: int | None = None) -> int | None:
    """An integer query argument (?union=12), ``default`` when absent, malformed or out of range."""
    try:
        return bounded_int(request.args[name])
    except (KeyError, ValueError):
        return default


class IntegerField(_IntegerField):
    """WTForms' IntegerField, refusing numbers no column holds."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > MAX_INT:
            self.data = None
            raise ValueError(_l("Enter a smaller number."))


class BoundedIntegerConverter(IntegerConverter):
    """The ``int`` URL converter: an id no column holds matches no route (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


class Form(FlaskForm):
    """FlaskForm whose uploads fill only its file fields: a file posted under a text field's name
    is ignored, not handed to that field's filters and validators as if it were text."""

    class Meta(FlaskForm.Meta):
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
