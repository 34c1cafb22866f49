"""Competitions: who may see and organize them, authoring (the competition, its stages, events and
notice files), publication and following."""

from __future__ import annotations

import os
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import admin_paths, can_manage_union
from courses.catalog.attachments import discard_file, place_file, receive_file, remove_after_commit
from courses.catalog.models import Course, CourseStatus
from courses.catalog.services import member_union_path
from courses.competitions.models import (
    AWARDS,
    Competition,
    CompetitionAttachment,
    CompetitionEvent,
    CompetitionFollow,
    CompetitionLevel,
    CompetitionStatus,
    Entry,
    Score,
    Stage,
    StageKind,
)

COMPETITION_FIELDS = ("title", "edition", "year", "level", "organizer_union_id", "notice_md", "signup_opens_at",
                      "signup_closes_at", "requires_intermediate_approval")
STAGE_FIELDS = ("name", "kind", "starts_at", "ends_at", "venue", "weight")
EVENT_FIELDS = ("trade", "name", "is_team", "team_min", "team_max", "min_skill_level", "min_age", "max_age",
                "min_years_in_trade", "required_course_id", "required_certificate_occupation",
                "certificate_valid_years", "requires_active_membership", "quota_depth", "quota_per_union",
                "overall_cap", "award_rule", "honor_title", "honor_title_top", "promotion_award")
FILE_FOLDER = "competitions"


# ---- who may do what ------------------------------------------------------------------------------

def can_organize(user, competition: Competition) -> bool:
    """The admins of the organizer union (and above it) run the competition."""
    return user.is_authenticated and can_manage_union(user, competition.organizer_union)


def require_organizer(user, competition: Competition) -> None:
    if not can_organize(user, competition):
        raise NotAllowed(_l("Only the organizer's administrators may change this competition."))


def viewer_union_ids(user) -> list[int]:
    """The unions whose competitions concern this person: those above (and at) their own union and
    the nodes they administer."""
    paths = [member_union_path(user)] if user.is_authenticated else []
    paths += admin_paths(user) or []
    return sorted({int(part) for path in paths if path for part in path.strip("/").split("/") if part})


def visible_clause():
    """SQL over Competition: every published notice, whatever its level, is public (DESIGN §1: anyone
    sees competition notices); who may enter is the eligibility rule's business, not visibility's."""
    return Competition.status != CompetitionStatus.DRAFT


def can_view(user, competition: Competition) -> bool:
    """Published notices are public; a draft only for its organizer."""
    return competition.status != CompetitionStatus.DRAFT or can_organize(user, competition)


def concerns(user, competition: Competition) -> bool:
    """Organized by a union this person administers or at or above their unions: the competitions
    their members may enter and whose entries they may see (admins' pages)."""
    return can_organize(user, competition) or competition.organizer_union_id in viewer_union_ids(user)


def listing(organizer_ids: list[int] | None = None):
    """SELECT of the competitions on /competitions/, sign-up closing soonest first: every published
    one, or those organized by these unions (a person's ``viewer_union_ids``)."""
    statement = select(Competition).where(visible_clause())
    if organizer_ids is not None:
        statement = statement.where(Competition.organizer_union_id.in_(organizer_ids))
    return (statement.options(joinedload(Competition.organizer_union))
            .order_by(Competition.status, Competition.signup_closes_at.desc(), Competition.id.desc()))


def organized_by(user):
    """SELECT of the competitions whose organizer this admin manages (drafts included)."""
    statement = select(Competition).join(TradeUnion, TradeUnion.id == Competition.organizer_union_id)
    paths = admin_paths(user)
    if paths is not None:
        statement = statement.where(or_(*[TradeUnion.path.startswith(path, autoescape=True) for path in paths])
                                    if paths else TradeUnion.id.is_(None))
    return statement.options(joinedload(Competition.organizer_union)).order_by(Competition.created_at.desc())


def with_program(competition_id: int) -> Competition | None:
    """A competition with its organizer, stages, events (and their required courses) and files."""
    return db.session.scalars(
        select(Competition).where(Competition.id == competition_id)
        .options(joinedload(Competition.organizer_union), selectinload(Competition.stages),
                 selectinload(Competition.events).joinedload(CompetitionEvent.required_course),
                 selectinload(Competition.attachments))
    ).one_or_none()


# ---- the competition --------------------------------------------------------------------------------

def create_competition(actor, data: dict, *, now: datetime) -> Competition:
    data = _validated_competition(actor, data, Competition())
    competition = Competition(created_by_id=actor.id, created_at=now, updated_at=now,
                              status=CompetitionStatus.DRAFT, **data)
    db.session.add(competition)
    db.session.flush()
    record_event(actor, "competition.create", competition, union_id=competition.organizer_union_id,
                 title=competition.title)
    return competition


