"""Union admin forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from classroom.accounts.models import ROLE_LABELS, SKILL_LEVELS, WORKER_GROUPS
from classroom.forms import Form, IntegerField, bounded_int
from classroom.unions.models import MEMBERSHIP_STATUS_LABELS, UNION_KIND_LABELS
from classroom.validators import mainland_mobile, strip

CODE_RE = r"^[A-Za-z0-9\-]{2,20}$"


class UnionForm(Form):
    name = StringField(_l("Union name"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    kind = SelectField(_l("Kind"), choices=[(k.value, label) for k, label in UNION_KIND_LABELS.items()
                                            if k != "city"])
    code = StringField(_l("Code (optional)"), filters=[strip],
                       validators=[Optional(), Regexp(CODE_RE, message=_l("2–20 letters, digits or dashes."))])
    employer = StringField(_l("Employer"), validators=[Optional(), Length(max=100)], filters=[strip])


class EditUnionForm(Form):
    name = StringField(_l("Union name"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    employer = StringField(_l("Employer"), validators=[Optional(), Length(max=100)], filters=[strip])


class MoveUnionForm(Form):
    parent_id = SelectField(_l("New parent union"), coerce=bounded_int, validate_choice=False)


class RejectForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], filters=[strip])


class LapseForm(Form):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)], filters=[strip])


class MemberFilterForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Name or mobile"), validators=[Optional(), Length(max=50)], filters=[strip])
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=[("", _l("Any status"))] + [(k.value, v) for k, v in MEMBERSHIP_STATUS_LABELS.items()
                                                              if k in ("applied", "active", "lapsed")])
    trade = StringField(_l("Trade"), validators=[Optional(), Length(max=50)], filters=[strip])
    level = SelectField(_l("Skill level"), validators=[Optional()],
                        choices=[("", _l("Any level"))] + [(str(k), v) for k, v in SKILL_LEVELS.items()])
    group = SelectField(_l("Worker group"), validators=[Optional()],
                        choices=[("", _l("Any group"))] + list(WORKER_GROUPS.items()))


class GrantRoleForm(Form):
    mobile = StringField(_l("Mobile number of the person"), validators=[DataRequired(), mainland_mobile])
    role = SelectField(_l("Role"), choices=[(k.value, v) for k, v in ROLE_LABELS.items()])
    union_code = StringField(_l("Union code"), validators=[DataRequired(), Length(max=20)], filters=[strip])


class TargetForm(Form):
    hours = IntegerField(_l("Annual training-hours target for members (empty: inherit from above)"),
                         validators=[Optional(), NumberRange(0, 1000)])


class AnnouncementForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=5000)], filters=[strip],
                         render_kw={"rows": 6})
