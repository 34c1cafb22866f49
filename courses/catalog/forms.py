"""Course authoring and catalogue forms."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from classroom.accounts.forms import strip
from classroom.accounts.models import SKILL_LEVELS
from classroom.forms import Form, IntegerField, bounded_int
from classroom.timefmt import from_local_naive, local_naive
from courses.catalog.models import MODE_LABELS

WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
            (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]


def _optional_int(value):
    return int(value) if value not in (None, "") else None


def level_choices(empty_label):
    return [("", empty_label)] + [(str(level), label) for level, label in SKILL_LEVELS.items()]


class CourseForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=500)], filters=[strip],
                            description=_l("One or two sentences for the catalogue."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)],
                                description=_l("Markdown: **bold**, lists, links."), render_kw={"rows": 8})
    category = StringField(_l("Trade or category"), validators=[DataRequired(), Length(max=50)], filters=[strip],
                           description=_l("For example 电工, 焊工, 安全生产, 快递服务"))
    target_level = SelectField(_l("Target skill level"), coerce=_optional_int,
                               choices=lambda: level_choices(_l("Any level")))
    mode = SelectField(_l("Mode"), choices=[(mode.value, label) for mode, label in MODE_LABELS.items()])
    credit_minutes = IntegerField(_l("Course hours in minutes"), validators=[DataRequired(), NumberRange(1, 60000)],
                                  description=_l("One training hour (学时) is 45 minutes."))
    host_union_id = SelectField(_l("Host union"), coerce=bounded_int, validate_choice=False)
    studio = StringField(_l("Model-worker studio (optional)"), validators=[Optional(), Length(max=100)],
                         filters=[strip])
    scope_union_id = SelectField(_l("Who may see and enroll"), coerce=bounded_int, validate_choice=False,
                                 description=_l("Members of this union and the unions below it; the city "
                                                "federation means everyone."))
    enroll_opens_at = DateTimeLocalField(_l("Enrollment opens"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    enroll_closes_at = DateTimeLocalField(_l("Enrollment closes"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(1, 100000)],
                            description=_l("Leave empty for no limit."))
    requires_approval = BooleanField(_l("Sign-ups need approval"))
    min_lesson_share = IntegerField(_l("Lessons to complete (%)"), default=100,
                                    validators=[InputRequired(), NumberRange(0, 100)],
                                    description=_l("0 for a course completed by attendance or the exam alone."))
    min_attendance_share = IntegerField(_l("Sessions to attend (%)"), default=0,
                                        validators=[Optional(), NumberRange(0, 100)])
    min_exam_score = IntegerField(_l("Minimum exam score (%)"), validators=[Optional(), NumberRange(0, 100)],
                                  description=_l("Leave empty when the course has no exam."))
    certificate_months = IntegerField(_l("Certificate valid for (months)"),
                                      validators=[Optional(), NumberRange(1, 240)],
                                      description=_l("Leave empty for no expiry."))

    def data_for_service(self, tz: ZoneInfo) -> dict:
        """The course fields as the authoring service takes them; times typed in ``tz``."""
        data = {name: self[name].data for name in (
            "title", "summary", "description", "category", "target_level", "mode", "credit_minutes",
            "host_union_id", "studio", "scope_union_id", "starts_on", "ends_on", "capacity", "requires_approval",
            "min_lesson_share", "min_attendance_share", "min_exam_score", "certificate_months")}
        data["min_attendance_share"] = data["min_attendance_share"] or 0
        data["description"] = data["description"] or ""
        data["summary"] = data["summary"] or ""
        for name in ("enroll_opens_at", "enroll_closes_at"):
            data[name] = from_local_naive(self[name].data, tz)
        return data

    def show(self, course, proposed: dict, tz: ZoneInfo) -> None:
        """Show the course with its ``proposed`` fields (the change waiting for review), times in ``tz``."""
        for name in ("enroll_opens_at", "enroll_closes_at"):
            self[name].data = local_naive(proposed.pop(name, getattr(course, name)), tz)
        for name, value in proposed.items():
            self[name].data = value


class LessonForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    body = TextAreaField(_l("Lesson text"), validators=[Optional(), Length(max=100000)], render_kw={"rows": 14},
                         description=_l("Markdown: headings with #, **bold**, lists, links, images."))
    video_url = URLField(_l("Video link (optional)"), validators=[Optional(), Length(max=500)], filters=[strip])
    credit_minutes = IntegerField(_l("Credited minutes"), default=45, validators=[DataRequired(),
                                                                                 NumberRange(1, 600)])

    def data_for_service(self) -> dict:
        """The lesson's fields as the lesson service takes them."""
        return {"title": self.title.data, "body": self.body.data or "", "video_url": self.video_url.data or None,
                "credit_minutes": self.credit_minutes.data}


