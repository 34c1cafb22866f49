"""Competition forms: the notice, rounds, events, teams, decisions, nominations and results."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from classroom.accounts.forms import strip
from classroom.domain import Invalid
from classroom.forms import Form, IntegerField, bounded_int
from classroom.timefmt import from_local_naive, local_naive
from courses.catalog.forms import level_choices
from courses.competitions.models import AWARD_LABELS, AWARDS, LEVEL_LABELS, STAGE_KIND_LABELS
from courses.competitions.results import parse_points

DEPTH_LABELS = {1: _l("District and industry unions"), 2: _l("Grassroots unions")}


def _optional_int(value):
    return int(value) if value not in (None, "") else None


class CompetitionForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip],
                        description=_l("For example 2026年全市职工职业技能大赛"))
    edition = StringField(_l("Edition (optional)"), validators=[Optional(), Length(max=50)], filters=[strip],
                          description=_l("For example 第十届"))
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)],
                        description=_l("Ages are counted as this year minus the year of birth."))
    level = SelectField(_l("Level"), choices=[(level.value, label) for level, label in LEVEL_LABELS.items()])
    organizer_union_id = SelectField(_l("Organizer"), coerce=bounded_int, validate_choice=False,
                                     description=_l("Members of this union and the unions below it may enter."))
    notice_md = TextAreaField(_l("Notice"), validators=[Optional(), Length(max=50000)], render_kw={"rows": 10},
                              description=_l("Markdown: rules, schedule, prizes, contacts."))
    signup_opens_at = DateTimeLocalField(_l("Sign-up opens"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    signup_closes_at = DateTimeLocalField(_l("Sign-up closes"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    requires_intermediate_approval = BooleanField(
        _l("Each union between the grassroots union and the organizer approves too"))

    def fill_times(self, competition, tz: ZoneInfo) -> None:
        """Show the sign-up window as wall-clock times in ``tz``."""
        self.signup_opens_at.data = local_naive(competition.signup_opens_at, tz)
        self.signup_closes_at.data = local_naive(competition.signup_closes_at, tz)

    def data_for_service(self, tz: ZoneInfo) -> dict:
        """The fields as the authoring service takes them (times typed in ``tz``)."""
        data = {name: self[name].data for name in ("title", "edition", "year", "level", "organizer_union_id",
                                                   "notice_md", "requires_intermediate_approval")}
        data["edition"] = data["edition"] or None
        data["signup_opens_at"] = from_local_naive(self.signup_opens_at.data, tz)
        data["signup_closes_at"] = from_local_naive(self.signup_closes_at.data, tz)
        return data


class StageForm(Form):
    name = StringField(_l("Round"), validators=[DataRequired(), Length(max=100)], filters=[strip],
                       description=_l("For example 理论预赛 (online) or 实操决赛"))
    kind = SelectField(_l("Kind"), choices=[(kind.value, label) for kind, label in STAGE_KIND_LABELS.items()])
    starts_at = DateTimeLocalField(_l("Starts"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    ends_at = DateTimeLocalField(_l("Ends"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)], filters=[strip],
                        description=_l("For example 市职工技能实训基地, or “online”"))
    weight = IntegerField(_l("Weight in the total (%)"), default=100, validators=[DataRequired(), NumberRange(1, 100)])

    def fill_times(self, stage, tz: ZoneInfo) -> None:
        """Show the round's times as wall-clock times in ``tz``."""
        self.starts_at.data, self.ends_at.data = local_naive(stage.starts_at, tz), local_naive(stage.ends_at, tz)

    def data_for_service(self, tz: ZoneInfo) -> dict:
        """The fields as the authoring service takes them (times typed in ``tz``)."""
        return {"name": self.name.data, "kind": self.kind.data, "venue": self.venue.data or "",
                "weight": self.weight.data, "starts_at": from_local_naive(self.starts_at.data, tz),
                "ends_at": from_local_naive(self.ends_at.data, tz)}


