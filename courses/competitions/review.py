"""What admins see of entries: those waiting for their decision, a competition's entries within their
unions (listed, summed up by union and event, printed for the venue), and who may review or decide one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.pagination import bounded_count_of
from classroom.unions.models import TradeUnion
from classroom.unions.scope import admin_paths, can_manage_union, under
from courses.competitions.access import can_organize
from courses.competitions.models import (
    WAITING_STATUSES,
    Competition,
    CompetitionEvent,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
)

ENTRY_OPTIONS = (joinedload(Entry.applicant), joinedload(Entry.event), joinedload(Entry.competition),
                 joinedload(Entry.nominating_union), joinedload(Entry.pending_union))
WAITING_ORDER = (Entry.submitted_at, Entry.id)  # oldest first: keyset on ix_competition_entry_waiting
LISTING_ORDER = (Entry.event_id, Entry.nominating_union_id, Entry.id)  # on ix_competition_entry_listing


def waiting_key(entry: Entry) -> tuple:
    """The sort key of an entry waiting for a decision (its cursor)."""
    return entry.submitted_at, entry.id


def listing_key(entry: Entry) -> tuple:
    """The sort key of an entry in a competition's list (its cursor)."""
    return entry.event_id, entry.nominating_union_id, entry.id


def _waiting(admin) -> Select[Entry]:
    pending = TradeUnion.__table__.alias("pending_union_scope")
    paths = admin_paths(admin)
    statement = (select(Entry).join(pending, pending.c.id == Entry.pending_union_id)
                 .where(Entry.status.in_(WAITING_STATUSES)))
    return statement if paths is None else statement.where(under(paths, pending.c.path))


def waiting_for(admin) -> Select[Entry]:
    """SELECT of the entries whose current step this admin may decide, oldest first. The organizer's
    confirmations count for the admins of the organizer union and above."""
    return _waiting(admin).options(*ENTRY_OPTIONS).order_by(*WAITING_ORDER)


def waiting_count(admin) -> ScalarSelect[int]:
    """SQL: how many entries wait for this admin's decision, counting no further than one past
    COUNT_BOUND (``pagination.capped`` reads it; the home page asks with its other figures)."""
    return bounded_count_of(_waiting(admin))


def entries_clause(viewer, competition: Competition) -> ColumnElement[bool]:
    """SQL over Entry: the entries of this competition the viewer may see (all for its organizer,
    those nominated within their unions for other admins)."""
    if can_organize(viewer, competition):
        return Entry.competition_id == competition.id
    nominating = TradeUnion.__table__.alias("nominating_scope")
    return and_(Entry.competition_id == competition.id,
                Entry.nominating_union_id.in_(select(nominating.c.id).where(
                    under(admin_paths(viewer) or [], nominating.c.path))))


def may_review(viewer, entry: Entry) -> bool:
    """An admin of the organizer, or of the union that nominated the entry."""
    return viewer.is_authenticated and (can_organize(viewer, entry.competition)
                                        or can_manage_union(viewer, entry.nominating_union))


def may_decide(viewer, entry: Entry) -> bool:
    """Whether the viewer decides the entry's current step (the organizer confirms approved ones)."""
    if entry.status == EntryStatus.APPROVED:
        return can_organize(viewer, entry.competition)
    return entry.status == EntryStatus.SUBMITTED and can_manage_union(viewer, entry.pending_union)


def listing(viewer, competition: Competition, *, event_id: int | None = None, union_id: int | None = None,
            status: str = "") -> Select[Entry]:
    """SELECT of the entries the viewer may see, filtered by event, nominating union (and below) and status."""
    statement = select(Entry).where(entries_clause(viewer, competition))
    if event_id:
        statement = statement.where(Entry.event_id == event_id)
    if status:
        statement = statement.where(Entry.status == status)
    if union_id:
        union = db.session.get(TradeUnion, union_id)
        below = select(TradeUnion.id).where(TradeUnion.path.startswith(union.path if union else "-", autoescape=True))
        statement = statement.where(Entry.nominating_union_id.in_(below))
    return statement.options(*ENTRY_OPTIONS).order_by(*LISTING_ORDER)


@dataclass(frozen=True)
class PrintLine:
    """One person on the venue list; ``number`` only on the first line of an entry."""

    number: int | None
    entry_id: int
    team_name: str | None
    name: str
    union: str


def print_lines(viewer, competition: Competition, event_id: int) -> list[PrintLine]:
    """Every confirmed entry of the event the viewer may see, one line per person who accepted, captain
    first, by nominating union: one query, whatever the number of entries."""
    rows = db.session.execute(
        select(Entry.id, Entry.team_name, User.real_name, TradeUnion.name)
        .join(EntryMember, EntryMember.entry_id == Entry.id).join(User, User.id == EntryMember.user_id)
        .join(TradeUnion, TradeUnion.id == Entry.nominating_union_id)
        .where(entries_clause(viewer, competition), Entry.event_id == event_id,
               Entry.status == EntryStatus.CONFIRMED, EntryMember.status == MemberStatus.ACCEPTED)
        .order_by(Entry.nominating_union_id, Entry.id, EntryMember.is_captain.desc(), EntryMember.id)
    ).all()
    lines, number, previous = [], 0, None
    for entry_id, team_name, real_name, union_name in rows:
        first = entry_id != previous
        number += first
        lines.append(PrintLine(number if first else None, entry_id, team_name if first else None, real_name,
                               union_name))
        previous = entry_id
    return lines


def summary(viewer, competition: Competition) -> Select[str, str, str, int]:
    """SELECT of (event name, nominating union name, status, count): the entries by union and event."""
    return (select(CompetitionEvent.name, TradeUnion.name, Entry.status, func.count(Entry.id))
            .join(CompetitionEvent, CompetitionEvent.id == Entry.event_id)
            .join(TradeUnion, TradeUnion.id == Entry.nominating_union_id)
            .where(entries_clause(viewer, competition))
            .group_by(CompetitionEvent.id, CompetitionEvent.name, TradeUnion.id, TradeUnion.name, Entry.status)
            .order_by(CompetitionEvent.id, TradeUnion.name, Entry.status))


def status_counts(competition_id: int) -> dict[tuple[int, str], int]:
    """{(event id, status): entries} of a competition (one query)."""
    return {(event_id, status): count for event_id, status, count in db.session.execute(
        select(Entry.event_id, Entry.status, func.count()).where(Entry.competition_id == competition_id)
        .group_by(Entry.event_id, Entry.status))}


def people_by_entry(entry_ids: list[int]) -> dict[int, list[User]]:
    """{entry id: the people who accepted, captain first} (one query)."""
    found: dict[int, list[User]] = {}
    if entry_ids:
        for entry_id, person in db.session.execute(
                select(EntryMember.entry_id, User).join(User, User.id == EntryMember.user_id)
                .where(EntryMember.entry_id.in_(entry_ids), EntryMember.status == MemberStatus.ACCEPTED)
                .order_by(EntryMember.entry_id, EntryMember.is_captain.desc(), EntryMember.id)):
            found.setdefault(entry_id, []).append(person)
    return found
