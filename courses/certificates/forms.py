"""Certificate forms: verification, revocation, recording and deciding skill-level certificates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from classroom.accounts.forms import strip
from classroom.accounts.models import SKILL_LEVELS
from classroom.forms import Form, bounded_int


class CredentialForm(Form):
    """An Open Badges credential to check: a .jwt file, or its text pasted."""

    file = FileField(_l("Credential file (.jwt)"))
    text = TextAreaField(_l("…or paste the credential"), validators=[Optional(), Length(max=65536)],
                         render_kw={"rows": 3, "spellcheck": "false", "autocomplete": "off"})


class RevokeForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], filters=[strip],
                           description=_l("The holder and administrators see it; verifiers see only the date."),
                           render_kw={"rows": 2})


class DecisionForm(Form):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)], filters=[strip],
                         description=_l("Needed when you reject; the worker sees it."))


class SkillCertificateForm(Form):
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=40)], filters=[strip],
                         description=_l("22 characters, e.g. S000011000001231000001 (Y or S, then 21 digits)."),
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
    occupation = StringField(_l("Occupation (工种)"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    level = SelectField(_l("Level"), coerce=bounded_int, choices=lambda: list(SKILL_LEVELS.items()))
    evaluation_body = StringField(_l("Evaluation body"), validators=[DataRequired(), Length(max=200)],
                                  filters=[strip], description=_l("As printed on the certificate."))
    issued_on = DateField(_l("Date of issue"), validators=[DataRequired()])
    file = FileField(_l("Scan or photo (PDF, PNG or JPEG)"), validators=[FileRequired()],
                     render_kw={"accept": ".pdf,.png,.jpg,.jpeg"})
