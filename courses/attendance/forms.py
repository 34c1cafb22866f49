"""Attendance forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from classroom.accounts.forms import strip
from classroom.forms import Form, IntegerField


class CheckinForm(Form):
    code = StringField(_l("Check-in code"), validators=[DataRequired(), Length(max=12)], filters=[strip],
                       # no pattern="[0-9]*": the browser would refuse full-width digits, which the check-in reads
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
                       description=_l("The 6 digits shown in class; they change every 30 seconds."))
    session = IntegerField(widget=HiddenInput(), validators=[Optional()])


class BadgeForm(Form):
    badge = StringField(_l("Badge code"), validators=[DataRequired(), Length(max=40)], filters=[strip],
                        render_kw={"autocomplete": "off"})


class RosterUploadForm(Form):
    file = FileField(_l("Paper roster (CSV or XLSX: mobile, status)"), validators=[FileRequired()])