class EventForm(Form):
    name = StringField(_l("Event"), validators=[DataRequired(), Length(max=200)], filters=[strip],
                       description=_l("For example 电工（个人赛）"))
    trade = StringField(_l("Trade"), validators=[DataRequired(), Length(max=50)], filters=[strip])
    is_team = BooleanField(_l("Team event"))
    team_min = IntegerField(_l("Smallest team"), validators=[Optional(), NumberRange(1, 20)])
    team_max = IntegerField(_l("Largest team"), validators=[Optional(), NumberRange(1, 20)])
    min_skill_level = SelectField(_l("Lowest skill level"), coerce=_optional_int,
                                  choices=lambda: level_choices(_l("Any level")))
    min_age = IntegerField(_l("Youngest age"), validators=[Optional(), NumberRange(16, 80)])
    max_age = IntegerField(_l("Oldest age"), validators=[Optional(), NumberRange(16, 80)])
    min_years_in_trade = IntegerField(_l("Years in the trade, at least"), validators=[Optional(), NumberRange(1, 50)])
    required_course_id = IntegerField(_l("Course to have completed (number)"), validators=[Optional()],
                                      description=_l("The number in the course's address: 12 for /courses/12."))
    required_certificate_occupation = StringField(
        _l("Skill certificate required (occupation)"), validators=[Optional(), Length(max=100)], filters=[strip],
        description=_l("A verified external skill certificate of this occupation, e.g. 电工."))
    certificate_valid_years = IntegerField(_l("Certificates count for (years)"),
                                           validators=[Optional(), NumberRange(1, 50)],
                                           description=_l("Leave empty when certificates never expire."))
    requires_active_membership = BooleanField(_l("Active union membership required"), default=True)
    quota_depth = SelectField(_l("Quota per union of"), coerce=_optional_int, validate_choice=False)
    quota_per_union = IntegerField(_l("Places per union"), validators=[Optional(), NumberRange(1, 10000)])
    overall_cap = IntegerField(_l("Places in the event (confirmed)"), validators=[Optional(), NumberRange(1, 100000)])
    award_first = IntegerField(AWARD_LABELS["first"], default=1, validators=[Optional(), NumberRange(0, 1000)])
    award_second = IntegerField(AWARD_LABELS["second"], default=2, validators=[Optional(), NumberRange(0, 1000)])
    award_third = IntegerField(AWARD_LABELS["third"], default=3, validators=[Optional(), NumberRange(0, 1000)])
    award_merit = IntegerField(AWARD_LABELS["merit"], default=5, validators=[Optional(), NumberRange(0, 1000)])
    honor_title = StringField(_l("Honour title (optional)"), validators=[Optional(), Length(max=50)], filters=[strip],
                              description=_l("For example 技术能手"))
    honor_title_top = IntegerField(_l("Honour title for ranks 1 to"), validators=[Optional(), NumberRange(1, 1000)])
    promotion_award = SelectField(_l("Skill-level promotion for"), default="", choices=[("", _l("No promotion"))] + [
        (award, _l("%(award)s and better", award=AWARD_LABELS[award])) for award in AWARDS])

    def set_depths(self, organizer_depth: int) -> None:
        """The quota levels an organizer at this tree depth may choose (the levels below it)."""
        self.quota_depth.choices = [("", _l("No quota per union"))] + [
            (depth, DEPTH_LABELS.get(depth, label)) for depth, label in
            ((depth, _l("Unions at depth %(depth)d", depth=depth)) for depth in range(organizer_depth + 1, 3))]

    def data_for_service(self) -> dict:
        """The fields as the authoring service takes them."""
        names = ("name", "trade", "is_team", "team_min", "team_max", "min_skill_level", "min_age", "max_age",
                 "min_years_in_trade", "required_course_id", "required_certificate_occupation",
                 "certificate_valid_years", "requires_active_membership", "quota_depth", "quota_per_union",
                 "overall_cap", "honor_title", "honor_title_top", "promotion_award")
        data = {name: self[name].data for name in names}
        data["award_rule"] = {award: self[f"award_{award}"].data or 0 for award in AWARDS}
        return data

    def fill_awards(self, event) -> None:
        """Show the event's award rule and promotion award."""
        for award in AWARDS:
            self[f"award_{award}"].data = (event.award_rule or {}).get(award, 0)
        self.promotion_award.data = event.promotion_award or ""


class TeamForm(Form):
    team_name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=100)], filters=[strip])


class InviteForm(Form):
    mobile = StringField(_l("Mobile number of the member"), validators=[DataRequired(), Length(max=20)],
                         filters=[strip], render_kw={"inputmode": "tel", "autocomplete": "off"})


class ReasonForm(Form):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)], filters=[strip])


class NominateForm(Form):
    event_id = SelectField(_l("Event"), coerce=bounded_int, validate_choice=False)
    mobile = StringField(_l("Mobile number of the member"), validators=[DataRequired(), Length(max=20)],
                         filters=[strip], render_kw={"inputmode": "tel"})


class ScoreImportForm(Form):
    file = FileField(_l("Score sheet (XLSX or CSV)"), validators=[FileRequired()],
                     description=_l("First row: 手机号 (mobile) and/or 姓名 (name), then one column per round, headed "
                                    "with the round's name. Nothing is recorded unless every row is right."))


class AwardForm(Form):
    award = SelectField(_l("Award"), choices=[("rule", _l("By the event's rule")), ("", _l("No award")),
                                              *[(award, AWARD_LABELS[award]) for award in AWARDS]])
    honor_title = StringField(_l("Honour title"), validators=[Optional(), Length(max=50)], filters=[strip])


def scores_from_form(formdata, entry_ids: list[int], stage_ids: list[int]) -> tuple[dict, list[str]]:
    """{entry id: {stage id: points or None}} from inputs named score-<entry>-<stage>, and the
    names of the inputs whose value is not a score."""
    scores: dict[int, dict] = {}
    bad: list[str] = []
    for entry_id in entry_ids:
        for stage_id in stage_ids:
            name = f"score-{entry_id}-{stage_id}"
            if name not in formdata:
                continue
            try:
                scores.setdefault(entry_id, {})[stage_id] = parse_points(formdata.get(name))
            except Invalid:
                bad.append(name)
    return scores, bad
