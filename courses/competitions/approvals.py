"""The approval chain: an entry goes up the union tree and the organizer confirms it.

The grassroots union (the applicant's at entry) decides first; when the competition requires it,
each union between it and the organizer decides next; then the organizer confirms. The quota place
is taken at the last approval at or below the event's quota depth (with no intermediate approvals:
the grassroots one), the overall cap at confirmation. A rejection or withdrawal gives both back.
Each step writes an audit event and tells the entrant.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, Invalid, NotAllowed
from classroom.extensions import db
from classroom.notifications.services import notify_many
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_union
from courses.competitions import quotas
from courses.competitions.access import can_organize
from courses.competitions.models import (
    LIVE_STATUSES,
    WAITING_STATUSES,
    Competition,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
)


class QuotaFull(Conflict):
    message = _l("The quota of %(union)s for this event is used up (%(limit)d places).")


class EventFull(Conflict):
    message = _l("The event is full: %(cap)d entries are confirmed.")


def lock_entry(entry_id: int) -> Entry:
    """The entry row, locked for the rest of the transaction and read fresh (with its event,
    competition, organizer and nominating union, which every step reads)."""
    begin_write(db.session)
    return db.session.scalars(
        select(Entry).where(Entry.id == entry_id)
        .options(joinedload(Entry.event), joinedload(Entry.nominating_union),
                 joinedload(Entry.competition).joinedload(Competition.organizer_union))
        .with_for_update(of=Entry).execution_options(populate_existing=True)
    ).one()


# ---- the chain -------------------------------------------------------------------------------------

def approval_chain(entry: Entry) -> list[int]:
    """The unions that approve, bottom up: the nominating union, then (when the competition requires
    it) each union between it and the organizer. Empty when the organizer nominated its own."""
    competition = entry.competition
    ids = entry.nominating_union.ancestor_ids()
    organizer_depth = competition.organizer_union.depth
    if len(ids) <= organizer_depth + 1:
        return []
    between = ids[organizer_depth + 1:-1][::-1] if competition.requires_intermediate_approval else []
    return [ids[-1], *between]


def start_approval(entry: Entry, *, now: datetime) -> None:
    """A complete entry enters the chain at its first step (or waits for the organizer at once)."""
    chain = approval_chain(entry)
    entry.submitted_at = now
    if chain:
        entry.status, entry.pending_union_id = EntryStatus.SUBMITTED, chain[0]
    else:
        entry.status, entry.pending_union_id = EntryStatus.APPROVED, entry.competition.organizer_union_id


def approve(entry: Entry, *, actor, now: datetime) -> Entry:
    """Approve the entry's current step; the quota place is taken when this step passes the quota depth."""
    entry = lock_entry(entry.id)
    if entry.status != EntryStatus.SUBMITTED:
        raise Conflict(_l("This entry is not waiting for an approval."))
    union = _pending_union(entry)
    if not can_manage_union(actor, union):
        raise NotAllowed(_l("Only the administrators of %(union)s decide this step."), union=union.name)
    chain = approval_chain(entry)
    following = chain[chain.index(union.id) + 1] if union.id in chain[:-1] else None
    path_ids = entry.nominating_union.ancestor_ids()
    depth = _quota_depth(entry)
    if depth is not None and (following is None or path_ids.index(following) < depth):
        _take_quota(entry, depth)
    if following is not None:
        entry.pending_union_id = following
    else:
        entry.status, entry.pending_union_id = EntryStatus.APPROVED, entry.competition.organizer_union_id
    entry.decided_at = now
    record_event(actor, "competition.entry.approve", entry, union_id=union.id, step=union.id,
                 competition_id=entry.competition_id)
    _tell(entry, f"approve:{union.id}", _l("%(union)s approved your entry for %(event)s"), now=now,
          union=union.name)
    return entry


