"""Form filters and validators shared by the people's and the unions' forms (a core module: it imports
no package, so any package's forms may use it)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from classroom.personal_data import is_id_card, is_mobile, normalize_id_card, normalize_mobile


def strip(value: Any) -> Any:
    """A field filter: text without surrounding spaces (anything else as it is)."""
    return value.strip() if isinstance(value, str) else value


def mainland_mobile(form: Any, field: Any) -> None:
    """An 11-digit mainland mobile number, normalized in place ("+86 138-0000-0000" → "13800000000")."""
    field.data = normalize_mobile(field.data)
    if not is_mobile(field.data):
        raise ValidationError(_l("Enter an 11-digit mainland mobile number."))


def id_card_number(form: Any, field: Any) -> None:
    """An 18-character resident ID card number with a valid check digit, normalized in place (optional)."""
    if field.data:
        field.data = normalize_id_card(field.data)
        if not is_id_card(field.data):
            raise ValidationError(_l("This ID card number is not valid: check its 18 characters."))
