"""The competition API's documents: competitions with their rounds and events, eligibility, entries (their
result once the results are published), team invitations and the public results (names masked)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import missing

from classroom.api.schemas import instant, text
from courses.competitions.models import (
    AWARDS,
    CompetitionLevel,
    CompetitionStatus,
    EntryStatus,
    MemberStatus,
    StageKind,
)


class NamedRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CompetitionRefSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)


class CompetitionSchema(CompetitionRefSchema):
    edition = fields.String(required=True, allow_none=True)
    year = fields.Integer(required=True)
    level = fields.String(required=True, metadata={"enum": [level.value for level in CompetitionLevel]})
    status = fields.String(required=True, metadata={"enum": [status.value for status in CompetitionStatus]})
    organizer = fields.Nested(NamedRefSchema, required=True, attribute="organizer_union")
    signup_opens_at = instant(required=True)
    signup_closes_at = instant(required=True)
    results_published_at = instant(required=True, allow_none=True)


class CompetitionStageSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [kind.value for kind in StageKind]})
    starts_at = instant(required=True)
    ends_at = instant(required=True)
    venue = fields.String(required=True)
    weight = fields.Integer(required=True, metadata={"description": "Per cent of the total."})


class RequiredCourseSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)


class CompetitionEventSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    trade = fields.String(required=True)
    is_team = fields.Boolean(required=True)
    team_min = fields.Integer(required=True, allow_none=True)
    team_max = fields.Integer(required=True, allow_none=True)
    min_skill_level = fields.Integer(required=True, allow_none=True,
                                     metadata={"description": "5 (junior) … 1: the entrant's level or higher."})
    min_age = fields.Integer(required=True, allow_none=True)
    max_age = fields.Integer(required=True, allow_none=True)
    min_years_in_trade = fields.Integer(required=True, allow_none=True)
    required_course = fields.Nested(RequiredCourseSchema, required=True, allow_none=True)
    required_certificate_occupation = fields.String(required=True, allow_none=True)
    requires_active_membership = fields.Boolean(required=True)
    quota_per_union = fields.Integer(required=True, allow_none=True)
    overall_cap = fields.Integer(required=True, allow_none=True)


class CompetitionDetailSchema(CompetitionSchema):
    notice = fields.String(required=True, attribute="notice_md", metadata={"description": "Markdown."})
    stages = fields.List(fields.Nested(CompetitionStageSchema), required=True)
    events = fields.List(fields.Nested(CompetitionEventSchema), required=True)


class EntryRefSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in EntryStatus]})


class EligibilitySchema(Schema):
    event_id = fields.Integer(required=True)
    eligible = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), required=True,
                          metadata={"description": "Why not, in the caller's language (empty when eligible)."})
    entry = fields.Nested(EntryRefSchema, required=True, allow_none=True,
                          metadata={"description": "The caller's live entry in the event, if any."})


class EntryResultSchema(Schema):
    rank = fields.Integer(required=True, allow_none=True)
    total = fields.Decimal(required=True, allow_none=True, as_string=True, places=2)
    award = fields.String(required=True, allow_none=True, metadata={"enum": [*AWARDS, None]})
    honor_title = fields.String(required=True, allow_none=True)


class PublishedResult(fields.Nested):
    """The entry itself as its result once its competition's results are published; null before."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj if obj.competition.status == CompetitionStatus.RESULTS_PUBLISHED else None


class TeamMemberSchema(Schema):
    id = fields.Integer(required=True)
    real_name = fields.Function(lambda member: member.user.real_name, required=True,
                                metadata={"type": "string"})
    status = fields.String(required=True, metadata={"enum": [status.value for status in MemberStatus]})
    is_captain = fields.Boolean(required=True)
    invited_at = instant(required=True)
    responded_at = instant(required=True, allow_none=True)


class EntrySchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in EntryStatus]})
    competition = fields.Nested(CompetitionRefSchema, required=True)
    event = fields.Nested(NamedRefSchema, required=True)
    team_name = fields.String(required=True, allow_none=True)
    nominating_union = fields.Nested(NamedRefSchema, required=True)
    created_at = instant(required=True)
    submitted_at = instant(required=True, allow_none=True)
    confirmed_at = instant(required=True, allow_none=True)
    result = PublishedResult(EntryResultSchema, required=True, allow_none=True,
                             metadata={"description": "Once the competition's results are published."})


class EntryDetailSchema(EntrySchema):
    members = fields.List(fields.Nested(TeamMemberSchema), required=True,
                          metadata={"description": "Everyone invited to or in the entry, captain first."})


class SignUpSchema(Schema):
    team_name = text(100, metadata={"description": "A team event's team name (the caller is its captain)."})


class TeamInviteSchema(Schema):
    mobile = text(20, required=True, metadata={"description": "The invited worker's mobile number."})


class InvitationEntrySchema(Schema):
    id = fields.Integer(required=True)
    team_name = fields.String(required=True, allow_none=True)
    captain = fields.Function(lambda entry: entry.applicant.real_name, required=True, metadata={"type": "string"})
    competition = fields.Nested(CompetitionRefSchema, required=True)
    event = fields.Nested(NamedRefSchema, required=True)


class InvitationSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in MemberStatus]})
    entry = fields.Nested(InvitationEntrySchema, required=True)
    invited_at = instant(required=True)
    responded_at = instant(required=True, allow_none=True)


class PublicResultSchema(EntryResultSchema):
    entry_id = fields.Integer(required=True)
    team_name = fields.String(required=True, allow_none=True)
    names = fields.String(required=True, metadata={"description": "The people of the entry, masked (张*明、李*)."})
    union = fields.Nested(NamedRefSchema, required=True, metadata={"description": "The nominating union."})