def update_competition(competition: Competition, data: dict, *, actor, now: datetime) -> None:
    require_organizer(actor, competition)
    if competition.status == CompetitionStatus.RESULTS_PUBLISHED:
        raise Conflict(_l("The results are published: the competition can no longer change."))
    data = _validated_competition(actor, data, competition)
    if competition.status != CompetitionStatus.DRAFT and data["organizer_union_id"] != competition.organizer_union_id:
        raise Conflict(_l("The organizer cannot change once the notice is published."), field="organizer_union_id")
    changed = {name: value for name, value in data.items() if getattr(competition, name) != value}
    for name, value in changed.items():
        setattr(competition, name, value)
    competition.updated_at = now
    record_event(actor, "competition.update", competition, union_id=competition.organizer_union_id,
                 fields=sorted(changed))


def _validated_competition(actor, data: dict, competition: Competition) -> dict:
    data = {name: data.get(name, getattr(competition, name)) for name in COMPETITION_FIELDS}
    union = db.session.get(TradeUnion, data["organizer_union_id"]) if data["organizer_union_id"] else None
    if union is None or not can_manage_union(actor, union):
        raise Invalid(_l("Choose a union you administer as the organizer."), field="organizer_union_id")
    if data["level"] not in set(CompetitionLevel):
        raise Invalid(_l("Choose the level of the competition."), field="level")
    if not data["year"] or not 2000 <= data["year"] <= 2100:
        raise Invalid(_l("Enter the year of the competition."), field="year")
    opens, closes = data["signup_opens_at"], data["signup_closes_at"]
    if not opens or not closes:
        raise Invalid(_l("Set when sign-up opens and closes."), field="signup_closes_at")
    if closes <= opens:
        raise Invalid(_l("Sign-up must close after it opens."), field="signup_closes_at")
    data["notice_md"] = data["notice_md"] or ""
    data["requires_intermediate_approval"] = bool(data["requires_intermediate_approval"])
    return data


def publish(competition: Competition, *, actor, now: datetime) -> None:
    """Draft → published: the notice goes public and sign-up follows its window."""
    require_organizer(actor, competition)
    if competition.status != CompetitionStatus.DRAFT:
        raise Conflict(_l("Only a draft can be published."))
    if not competition.events:
        raise Invalid(_l("Add at least one event before publishing."))
    competition.status, competition.published_at = CompetitionStatus.PUBLISHED, now
    record_event(actor, "competition.publish", competition, union_id=competition.organizer_union_id)


def _require_changeable(actor, competition: Competition) -> None:
    require_organizer(actor, competition)
    if competition.status == CompetitionStatus.RESULTS_PUBLISHED:
        raise Conflict(_l("The results are published: the competition can no longer change."))


# ---- stages -----------------------------------------------------------------------------------------

def save_stage(competition: Competition, data: dict, *, actor, stage: Stage | None = None) -> Stage:
    _require_changeable(actor, competition)
    data = {name: data.get(name) for name in STAGE_FIELDS}
    if data["kind"] not in set(StageKind):
        raise Invalid(_l("Choose the kind of round."), field="kind")
    if not data["starts_at"] or not data["ends_at"] or data["ends_at"] <= data["starts_at"]:
        raise Invalid(_l("A round must end after it starts."), field="ends_at")
    data["weight"] = 100 if data["weight"] is None else data["weight"]
    data["venue"] = data["venue"] or ""
    if stage is None:
        stage = Stage(competition_id=competition.id)
        db.session.add(stage)
    for name, value in data.items():
        setattr(stage, name, value)
    db.session.flush()
    record_event(actor, "competition.stage.save", stage, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=stage.name)
    return stage


def delete_stage(stage: Stage, *, actor) -> None:
    competition = stage.competition
    _require_changeable(actor, competition)
    if db.session.scalar(select(exists().where(Score.stage_id == stage.id))):
        raise Conflict(_l("Scores are recorded for this round: it cannot be deleted."))
    record_event(actor, "competition.stage.delete", stage, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=stage.name)
    db.session.delete(stage)


# ---- events ------------------------------------------------------------------------------------------

