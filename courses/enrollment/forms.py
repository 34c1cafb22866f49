"""Enrollment and announcement forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from classroom.accounts.forms import strip
from classroom.forms import Form


class AnnouncementForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=5000)], filters=[strip],
                         render_kw={"rows": 4})
    include_waitlisted = BooleanField(_l("Also tell the people on the waitlist"))
