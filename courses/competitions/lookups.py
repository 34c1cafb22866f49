"""The objects a competition URL names, or 404 (with an audit event for admins reaching outside
their scope)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from classroom.extensions import db
from classroom.unions import scope
from courses.competitions.access import can_organize, can_view, concerns
from courses.competitions.catalogue import with_program
from courses.competitions.models import Competition, CompetitionEvent, CompetitionStatus, Entry, EntryMember
from courses.competitions.review import may_review


def visible_competition_or_404(competition_id: int) -> Competition:
    """A competition the current person may see, with its program."""
    competition = with_program(competition_id)
    if competition is None or not can_view(current_user, competition):
        abort(404)
    return competition


def organized_competition_or_404(competition_id: int) -> Competition:
    """A competition the current admin organizes."""
    competition = with_program(competition_id)
    if competition is None:
        abort(404)
    if not can_organize(current_user, competition):
        scope.deny(current_user, "Competition", competition_id, union_id=competition.organizer_union_id)
    return competition


def admin_competition_or_404(competition_id: int) -> Competition:
    """A published competition organized by or for this admin's unions (notices are public, entry
    pages are not)."""
    competition = visible_competition_or_404(competition_id)
    if competition.status == CompetitionStatus.DRAFT or not concerns(current_user, competition):
        abort(404)
    return competition


def organized_event_or_404(event_id: int) -> CompetitionEvent:
    """An event of a competition the current admin organizes."""
    event = db.session.get(CompetitionEvent, event_id)
    if event is None:
        abort(404)
    if not can_organize(current_user, event.competition):
        scope.deny(current_user, "CompetitionEvent", event_id, union_id=event.competition.organizer_union_id)
    return event


def visible_event_or_404(event_id: int) -> CompetitionEvent:
    """An event of a competition the current person may see."""
    event = db.session.get(CompetitionEvent, event_id)
    if event is None or not can_view(current_user, event.competition):
        abort(404)
    return event


def organized_entry_or_404(entry_id: int) -> Entry:
    """An entry of an event the current admin organizes (awards are the organizer's)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    organized_event_or_404(entry.event_id)
    return entry


def reviewable_entry_or_404(entry_id: int) -> Entry:
    """An entry an admin may see: of a competition they organize, or nominated within their unions."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if not may_review(current_user, entry):
        scope.deny(current_user, "Entry", entry_id, union_id=entry.nominating_union_id)
    return entry


def is_in_entry(user_id: int, entry_id: int) -> bool:
    """Whether the person is in the entry (invited included)."""
    return db.session.scalar(select(EntryMember.id).filter_by(entry_id=entry_id, user_id=user_id)) is not None


def entry_page_or_404(entry_id: int) -> Entry:
    """An entry its people (the invited included) or its admins may open."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404)
    if not is_in_entry(current_user.id, entry.id) and not may_review(current_user, entry):
        scope.deny(current_user, "Entry", entry_id, union_id=entry.nominating_union_id)
    return entry


def own_invitation_or_404(member_id: int) -> EntryMember:
    """An invitation addressed to the current person."""
    member = db.session.get(EntryMember, member_id)
    if member is None or member.user_id != current_user.id:
        abort(404)
    return member
