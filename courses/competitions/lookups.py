"""The objects a competition URL names, or 404 (with an audit event for admins reaching outside
their scope), and the commit-or-refuse step every POST view shares."""

from __future__ import annotations

from flask import abort, flash
from flask_login import current_user
from sqlalchemy import select

from classroom.domain import DomainError
from classroom.extensions import db
from classroom.unions import scope
from courses.competitions import approvals, services
from courses.competitions.models import Competition, CompetitionEvent, Entry, EntryMember


def visible_competition_or_404(competition_id: int) -> Competition:
    competition = services.with_program(competition_id)
    if competition is None or not services.can_view(current_user, competition):
        abort(404)
    return competition


def organized_competition_or_404(competition_id: int) -> Competition:
    competition = services.with_program(competition_id)
    if competition is None:
        abort(404)
    if not services.can_organize(current_user, competition):
        scope.deny(current_user, "Competition", competition_id, union_id=competition.organizer_union_id)
    return competition


def organized_event_or_404(event_id: int) -> CompetitionEvent:
    event = db.session.get(CompetitionEvent, event_id)
    if event is None:
        abort(404)
    if not services.can_organize(current_user, event.competition):
        scope.deny(current_user, "CompetitionEvent", event_id, union_id=event.competition.organizer_union_id)
    return event


def visible_event_or_404(event_id: int) -> CompetitionEvent:
    event = db.session.get(CompetitionEvent, event_id)
    if event is None or not services.can_view(current_user, event.competition):
        abort(404)
    return event


def reviewable_entry_or_404(entry_id: int) -> Entry:
    """An entry an admin may see: of a competition they organize, or nominated within their unions."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if not approvals.may_review(current_user, entry):
        scope.deny(current_user, "Entry", entry_id, union_id=entry.nominating_union_id)
    return entry


def is_in_entry(user_id: int, entry_id: int) -> bool:
    return db.session.scalar(select(EntryMember.id).filter_by(entry_id=entry_id, user_id=user_id)) is not None


def entry_page_or_404(entry_id: int) -> Entry:
    """An entry its people (the invited included) or its admins may open."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if not is_in_entry(current_user.id, entry.id) and not approvals.may_review(current_user, entry):
        scope.deny(current_user, "Entry", entry_id, union_id=entry.nominating_union_id)
    return entry


def own_invitation_or_404(member_id: int) -> EntryMember:
    member = db.session.get(EntryMember, member_id)
    if member is None or member.user_id != current_user.id:
        abort(404)
    return member


def attempt(action, success: str | None = None) -> DomainError | None:
    """Run a service: commit and flash ``success``, or roll back and flash its refusal."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return error
    db.session.commit()
    if success:
        flash(success, "success")
    return None