def confirm(entry: Entry, *, actor, now: datetime) -> Entry:
    """The organizer's confirmation, within the event's overall cap."""
    entry = lock_entry(entry.id)
    if not can_organize(actor, entry.competition):
        raise NotAllowed(_l("Only the organizer confirms entries."))
    if entry.status != EntryStatus.APPROVED:
        raise Conflict(_l("Only an approved entry can be confirmed."))
    depth = _quota_depth(entry)
    if depth is not None:
        _take_quota(entry, depth)
    event = entry.event
    if not quotas.take_place(event):
        raise EventFull(cap=event.overall_cap)
    entry.status, entry.pending_union_id, entry.confirmed_at, entry.decided_at = EntryStatus.CONFIRMED, None, now, now
    record_event(actor, "competition.entry.confirm", entry, union_id=entry.competition.organizer_union_id,
                 competition_id=entry.competition_id)
    _tell(entry, "confirm", _l("Your entry for %(event)s is confirmed"), now=now)
    return entry


def reject(entry: Entry, reason: str, *, actor, now: datetime) -> Entry:
    """Refuse the entry at its current step (the organizer may also take a confirmed one off the list);
    its quota and confirmed places are given back."""
    entry = lock_entry(entry.id)
    reason = (reason or "").strip()
    if entry.status in WAITING_STATUSES:
        allowed = can_manage_union(actor, _pending_union(entry))
    elif entry.status == EntryStatus.CONFIRMED:
        allowed = can_organize(actor, entry.competition)
    else:
        raise Conflict(_l("This entry is not waiting for a decision."))
    if not allowed:
        raise NotAllowed(_l("You may not decide this entry."))
    if not reason:
        raise Invalid(_l("Give a reason, so the worker knows why."), field="reason")
    step = entry.pending_union_id or entry.competition.organizer_union_id
    close(entry, EntryStatus.REJECTED, now=now)
    entry.reason, entry.decided_at = reason[:500], now
    record_event(actor, "competition.entry.reject", entry, union_id=step, step=step, reason=reason,
                 competition_id=entry.competition_id)
    _tell(entry, f"reject:{step}", _l("Your entry for %(event)s was not approved"), _l("Reason: %(reason)s"),
          now=now, reason=reason)
    return entry


def close(entry: Entry, status: str, *, now: datetime) -> None:
    """End a live entry (rejected or withdrawn): its places go back, its members are free again."""
    if entry.status not in LIVE_STATUSES:
        raise Conflict(_l("This entry is already closed."))
    if entry.quota_union_id is not None:
        quotas.release_quota(entry.event_id, entry.quota_union_id)
        entry.quota_union_id = None
    if entry.status == EntryStatus.CONFIRMED:
        quotas.release_place(entry.event_id)
    db.session.execute(update(EntryMember).where(EntryMember.entry_id == entry.id, EntryMember.is_active.is_(True))
                       .values(is_active=False).execution_options(synchronize_session=False))
    entry.status, entry.pending_union_id = status, None
    if status == EntryStatus.WITHDRAWN:
        entry.withdrawn_at = now


def _pending_union(entry: Entry) -> TradeUnion:
    """The union whose step the entry waits at (every waiting entry has one)."""
    union = db.session.get(TradeUnion, entry.pending_union_id) if entry.pending_union_id is not None else None
    if union is None:
        raise Conflict(_l("This entry is not waiting for a decision."))
    return union


def _quota_depth(entry: Entry) -> int | None:
    """The tree depth of the event's quota unions while the entry still needs its quota place, else None."""
    event = entry.event
    if event.quota_per_union is None or entry.quota_union_id is not None:
        return None
    return event.quota_depth


def _take_quota(entry: Entry, depth: int) -> None:
    event = entry.event
    union_id = quotas.quota_union_id(entry.nominating_union.path, depth)
    if not quotas.take_quota(event, union_id):
        raise QuotaFull(union=db.session.get_one(TradeUnion, union_id).name, limit=event.quota_per_union)
    entry.quota_union_id = union_id


def team_people(entry_id: int) -> list[User]:
    """The people of an entry who accepted (the applicant included)."""
    return list(db.session.scalars(
        select(User).join(EntryMember, EntryMember.user_id == User.id)
        .where(EntryMember.entry_id == entry_id, EntryMember.status == MemberStatus.ACCEPTED)))


def _tell(entry: Entry, step: str, title, body="", *, now: datetime, **params) -> None:
    notify_many(team_people(entry.id), "competition.entry", f"competition.entry:{entry.id}:{step}", title, body,
                link=f"/competitions/entries/{entry.id}", params={"event": entry.event.name, **params},
                facts={"competition": entry.competition.title, "team": entry.team_name}, now=now)
