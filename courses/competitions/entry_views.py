"""A worker's side: entering an event, teams (create, invite, accept, submit), withdrawing, and
their entries; the entry page also serves the admins who decide it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import form_error, paginate
from courses.competitions import approvals, entries
from courses.competitions.forms import InviteForm, ReasonForm, TeamForm
from courses.competitions.lookups import (
    attempt,
    entry_page_or_404,
    own_invitation_or_404,
    visible_event_or_404,
)
from courses.competitions.models import CompetitionStatus, EntryStatus, PromotionRecord

bp = Blueprint("entries", __name__)


def _to_entry(entry_id: int):
    return redirect(url_for("competitions.entries.entry", entry_id=entry_id))


@bp.route("/competitions/mine")
@login_required
def mine():
    page = paginate(entries.my_entries(current_user.id))
    return render_template("competitions/mine.html", page=page, invitations=entries.open_invitations(current_user.id))


@bp.route("/competitions/events/<int:event_id>/enter", methods=["POST"])
@login_required
def enter(event_id: int):
    event = visible_event_or_404(event_id)
    made = []
    if attempt(lambda: made.append(entries.enter(current_user, event, now=utcnow())),
               _("Your entry is submitted: your union decides first.")) is None:
        return _to_entry(made[0].id)
    return redirect(url_for("competitions.show", competition_id=event.competition_id) + f"#event-{event.id}")


@bp.route("/competitions/events/<int:event_id>/teams", methods=["POST"])
@login_required
def create_team(event_id: int):
    event = visible_event_or_404(event_id)
    form, made = TeamForm(), []
    if not form.validate_on_submit():
        flash(_("Give the team a name."), "danger")
    elif attempt(lambda: made.append(entries.create_team(current_user, event, form.team_name.data, now=utcnow())),
                 _("Team created: invite its members.")) is None:
        return _to_entry(made[0].id)
    return redirect(url_for("competitions.show", competition_id=event.competition_id) + f"#event-{event.id}")


@bp.route("/competitions/entries/<int:entry_id>")
@login_required
def entry(entry_id: int):
    entry = entry_page_or_404(entry_id)
    promotions = db.session.scalars(select(PromotionRecord).filter_by(entry_id=entry.id, user_id=current_user.id))
    results_out = entry.competition.status == CompetitionStatus.RESULTS_PUBLISHED
    return render_template("competitions/entry.html", entry=entry, members=entries.members_of(entry.id),
                           invite_form=InviteForm(), reason_form=ReasonForm(), promotions=list(promotions),
                           captain=entry.applicant_id == current_user.id, results_out=results_out,
                           may_decide=approvals.may_decide(current_user, entry), now=utcnow())


@bp.route("/competitions/entries/<int:entry_id>/invite", methods=["POST"])
@login_required
def invite(entry_id: int):
    entry = entry_page_or_404(entry_id)
    form = InviteForm()
    if form.validate_on_submit():
        error = attempt(lambda: entries.invite(entry, form.mobile.data, actor=current_user, now=utcnow()),
                        _("Invitation sent."))
        if error is not None:
            form_error(form, error)
    else:
        flash(_("Enter the member's mobile number."), "danger")
    return _to_entry(entry_id)


@bp.route("/competitions/entries/<int:entry_id>/submit", methods=["POST"])
@login_required
def submit(entry_id: int):
    entry = entry_page_or_404(entry_id)
    attempt(lambda: entries.submit_team(entry, actor=current_user, now=utcnow()),
            _("The team is submitted: your union decides first."))
    return _to_entry(entry_id)


@bp.route("/competitions/entries/<int:entry_id>/withdraw", methods=["POST"])
@login_required
def withdraw(entry_id: int):
    entry = entry_page_or_404(entry_id)
    attempt(lambda: entries.withdraw(entry, actor=current_user, now=utcnow()), _("The entry is withdrawn."))
    return _to_entry(entry_id)


@bp.route("/competitions/invitations/<int:member_id>/<any(accept, decline):answer>", methods=["POST"])
@login_required
def respond(member_id: int, answer: str):
    member = own_invitation_or_404(member_id)
    entry_id = member.entry_id
    accepted = answer == "accept"
    error = attempt(lambda: entries.respond(member, accepted, actor=current_user, now=utcnow()),
                    _("You joined the team.") if accepted else _("Invitation declined."))
    if accepted and error is None:
        return _to_entry(entry_id)
    return redirect(url_for("competitions.entries.mine"))


@bp.app_template_global()
def entry_is_live(entry) -> bool:
    return entry.status in (EntryStatus.FORMING, EntryStatus.SUBMITTED, EntryStatus.APPROVED, EntryStatus.CONFIRMED)
