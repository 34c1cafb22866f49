"""The API pages' forms: a partner API key."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from classroom.api.keys import SCOPES
from classroom.forms import Form


class ApiKeyForm(Form):
    name = StringField(_l("Key name"), validators=[DataRequired(), Length(max=100)],
                       filters=[lambda value: value.strip() if isinstance(value, str) else value],
                       description=_l("Which system uses it, e.g. the district service centre's sign-in kiosk."))
    scopes = SelectMultipleField(_l("What it may do"), validators=[DataRequired(_l("Choose at least one scope."))],
                                 choices=lambda: [(name, str(label)) for name, label in SCOPES.items()],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
