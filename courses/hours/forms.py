"""Hours forms: external training, adjustments, report filters, union targets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from classroom.accounts.forms import strip
from classroom.forms import Form, IntegerField


class ExternalForm(Form):
    title = StringField(_l("Training"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    provider = StringField(_l("Provider"), validators=[DataRequired(), Length(max=70)], filters=[strip])
    earned_on = DateField(_l("Date"), validators=[DataRequired()])
    minutes = IntegerField(_l("Minutes"), validators=[DataRequired(), NumberRange(1, 6000)])
    evidence = FileField(_l("Evidence (PDF or image, optional)"))


class AdjustmentForm(Form):
    # Shown beside ExternalForm: an id of its own, so each label focuses its own field.
    minutes = IntegerField(_l("Minutes (negative to deduct)"), validators=[DataRequired(), NumberRange(-6000, 6000)],
                           id="adjustment-minutes")
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], filters=[strip])


class ReportForm(Form):
    class Meta:
        csrf = False

    period = SelectField(_l("Period"), default="year",
                         choices=[("year", _l("Year")), ("quarter", _l("Quarter")), ("month", _l("Month")),
                                  ("custom", _l("Custom range"))])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    part = IntegerField(_l("Quarter or month"), validators=[Optional(), NumberRange(1, 12)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    by = SelectField(_l("Break down by"), default="union", choices=[("union", _l("Union")), ("trade", _l("Trade")),
                                                   ("group", _l("Worker group")), ("category", _l("Course category")),
                                                   ("source", _l("Source"))])
