"""Enrollment and announcement forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from classroom.accounts.forms import strip


class AnnouncementForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=5000)], filters=[strip],
                         render_kw={"rows": 4})
    include_waitlisted = BooleanField(_l("Also tell the people on the waitlist"))
