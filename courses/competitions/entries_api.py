"""/api/v1/competitions/…: a worker signs up for an event (idempotent: their live entry comes back again), a
captain invites team members and submits the team, the invited accept or decline, and people read their
entries (the result once the results are published). An entry is open to its people and to the administrators
of its union or organizer (a key: within its subtree, with ``competitions:read``); others get an audited 404."""

from __future__ import annotations

from classroom.api.door import deny, idempotent, run
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person, current_principal
from classroom.api.problems import Problem
from classroom.api.schemas import CursorArgs, page_of
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.extensions import db
from courses.competitions import entries, own_entries
from courses.competitions.access import can_view
from courses.competitions.api_schemas import (
    EntryDetailSchema,
    EntrySchema,
    InvitationSchema,
    SignUpSchema,
    TeamInviteSchema,
    TeamMemberSchema,
)
from courses.competitions.lookups import is_in_entry
from courses.competitions.models import CompetitionEvent, Entry, EntryMember
from courses.competitions.review import may_review

bp = ApiBlueprint("api_competition_entries", __name__, url_prefix="/api/v1/competitions",
                  description="Signing up for competitions: entries, teams and invitations.")


@bp.route("/events/<int:event_id>/entries", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.arguments(SignUpSchema)
@bp.response(201, EntrySchema)
@bp.alt_response(200, schema=EntrySchema, description="Already signed up: the caller's live entry in the event.")
def sign_up(data: dict, event_id: int):
    """Enter an individual event, or create a team for a team event (``team_name``; the caller captains it).
    Signing up again answers the live entry (200) instead of a second one."""
    event, user = visible_event(event_id), current_person()
    live = own_entries.live_entries_by_event(user.id, [event.id]).get(event.id)
    if live is not None:
        return live, 200
    if event.is_team:
        return run(lambda: entries.create_team(user, event, data.get("team_name", ""), now=utcnow()))
    return run(lambda: entries.enter(user, event, now=utcnow()))


@bp.route("/entries")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(EntrySchema, "EntryPage"))
def mine(args: dict):
    """The caller's entries (as applicant or accepted team member), newest first, with their results."""
    page = cursor_page(own_entries.my_entries(current_person().id), (Entry.created_at.expression, Entry.id.expression),
                       lambda entry: (entry.created_at, entry.id), limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/entries/<int:entry_id>")
@bp.auth(scope="competitions:read")
@bp.etag
@bp.response(200, EntryDetailSchema)
def entry(entry_id: int):
    """An entry with its people, for its people and the administrators of its union or organizer."""
    found = reachable_entry(entry_id)
    own_entries.members_of(found.id)  # the people with their persons, in one query
    return found


@bp.route("/entries/<int:entry_id>/invitations", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.arguments(TeamInviteSchema)
@bp.response(201, TeamMemberSchema)
def invite(data: dict, entry_id: int):
    """The captain invites a worker of the team's union by mobile number (they accept or decline)."""
    found = reachable_entry(entry_id)
    return run(lambda: entries.invite(found, data["mobile"], actor=current_person(), now=utcnow()))


@bp.route("/entries/<int:entry_id>/<any(submit, withdraw):action>", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, EntrySchema)
def change(entry_id: int, action: str):
    """The captain submits the complete team (it goes up the tree), or the applicant withdraws the entry."""
    found = reachable_entry(entry_id)
    step = entries.submit_team if action == "submit" else entries.withdraw
    return run(lambda: step(found, actor=current_person(), now=utcnow()))


@bp.route("/invitations")
@bp.auth(person=True)
@bp.response(200, InvitationSchema(many=True))
def invitations():
    """The caller's open invitations to teams still forming (at most 20), newest first."""
    return own_entries.open_invitations(current_person().id)


@bp.route("/invitations/<int:member_id>/<any(accept, decline):answer>", methods=["POST"])
@bp.auth(person=True)
@bp.problems(409)
@bp.response(200, InvitationSchema)
def respond(member_id: int, answer: str):
    """Accept (when eligible and in no other entry of the event) or decline an invitation."""
    member = db.session.get(EntryMember, member_id)
    if member is None:
        raise Problem("not-found")
    user = current_person()
    if member.user_id != user.id:
        deny("EntryMember", member_id)
    return run(lambda: entries.respond(member, answer == "accept", actor=user, now=utcnow()))


def visible_event(event_id: int) -> CompetitionEvent:
    """An event of a competition the caller may see; else 404."""
    event = db.session.get(CompetitionEvent, event_id)
    if event is None:
        raise Problem("not-found")
    if not can_view(current_person(), event.competition):
        deny("CompetitionEvent", event_id)
    return event


def reachable_entry(entry_id: int) -> Entry:
    """An entry the caller may open: its people and its administrators (a key: within its subtree)."""
    found = db.session.get(Entry, entry_id)
    if found is None:
        raise Problem("not-found")
    principal, user = current_principal(), current_principal().user
    if user is not None:
        allowed = is_in_entry(user.id, found.id) or may_review(user, found)
    else:
        allowed = principal.reaches(found.nominating_union) or principal.reaches(found.competition.organizer_union)
    if not allowed:
        deny("Entry", entry_id)
    return found
