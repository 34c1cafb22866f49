"""Account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import PasswordInput

from classroom.accounts.models import SKILL_LEVELS, WORKER_GROUPS
from classroom.forms import Form, IntegerField, TypedDigits, bounded_int, typed
from classroom.i18n import LOCALE_NAMES, zone_label
from classroom.validators import id_card_number, mainland_mobile, strip

COMMON_TIMEZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei",
                    "Asia/Tokyo", "Asia/Singapore", "Europe/London", "UTC"]


class LoginForm(Form):
    # Most workers log in with their mobile number: the digit keypad first (?with=email: the letter keyboard).
    identifier = StringField(_l("Mobile number or email"), validators=[DataRequired(), Length(max=254)],
                             filters=[strip], render_kw={"autocomplete": "username", "inputmode": "tel"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me logged in on this device"))


class UnionChoiceMixin:
    union_query = StringField(_l("Find your grassroots union"), validators=[Optional(), Length(max=100)],
                              filters=[strip], render_kw={"placeholder": _l("Employer or union name"),
                                                          "data-union-search": "union_id"})
    union_id = SelectField(_l("Grassroots union"), coerce=bounded_int, validate_choice=False,
                           validators=[InputRequired(_l("Choose your grassroots union."))])


class RegisterForm(UnionChoiceMixin, Form):
    real_name = StringField(_l("Real name"), validators=[DataRequired(), Length(max=50)], filters=[strip],
                            render_kw={"autocomplete": "name"})
    mobile = StringField(_l("Mobile number"), validators=[DataRequired(), mainland_mobile],
                         render_kw={"autocomplete": "tel", "inputmode": "tel"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least 8 characters; avoid common passwords."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})
    consent = BooleanField(_l("I have read and agree to the privacy notice"),
                           validators=[DataRequired(_l("Registration needs your consent to the privacy notice."))])

    def keep_passwords(self) -> None:
        """Show the passwords typed again: a union search (without JavaScript) re-renders the form, and
        nothing typed should be lost to it. For that re-render only; never after a refusal."""
        for field in (self.password, self.confirm):
            field.widget = PasswordInput(hide_value=False)


class MembershipApplicationForm(UnionChoiceMixin, Form):
    id_card = StringField(_l("ID card number (optional)"), validators=[Optional(), id_card_number],
                          filters=[strip], description=_l("Stored encrypted and shown only masked."))
    id_card_consent = BooleanField(_l("I agree that the union stores my ID card number for member records"))

    def validate_id_card_consent(self, field: BooleanField) -> None:
        """The consent is needed when an ID card number is given."""
        if self.id_card.data and not field.data:
            raise ValidationError(_l("Agree to the use of your ID card number, or leave it empty."))


def _level_choices():
    return [("", _l("Not set"))] + [(str(level), label) for level, label in SKILL_LEVELS.items()]


def _optional_int(value):
    return int(value) if value not in (None, "") else None


class ShownOnlySelectField(SelectField):
    """A select shown disabled and never read from the request: its value is the object's, so a
    crafted POST changes nothing (the view does not write it either)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {}).update(disabled=True)
        super().__init__(*args, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist) -> None:
        """Ignore whatever was posted."""


class ProfileForm(Form):
    email = EmailField(_l("Email (optional)"), validators=[Optional(), Length(max=254)], filters=[strip])
    employer = StringField(_l("Employer"), validators=[Optional(), Length(max=100)], filters=[strip])
    trade = StringField(_l("Trade"), validators=[Optional(), Length(max=50)], filters=[strip],
                        description=_l("For example 电工, 焊工, 数控车工"))
    # Not the worker's to set: the highest verified skill-level certificate or the union's records set it.
    skill_level = ShownOnlySelectField(
        _l("Skill level"), choices=_level_choices, coerce=_optional_int,
        description=_l("Set by your verified skill-level certificates or by your union. Got a new certificate? "
                       "Record it under My certificates."))
    years_in_trade = IntegerField(_l("Years in the trade"), validators=[Optional(), NumberRange(0, 60)])
    birth_year = IntegerField(_l("Birth year (optional)"), validators=[Optional(), NumberRange(1930, 2020)])
    worker_group = SelectField(_l("Worker group"), coerce=lambda v: v or None,
                               choices=lambda: [("", _l("None"))] + list(WORKER_GROUPS.items()))
    locale = SelectField(_l("Language"), choices=list(LOCALE_NAMES.items()))
    timezone = SelectField(_l("Timezone"), choices=lambda: [(name, zone_label(name)) for name in COMMON_TIMEZONES])


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


# ---- recovery, invitations, privacy ------------------------------------------------------

class ForgotPasswordForm(Form):
    identifier = StringField(_l("Mobile number or email"), validators=[DataRequired(), Length(max=254)],
                             filters=[typed], render_kw={"autocomplete": "username", "inputmode": "email"})


class NewPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least 8 characters; avoid common passwords."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class ResetCodeForm(NewPasswordForm):
    mobile = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=30)], filters=[typed],
                         render_kw={"autocomplete": "tel", "inputmode": "tel"})
    code = StringField(_l("Code from the text message"), filters=[strip],
                       validators=[DataRequired(), Length(max=20),
                                   TypedDigits(6, message=_l("The code is 6 digits from 0 to 9."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class AcceptInvitationForm(NewPasswordForm):
    consent = BooleanField(_l("I have read and agree to the privacy notice"),
                           validators=[DataRequired(_l("Your account needs your consent to the privacy notice."))])


class PrivacyConsentForm(Form):
    consent = BooleanField(_l("I have read and agree to the privacy notice"),
                           validators=[DataRequired(_l("Agree to the privacy notice to go on, or close your "
                                                       "account."))])


class CloseAccountForm(Form):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    understood = BooleanField(_l("I understand that closing my account cannot be undone"),
                              validators=[DataRequired(_l("Confirm that you understand."))])
