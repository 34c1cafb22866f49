"""Organizers author a competition's events (赛项): who may enter, quotas and caps, the award rule."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from courses.catalog.models import Course, CourseStatus
from courses.competitions.access import require_changeable
from courses.competitions.models import AWARDS, Competition, CompetitionEvent, Entry

EVENT_FIELDS = ("trade", "name", "is_team", "team_min", "team_max", "min_skill_level", "min_age", "max_age",
                "min_years_in_trade", "required_course_id", "required_certificate_occupation",
                "certificate_valid_years", "requires_active_membership", "quota_depth", "quota_per_union",
                "overall_cap", "award_rule", "honor_title", "honor_title_top", "promotion_award")


def save_event(competition: Competition, data: dict, *, actor,
               event: CompetitionEvent | None = None) -> CompetitionEvent:
    """Add an event to the competition, or change ``event`` (not between individual and team once entered)."""
    require_changeable(actor, competition)
    data = _validated_event(competition, {name: data.get(name) for name in EVENT_FIELDS},
                            keeps_course=event.required_course_id if event else None)
    if event is not None and data["is_team"] != event.is_team and has_entries(event):
        raise Conflict(_l("People have entered: the event cannot switch between individual and team."),
                       field="is_team")
    if event is None:
        event = CompetitionEvent(competition_id=competition.id, confirmed_count=0)
        db.session.add(event)
    for name, value in data.items():
        setattr(event, name, value)
    db.session.flush()
    record_event(actor, "competition.event.save", event, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=event.name)
    return event


def _validated_event(competition: Competition, data: dict, *, keeps_course: int | None = None) -> dict:
    _validate_team(data)
    if data["min_skill_level"] is not None and data["min_skill_level"] not in range(1, 6):
        raise Invalid(_l("Choose a skill level."), field="min_skill_level")
    if data["min_age"] is not None and data["max_age"] is not None and data["min_age"] > data["max_age"]:
        raise Invalid(_l("The lowest age cannot be above the highest."), field="max_age")
    if data["required_course_id"] is not None and data["required_course_id"] != keeps_course:
        _validate_course(competition, data["required_course_id"])
    _validate_quota(competition, data)
    rule = data["award_rule"] or {}
    data["award_rule"] = {award: int(rule.get(award) or 0) for award in AWARDS}
    if any(count < 0 for count in data["award_rule"].values()):
        raise Invalid(_l("Award places cannot be negative."), field="award_rule")
    if data["promotion_award"] not in (None, "", *AWARDS):
        raise Invalid(_l("Choose an award."), field="promotion_award")
    data["promotion_award"] = data["promotion_award"] or None
    data["required_certificate_occupation"] = (data["required_certificate_occupation"] or "").strip() or None
    data["honor_title"] = (data["honor_title"] or "").strip() or None
    data["requires_active_membership"] = data["requires_active_membership"] is not False
    return data


def _validate_team(data: dict) -> None:
    data["is_team"] = bool(data["is_team"])
    if not data["is_team"]:
        data["team_min"] = data["team_max"] = None
        return
    low, high = data["team_min"] or 2, data["team_max"] or data["team_min"] or 2
    if not 1 <= low <= high <= 20:
        raise Invalid(_l("A team has between 1 and 20 members, the minimum not above the maximum."),
                      field="team_max")
    data["team_min"], data["team_max"] = low, high


def _validate_course(competition: Competition, course_id: int) -> None:
    """A new requirement names a course the competition's entrants can take: published (a draft or a
    course under review is nobody's to complete, nor its title the organizer's to read) and open to
    the whole organizing union's members."""
    course = db.session.get(Course, course_id)
    if course is None or course.status != CourseStatus.PUBLISHED:
        raise Invalid(_l("Choose a published course."), field="required_course_id")
    if not competition.organizer_union.path.startswith(course.scope_union.path):
        raise Invalid(_l("Choose a course open to all members of %(union)s."),
                      field="required_course_id", union=competition.organizer_union.name)


def _validate_quota(competition: Competition, data: dict) -> None:
    depth, per_union = data["quota_depth"], data["quota_per_union"]
    if (depth is None) != (per_union is None):
        raise Invalid(_l("Set both the level of the quota unions and the places each may fill, or neither."),
                      field="quota_per_union")
    if depth is not None and depth <= competition.organizer_union.depth:
        raise Invalid(_l("Quotas apply to unions below the organizer."), field="quota_depth")
    deepest = db.session.scalar(select(func.max(TradeUnion.depth))) or 0
    if depth is not None and depth > deepest:
        raise Invalid(_l("Choose a level of the union tree."), field="quota_depth")
    if per_union is not None and per_union < 1:
        raise Invalid(_l("A quota is at least 1."), field="quota_per_union")
    if data["overall_cap"] is not None and data["overall_cap"] < 1:
        raise Invalid(_l("The cap is at least 1."), field="overall_cap")


def has_entries(event: CompetitionEvent) -> bool:
    """Whether anyone has entered the event (whatever became of the entry)."""
    return bool(db.session.scalar(select(exists().where(Entry.event_id == event.id))))


def delete_event(event: CompetitionEvent, *, actor) -> None:
    """Delete an event nobody has entered."""
    competition = event.competition
    require_changeable(actor, competition)
    if has_entries(event):
        raise Conflict(_l("People have entered this event: it cannot be deleted."))
    record_event(actor, "competition.event.delete", event, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=event.name)
    db.session.delete(event)
