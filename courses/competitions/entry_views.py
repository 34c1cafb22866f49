"""A worker's side: entering an event, teams (create, invite, accept, submit), withdrawing, and
their entries; the entry page also serves the admins who decide it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.http import paginate, perform
from courses.competitions import entries, own_entries, review
from courses.competitions.forms import InviteForm, ReasonForm, TeamForm
from courses.competitions.lookups import entry_page_or_404, own_invitation_or_404, visible_event_or_404
from courses.competitions.models import LIVE_STATUSES, CompetitionEvent, CompetitionStatus, Entry

bp = Blueprint("entries", __name__)


def _to_entry(entry_id: int):
    return redirect(url_for("competitions.entries.entry", entry_id=entry_id))


def _to_event(event: CompetitionEvent):
    return redirect(url_for("competitions.show", competition_id=event.competition_id) + f"#event-{event.id}")


@bp.route("/competitions/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The person's entries and open invitations."""
    page = paginate(own_entries.my_entries(current_user.id))
    return render_template("competitions/mine.html", page=page,
                           invitations=own_entries.open_invitations(current_user.id))


@bp.route("/competitions/events/<int:event_id>/enter", methods=["POST"])
@login_required
def enter(event_id: int) -> ResponseReturnValue:
    """Enter an individual event."""
    event = visible_event_or_404(event_id)
    outcome = perform(lambda: entries.enter(current_user, event, now=utcnow()),
                      success=_("Your entry is submitted: your union decides first."), category="warning")
    return _to_entry(outcome.value.id) if outcome.value is not None else _to_event(event)


@bp.route("/competitions/events/<int:event_id>/teams", methods=["POST"])
@login_required
def create_team(event_id: int) -> ResponseReturnValue:
    """Create a team for a team event, its captain the current person."""
    event = visible_event_or_404(event_id)
    form = TeamForm()
    if not form.validate_on_submit():
        flash(_("Give the team a name."), "danger")
        return _to_event(event)
    outcome = perform(lambda: entries.create_team(current_user, event, form.team_name.data, now=utcnow()),
                      success=_("Team created: invite its members."), category="warning")
    return _to_entry(outcome.value.id) if outcome.value is not None else _to_event(event)


@bp.route("/competitions/entries/<int:entry_id>")
@login_required
def entry(entry_id: int) -> ResponseReturnValue:
    """An entry, its people and its way up the tree; for its admins, the decision."""
    entry = entry_page_or_404(entry_id)
    results_out = entry.competition.status == CompetitionStatus.RESULTS_PUBLISHED
    return render_template("competitions/entry.html", entry=entry, members=own_entries.members_of(entry.id),
                           invite_form=InviteForm(), reason_form=ReasonForm(),
                           promotions=own_entries.promotions_of(entry.id, current_user.id),
                           captain=entry.applicant_id == current_user.id, results_out=results_out,
                           may_decide=review.may_decide(current_user, entry), now=utcnow())


@bp.route("/competitions/entries/<int:entry_id>/invite", methods=["POST"])
@login_required
def invite(entry_id: int) -> ResponseReturnValue:
    """The captain invites a member by mobile number."""
    entry = entry_page_or_404(entry_id)
    form = InviteForm()
    if form.validate_on_submit():
        perform(lambda: entries.invite(entry, form.mobile.data, actor=current_user, now=utcnow()),
                success=_("Invitation sent."), category="warning")
    else:
        flash(_("Enter the member's mobile number."), "danger")
    return _to_entry(entry_id)


@bp.route("/competitions/entries/<int:entry_id>/submit", methods=["POST"])
@login_required
def submit(entry_id: int) -> ResponseReturnValue:
    """The captain submits the complete team."""
    entry = entry_page_or_404(entry_id)
    perform(lambda: entries.submit_team(entry, actor=current_user, now=utcnow()),
            success=_("The team is submitted: your union decides first."), category="warning")
    return _to_entry(entry_id)


@bp.route("/competitions/entries/<int:entry_id>/withdraw", methods=["POST"])
@login_required
def withdraw(entry_id: int) -> ResponseReturnValue:
    """The applicant withdraws the entry."""
    entry = entry_page_or_404(entry_id)
    perform(lambda: entries.withdraw(entry, actor=current_user, now=utcnow()),
            success=_("The entry is withdrawn."), category="warning")
    return _to_entry(entry_id)


@bp.route("/competitions/invitations/<int:member_id>/<any(accept, decline):answer>", methods=["POST"])
@login_required
def respond(member_id: int, answer: str) -> ResponseReturnValue:
    """Accept or decline an invitation to a team."""
    member = own_invitation_or_404(member_id)
    entry_id, accepted = member.entry_id, answer == "accept"
    outcome = perform(lambda: entries.respond(member, accepted, actor=current_user, now=utcnow()),
                      success=_("You joined the team.") if accepted else _("Invitation declined."),
                      category="warning")
    if accepted and outcome.ok:
        return _to_entry(entry_id)
    return redirect(url_for("competitions.entries.mine"))


@bp.app_template_global()
def entry_is_live(entry: Entry) -> bool:
    """Whether the entry still counts (forming, waiting, approved or confirmed)."""
    return entry.status in LIVE_STATUSES
