"""Entering an event: alone in one step, or as a team (a captain invites members by mobile, they
accept, the complete team is submitted); withdrawing before the close; admins nominating members.
A worker is in at most one live entry per event (a partial unique index on the member rows)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write
from classroom.domain import Conflict, DomainError, Invalid, NotAllowed
from classroom.extensions import db
from classroom.notifications.services import notify
from classroom.personal_data import normalize_mobile
from classroom.unions.models import TradeUnion
from classroom.unions.scope import can_manage_union, visible_users
from courses.competitions import approvals
from courses.competitions.eligibility import NOT_ACTIVE, SIGNUP_CLOSED, check, load_facts
from courses.competitions.models import (
    LIVE_STATUSES,
    Competition,
    CompetitionEvent,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
)


class NotEligible(DomainError):
    """The person may not enter: ``reasons`` are the eligibility rule's texts."""

    def __init__(self, reasons: list, *, name: str | None = None):
        self.reasons = reasons
        super().__init__(_l("You may not enter: %(reasons)s") if name is None else
                         _l("%(name)s may not enter: %(reasons)s"), name=name)

    def __str__(self) -> str:
        return str(self.message) % {"name": self.params.get("name"),
                                    "reasons": "; ".join(str(reason) for reason in self.reasons)}


class AlreadyEntered(Conflict):
    message = _l("You have already entered this event.")


class TeamIncomplete(Conflict):
    message = _l("The team needs at least %(min)d members who accepted; it has %(count)d.")


def _eligible_union(person: User, event: CompetitionEvent, *, now: datetime, name: str | None = None) -> int:
    """The union ``person`` enters through, once the event's rules admit them now."""
    facts = load_facts([person.id], [event.required_course_id])[person.id]
    reasons = check(person, event, now=now, facts=facts)
    if reasons:
        raise NotEligible(reasons, name=name)
    if facts.union_id is None:  # the rules admit members only: never here
        raise NotEligible([NOT_ACTIVE], name=name)
    return facts.union_id


def _refuse_if_entered(event: CompetitionEvent, person: User, *, own: bool = True) -> None:
    live = db.session.scalar(select(EntryMember.id).where(EntryMember.event_id == event.id,
                                                          EntryMember.user_id == person.id,
                                                          EntryMember.is_active.is_(True)))
    if live is not None:
        raise AlreadyEntered() if own else Conflict(_l("%(name)s is already in an entry of this event."),
                                                    field="mobile", name=person.real_name)


def _new_entry(person: User, event: CompetitionEvent, union_id: int, *, now: datetime, team_name: str | None = None,
               nominated_by: User | None = None) -> Entry:
    entry = Entry(event_id=event.id, competition_id=event.competition_id, applicant_id=person.id,
                  team_name=team_name, nominating_union_id=union_id, created_at=now,
                  status=EntryStatus.FORMING, nominated_by_id=nominated_by.id if nominated_by else None)
    db.session.add(entry)
    db.session.flush()
    db.session.add(EntryMember(entry_id=entry.id, event_id=event.id, user_id=person.id, is_captain=True,
                               status=MemberStatus.ACCEPTED, is_active=True, invited_at=now, responded_at=now))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same person, twice at once
        raise AlreadyEntered() from None
    return entry


def enter(worker: User, event: CompetitionEvent, *, now: datetime) -> Entry:
    """An individual entry in one step: eligible, not yet entered → on its way up the tree."""
    begin_write(db.session)
    if event.is_team:
        raise Invalid(_l("This is a team event: create a team or accept an invitation."))
    union_id = _eligible_union(worker, event, now=now)
    _refuse_if_entered(event, worker)
    entry = _new_entry(worker, event, union_id, now=now)
    approvals.start_approval(entry, now=now)
    record_event(worker, "competition.entry.submit", entry, union_id=union_id, event_id=event.id)
    return entry