def save_event(competition: Competition, data: dict, *, actor,
               event: CompetitionEvent | None = None) -> CompetitionEvent:
    _require_changeable(actor, competition)
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
    data["is_team"] = bool(data["is_team"])
    if data["is_team"]:
        low, high = data["team_min"] or 2, data["team_max"] or data["team_min"] or 2
        if not 1 <= low <= high <= 20:
            raise Invalid(_l("A team has between 1 and 20 members, the minimum not above the maximum."),
                          field="team_max")
        data["team_min"], data["team_max"] = low, high
    else:
        data["team_min"] = data["team_max"] = None
    if data["min_skill_level"] is not None and data["min_skill_level"] not in range(1, 6):
        raise Invalid(_l("Choose a skill level."), field="min_skill_level")
    if data["min_age"] is not None and data["max_age"] is not None and data["min_age"] > data["max_age"]:
        raise Invalid(_l("The lowest age cannot be above the highest."), field="max_age")
    if data["required_course_id"] is not None and data["required_course_id"] != keeps_course:
        # A new requirement names a course the competition's entrants can take: published (a draft
        # or a course under review is nobody's to complete, nor its title the organizer's to read)
        # and open to the whole organizing union's members.
        course = db.session.get(Course, data["required_course_id"])
        if course is None or course.status != CourseStatus.PUBLISHED:
            raise Invalid(_l("Choose a published course."), field="required_course_id")
        if not competition.organizer_union.path.startswith(course.scope_union.path):
            raise Invalid(_l("Choose a course open to all members of %(union)s."),
                          field="required_course_id", union=competition.organizer_union.name)
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


def _validate_quota(competition: Competition, data: dict) -> None:
    depth, per_union = data["quota_depth"], data["quota_per_union"]
    if (depth is None) != (per_union is None):
        raise Invalid(_l("Set both the level of the quota unions and the places each may fill, or neither."),
                      field="quota_per_union")
    organizer = db.session.get(TradeUnion, competition.organizer_union_id)
    if depth is not None and depth <= organizer.depth:
        raise Invalid(_l("Quotas apply to unions below the organizer."), field="quota_depth")
    deepest = db.session.scalar(select(func.max(TradeUnion.depth))) or 0
    if depth is not None and depth > deepest:
        raise Invalid(_l("Choose a level of the union tree."), field="quota_depth")
    if per_union is not None and per_union < 1:
        raise Invalid(_l("A quota is at least 1."), field="quota_per_union")
    if data["overall_cap"] is not None and data["overall_cap"] < 1:
        raise Invalid(_l("The cap is at least 1."), field="overall_cap")


def has_entries(event: CompetitionEvent) -> bool:
    return bool(db.session.scalar(select(exists().where(Entry.event_id == event.id))))


def delete_event(event: CompetitionEvent, *, actor) -> None:
    competition = event.competition
    _require_changeable(actor, competition)
    if has_entries(event):
        raise Conflict(_l("People have entered this event: it cannot be deleted."))
    record_event(actor, "competition.event.delete", event, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=event.name)
    db.session.delete(event)


# ---- notice files --------------------------------------------------------------------------------------

def file_folder(upload_folder: str) -> str:
    return os.path.join(upload_folder, FILE_FOLDER)


def add_attachment(competition: Competition, filename: str | None, stream, *, actor, now: datetime, folder: str,
                   max_bytes: int) -> CompetitionAttachment:
    """Check an upload and keep it as a file of the notice; it lives or dies with the transaction."""
    _require_changeable(actor, competition)
    stored = receive_file(filename, stream, folder=file_folder(folder), max_bytes=max_bytes)
    try:
        attachment = CompetitionAttachment(competition_id=competition.id, original_name=stored.original_name,
                                           stored_name=stored.stored_name, content_type=stored.content_type,
                                           size=stored.size, uploaded_by_id=actor.id, uploaded_at=now)
        db.session.add(attachment)
        db.session.flush()
        place_file(stored, file_folder(folder))
    finally:
        discard_file(stored.temp_path)
    record_event(actor, "competition.file.add", attachment, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=attachment.original_name)
    return attachment


def delete_attachment(attachment: CompetitionAttachment, competition: Competition, *, actor, folder: str) -> None:
    """Delete the row now and its file once the transaction commits."""
    _require_changeable(actor, competition)
    remove_after_commit(attachment.stored_name, os.path.join(file_folder(folder), attachment.stored_name))
    record_event(actor, "competition.file.delete", attachment, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=attachment.original_name)
    db.session.delete(attachment)


# ---- following ---------------------------------------------------------------------------------------

def is_following(user, competition: Competition) -> bool:
    return user.is_authenticated and db.session.scalar(
        select(CompetitionFollow.id).filter_by(user_id=user.id, competition_id=competition.id)) is not None


def set_following(user, competition: Competition, follow: bool, *, now: datetime) -> None:
    existing = db.session.scalar(select(CompetitionFollow).filter_by(user_id=user.id, competition_id=competition.id))
    if follow and existing is None:
        db.session.add(CompetitionFollow(user_id=user.id, competition_id=competition.id, created_at=now))
    elif not follow and existing is not None:
        db.session.delete(existing)
