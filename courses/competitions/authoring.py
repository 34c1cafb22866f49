"""Organizers author a competition: the competition and its notice, publishing it, and its rounds.
(Events are event_authoring's, notice files notice_files'.)"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from classroom.audit import record_event
from classroom.domain import Conflict, Invalid
from classroom.extensions import db
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_union
from courses.competitions.access import require_changeable, require_organizer
from courses.competitions.models import Competition, CompetitionLevel, CompetitionStatus, Score, Stage, StageKind

COMPETITION_FIELDS = ("title", "edition", "year", "level", "organizer_union_id", "notice_md", "signup_opens_at",
                      "signup_closes_at", "requires_intermediate_approval")
STAGE_FIELDS = ("name", "kind", "starts_at", "ends_at", "venue", "weight")


def create_competition(actor, data: dict, *, now: datetime) -> Competition:
    """A new draft competition, organized by a union the actor administers."""
    data = _validated_competition(actor, data, Competition())
    competition = Competition(created_by_id=actor.id, created_at=now, updated_at=now,
                              status=CompetitionStatus.DRAFT, **data)
    db.session.add(competition)
    db.session.flush()
    record_event(actor, "competition.create", competition, union_id=competition.organizer_union_id,
                 title=competition.title)
    return competition


def update_competition(competition: Competition, data: dict, *, actor, now: datetime) -> Competition:
    """Change the competition's fields (its organizer only while it is a draft)."""
    require_changeable(actor, competition)
    data = _validated_competition(actor, data, competition)
    if competition.status != CompetitionStatus.DRAFT and data["organizer_union_id"] != competition.organizer_union_id:
        raise Conflict(_l("The organizer cannot change once the notice is published."), field="organizer_union_id")
    changed = {name: value for name, value in data.items() if getattr(competition, name) != value}
    for name, value in changed.items():
        setattr(competition, name, value)
    competition.updated_at = now
    record_event(actor, "competition.update", competition, union_id=competition.organizer_union_id,
                 fields=sorted(changed))
    return competition


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


# ---- rounds -----------------------------------------------------------------------------------------

def save_stage(competition: Competition, data: dict, *, actor, stage: Stage | None = None) -> Stage:
    """Add a round to the competition, or change ``stage``."""
    require_changeable(actor, competition)
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
    """Delete a round nobody has a score in."""
    competition = stage.competition
    require_changeable(actor, competition)
    if db.session.scalar(select(exists().where(Score.stage_id == stage.id))):
        raise Conflict(_l("Scores are recorded for this round: it cannot be deleted."))
    record_event(actor, "competition.stage.delete", stage, union_id=competition.organizer_union_id,
                 competition_id=competition.id, name=stage.name)
    db.session.delete(stage)