def nominate(admin: User, event: CompetitionEvent, worker: User, *, now: datetime) -> Entry:
    """An admin enters a member of their unions directly; the steps the admin may decide are
    approved at once (taking the quota place when one of them is the quota step)."""
    begin_write(db.session)
    if event.is_team:
        raise Invalid(_l("Teams enter through their captain."))
    facts = load_facts([worker.id], [event.required_course_id])[worker.id]
    union = db.session.get(TradeUnion, facts.union_id) if facts.union_id else None
    if union is None or not can_manage_union(admin, union):
        raise NotAllowed(_l("You may nominate only members of the unions you administer."), field="mobile")
    _eligible_union(worker, event, now=now, name=worker.real_name)
    _refuse_if_entered(event, worker, own=False)
    entry = _new_entry(worker, event, union.id, now=now, nominated_by=admin)
    approvals.start_approval(entry, now=now)
    record_event(admin, "competition.entry.nominate", entry, union_id=union.id, event_id=event.id,
                 user_id=worker.id)
    notify(worker, "competition.entry", f"competition.entry:{entry.id}:nominated",
           _l("You were nominated for %(event)s"), link=f"/competitions/entries/{entry.id}",
           params={"event": event.name}, facts={"competition": event.competition.title}, now=now)
    while _decides_next(admin, entry):
        entry = approvals.approve(entry, actor=admin, now=now)
    return entry


def nominate_by_mobile(admin: User, competition: Competition, event_id: int | None, mobile: str, *,
                       now: datetime) -> Entry:
    """Nominate the member of the admin's unions who has this mobile number for an individual event of
    the competition."""
    event = next((e for e in competition.events if e.id == event_id and not e.is_team), None)
    person = db.session.scalar(visible_users(admin).where(User.mobile == normalize_mobile(mobile)))
    if event is None or person is None:
        raise Invalid(_l("No member of your unions has this mobile number."), field="mobile")
    return nominate(admin, event, person, now=now)


def _decides_next(admin: User, entry: Entry) -> bool:
    """Whether the entry waits for an approval at a union this admin manages."""
    return (entry.status == EntryStatus.SUBMITTED and entry.pending_union_id is not None
            and can_manage_union(admin, db.session.get_one(TradeUnion, entry.pending_union_id)))


# ---- teams ---------------------------------------------------------------------------------------------

def create_team(captain: User, event: CompetitionEvent, team_name: str, *, now: datetime) -> Entry:
    """A team entry, still forming: its captain invites the others."""
    begin_write(db.session)
    if not event.is_team:
        raise Invalid(_l("This event is for individuals."))
    team_name = (team_name or "").strip()
    if not team_name:
        raise Invalid(_l("Give the team a name."), field="team_name")
    union_id = _eligible_union(captain, event, now=now)
    _refuse_if_entered(event, captain)
    entry = _new_entry(captain, event, union_id, now=now, team_name=team_name[:100])
    record_event(captain, "competition.team.create", entry, union_id=union_id, event_id=event.id)
    return entry


def _forming_team_of(entry: Entry, actor: User, now: datetime) -> Entry:
    entry = approvals.lock_entry(entry.id)
    if entry.applicant_id != actor.id:
        raise NotAllowed(_l("Only the team's captain may do this."))
    if entry.status != EntryStatus.FORMING:
        raise Conflict(_l("The team has been submitted: it can no longer change."))
    if now >= entry.competition.signup_closes_at:
        raise Conflict(SIGNUP_CLOSED)
    return entry


