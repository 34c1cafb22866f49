"""What a worker sees of their own entries: the list, open invitations, their entry per event, the
people of an entry and the promotions it earned them."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from classroom.extensions import db
from courses.competitions.models import (
    LIVE_STATUSES,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
    PromotionRecord,
)
from courses.competitions.review import ENTRY_OPTIONS


def my_entries(user_id: int) -> Select[Entry]:
    """SELECT of the entries a person is in (applicant or accepted member), newest first."""
    mine = select(EntryMember.entry_id).where(EntryMember.user_id == user_id,
                                              EntryMember.status == MemberStatus.ACCEPTED)
    return (select(Entry).where(Entry.id.in_(mine)).options(*ENTRY_OPTIONS)
            .order_by(Entry.created_at.desc(), Entry.id.desc()))


def live_entries(user_id: int, limit: int) -> list[Entry]:
    """The person's newest live entries (for the home page)."""
    return list(db.session.scalars(my_entries(user_id).where(Entry.status.in_(LIVE_STATUSES)).limit(limit)))


def open_invitations(user_id: int) -> list[EntryMember]:
    """The person's invitations to teams still forming, newest first."""
    return list(db.session.scalars(
        select(EntryMember).join(Entry, Entry.id == EntryMember.entry_id)
        .where(EntryMember.user_id == user_id, EntryMember.status == MemberStatus.INVITED,
               Entry.status == EntryStatus.FORMING)
        .options(joinedload(EntryMember.entry).joinedload(Entry.event),
                 joinedload(EntryMember.entry).joinedload(Entry.applicant))
        .order_by(EntryMember.invited_at.desc()).limit(20)))


def live_entries_by_event(user_id: int, event_ids: list[int]) -> dict[int, Entry]:
    """{event id: the person's live entry} for these events (one query)."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(EntryMember.event_id, Entry).join(Entry, Entry.id == EntryMember.entry_id)
        .where(EntryMember.user_id == user_id, EntryMember.event_id.in_(event_ids), EntryMember.is_active.is_(True))
    ).all()
    return {event_id: entry for event_id, entry in rows}


def members_of(entry_id: int) -> list[EntryMember]:
    """Everyone invited to or in the entry, with their person, in order of invitation."""
    return list(db.session.scalars(select(EntryMember).where(EntryMember.entry_id == entry_id)
                                   .options(joinedload(EntryMember.user)).order_by(EntryMember.id)))


def promotions_of(entry_id: int, user_id: int) -> list[PromotionRecord]:
    """The skill-level promotions this entry earned the person."""
    return list(db.session.scalars(select(PromotionRecord).filter_by(entry_id=entry_id, user_id=user_id)))