class SessionForm(Form):
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)], filters=[strip])
    starts_at = DateTimeLocalField(_l("Starts"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=90, validators=[DataRequired(),
                                                                                      NumberRange(10, 720)])
    venue_name = StringField(_l("Venue"), validators=[DataRequired(), Length(max=100)], filters=[strip],
                             description=_l("For example 东城区职工服务站, 市工人文化宫"))
    venue_address = StringField(_l("Address"), validators=[Optional(), Length(max=200)], filters=[strip])
    credit_minutes = IntegerField(_l("Credited minutes"), default=90, validators=[DataRequired(),
                                                                                 NumberRange(1, 720)])

    def data_for_service(self, tz: ZoneInfo) -> dict:
        """The session's fields as the session service takes them: a start typed in ``tz``, in UTC."""
        starts = self.starts_at.data.replace(tzinfo=tz).astimezone(UTC)
        return {"title": self.title.data or None, "starts_at": starts,
                "ends_at": starts + timedelta(minutes=self.duration_minutes.data), "venue_name": self.venue_name.data,
                "venue_address": self.venue_address.data or None, "credit_minutes": self.credit_minutes.data}

    def show(self, values: dict, tz: ZoneInfo) -> None:
        """Show a session's ``values`` (with the change waiting for review, if any), its start in ``tz``."""
        for name in ("title", "venue_name", "venue_address", "credit_minutes"):
            self[name].data = values[name]
        self.starts_at.data = local_naive(values["starts_at"], tz)
        self.duration_minutes.data = int((values["ends_at"] - values["starts_at"]).total_seconds() // 60)


class SeriesForm(Form):
    first_date = DateField(_l("From"), validators=[DataRequired()])
    weekday = SelectField(_l("Weekday"), coerce=bounded_int, choices=WEEKDAYS)
    start = TimeField(_l("Time"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=90, validators=[DataRequired(),
                                                                                      NumberRange(10, 720)])
    count = IntegerField(_l("Number of sessions"), default=8, validators=[DataRequired(), NumberRange(1, 52)])
    venue_name = StringField(_l("Venue"), validators=[DataRequired(), Length(max=100)], filters=[strip])
    venue_address = StringField(_l("Address"), validators=[Optional(), Length(max=200)], filters=[strip])
    credit_minutes = IntegerField(_l("Credited minutes each"), default=90, validators=[DataRequired(),
                                                                                      NumberRange(1, 720)])

    def data_for_service(self) -> dict:
        """The series as ``add_weekly_series`` takes it (but the timezone)."""
        return {"first_date": self.first_date.data, "weekday": self.weekday.data, "start": self.start.data,
                "duration_minutes": self.duration_minutes.data, "count": self.count.data,
                "venue_name": self.venue_name.data, "venue_address": self.venue_address.data or None,
                "credit_minutes": self.credit_minutes.data}


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], filters=[strip])


class AddInstructorForm(Form):
    mobile = StringField(_l("Mobile number of the instructor"), validators=[DataRequired(), Length(max=20)],
                         filters=[strip])


class CatalogueForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search courses"), validators=[Optional(), Length(max=100)], filters=[strip])
    category = SelectField(_l("Trade or category"), validators=[Optional()], validate_choice=False)
    level = SelectField(_l("Target level"), validators=[Optional()], choices=lambda: level_choices(_l("Any level")))
    mode = SelectField(_l("Mode"), validators=[Optional()],
                       choices=[("", _l("Any mode"))] + [(m.value, label) for m, label in MODE_LABELS.items()])
    union = SelectField(_l("Host union"), validators=[Optional()], validate_choice=False)
    seats = BooleanField(_l("Has seats"))
    within = SelectField(_l("Starts within"), validators=[Optional()],
                         choices=[("", _l("Any time")), ("7", _l("7 days")), ("30", _l("30 days")),
                                  ("90", _l("90 days"))])
    sort = SelectField(_l("Sort"), validators=[Optional()],
                       choices=[("newest", _l("Newest")), ("starting", _l("Starting soon")),
                                ("popular", _l("Popular"))])