def invite(entry: Entry, mobile: str, *, actor: User, now: datetime) -> EntryMember:
    """The captain invites a worker of the same grassroots union by their mobile number."""
    entry = _forming_team_of(entry, actor, now)
    event = entry.event
    size = db.session.scalar(select(func.count()).select_from(EntryMember).where(
        EntryMember.entry_id == entry.id, EntryMember.status.in_([MemberStatus.INVITED, MemberStatus.ACCEPTED]))) or 0
    if event.team_max is not None and size >= event.team_max:
        raise Conflict(_l("The team is full (%(max)d members)."), field="mobile", max=event.team_max)
    person = db.session.scalar(select(User).where(User.mobile == normalize_mobile(mobile), User.is_active.is_(True)))
    if person is None:
        raise Invalid(_l("No worker is registered with this mobile number."), field="mobile")
    member = db.session.scalar(select(EntryMember).filter_by(entry_id=entry.id, user_id=person.id))
    if member is not None and member.status != MemberStatus.DECLINED:
        raise Conflict(_l("%(name)s is already in this team."), field="mobile", name=person.real_name)
    _refuse_if_entered(event, person, own=False)
    facts = load_facts([person.id])[person.id]
    if facts.union_id != entry.nominating_union_id:
        raise Invalid(_l("Team members belong to the captain's union, %(union)s."), field="mobile",
                      union=entry.nominating_union.name)
    if member is None:
        member = EntryMember(entry_id=entry.id, event_id=event.id, user_id=person.id)
        db.session.add(member)
    member.status, member.invited_at, member.responded_at = MemberStatus.INVITED, now, None
    db.session.flush()
    record_event(actor, "competition.team.invite", entry, union_id=entry.nominating_union_id, user_id=person.id)
    notify(person, "competition.invitation", f"competition.invitation:{member.id}:{now.isoformat()}",
           _l("%(captain)s invites you to the team %(team)s for %(event)s"), link="/competitions/mine",
           params={"captain": actor.real_name, "team": entry.team_name, "event": event.name},
           facts={"competition": event.competition.title}, now=now)
    return member


def respond(member: EntryMember, accept: bool, *, actor: User, now: datetime) -> EntryMember:
    """The invited worker accepts (if eligible and in no other entry of the event) or declines."""
    entry = approvals.lock_entry(member.entry_id)
    db.session.refresh(member)
    if member.user_id != actor.id:
        raise NotAllowed(_l("This invitation is for someone else."))
    if member.status != MemberStatus.INVITED or entry.status != EntryStatus.FORMING:
        raise Conflict(_l("This invitation is no longer open."))
    if accept:
        _eligible_union(actor, entry.event, now=now)
        _refuse_if_entered(entry.event, actor)
        member.is_active = True
    member.status = MemberStatus.ACCEPTED if accept else MemberStatus.DECLINED
    member.responded_at = now
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise AlreadyEntered() from None
    record_event(actor, "competition.team.accept" if accept else "competition.team.decline", entry,
                 union_id=entry.nominating_union_id)
    notify(entry.applicant, "competition.invitation", f"competition.invitation:{member.id}:{member.status}",
           _l("%(name)s joined your team %(team)s") if accept else _l("%(name)s declined to join your team %(team)s"),
           link=f"/competitions/entries/{entry.id}", params={"name": actor.real_name, "team": entry.team_name},
           now=now)
    return member


def submit_team(entry: Entry, *, actor: User, now: datetime) -> Entry:
    """Send a complete team up the tree; open invitations lapse."""
    entry = _forming_team_of(entry, actor, now)
    event = entry.event
    people = approvals.team_people(entry.id)
    if len(people) < (event.team_min or 1):
        raise TeamIncomplete(min=event.team_min, count=len(people))
    facts = load_facts([person.id for person in people], [event.required_course_id])
    for person in people:
        reasons = check(person, event, now=now, facts=facts[person.id])
        if reasons:
            raise NotEligible(reasons, name=person.real_name)
    db.session.execute(delete(EntryMember).where(EntryMember.entry_id == entry.id,
                                                 EntryMember.status == MemberStatus.INVITED))
    approvals.start_approval(entry, now=now)
    record_event(actor, "competition.entry.submit", entry, union_id=entry.nominating_union_id, event_id=event.id,
                 members=len(people))
    return entry


def withdraw(entry: Entry, *, actor: User, now: datetime) -> Entry:
    """The applicant (captain) withdraws before sign-up closes; places go back."""
    entry = approvals.lock_entry(entry.id)
    if entry.applicant_id != actor.id:
        raise NotAllowed(_l("Only the applicant (the team's captain) may withdraw the entry."))
    if entry.status not in LIVE_STATUSES:
        raise Conflict(_l("This entry is already closed."))
    if now >= entry.competition.signup_closes_at:
        raise Conflict(_l("Sign-up has closed: ask the organizer to take the entry off the list."))
    approvals.close(entry, EntryStatus.WITHDRAWN, now=now)
    record_event(actor, "competition.entry.withdraw", entry, union_id=entry.nominating_union_id)
    return entry
