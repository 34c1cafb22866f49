"""Union admins: the entries waiting for them, the entries of a competition within their unions (by
union and event, XLSX export, the print-ready list for the venue), decisions and nominations."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import utcnow, writes
from classroom.forms import arg_int
from classroom.http import paginate, perform, role_required, safe_next
from classroom.pagination import keyset_page
from classroom.unions import scope
from courses.competitions import access, approvals, entries, exports, review
from courses.competitions.forms import NominateForm, ReasonForm
from courses.competitions.lookups import admin_competition_or_404, reviewable_entry_or_404
from courses.competitions.models import ENTRY_STATUS_LABELS, EntryStatus
from courses.competitions.responses import private, xlsx_download

bp = Blueprint("approvals", __name__)
admin_required = role_required(scope.is_union_admin)


def _filters() -> dict:
    status = request.args.get("status", "")
    return {"event_id": arg_int("event"), "union_id": arg_int("union"),
            "status": status if status in set(EntryStatus) else ""}


@bp.route("/competitions/approvals")
@admin_required
def waiting() -> ResponseReturnValue:
    """The entries whose current step this admin decides."""
    page = keyset_page(review.waiting_for(current_user), review.WAITING_ORDER, review.waiting_key, rows=False,
                       ascending=True)
    return render_template("competitions/approvals.html", page=page, reason_form=ReasonForm())


@bp.route("/competitions/<int:competition_id>/entries")
@admin_required
def listing(competition_id: int) -> ResponseReturnValue:
    """A competition's entries within the admin's unions, filtered."""
    competition = admin_competition_or_404(competition_id)
    filters = _filters()
    page = keyset_page(review.listing(current_user, competition, **filters), review.LISTING_ORDER,
                       review.listing_key, rows=False, ascending=True)
    return render_template("competitions/entries.html", competition=competition, page=page, filters=filters,
                           statuses=ENTRY_STATUS_LABELS, reason_form=ReasonForm(),
                           organize=access.can_organize(current_user, competition))


@bp.route("/competitions/<int:competition_id>/entries/summary")
@admin_required
def summary(competition_id: int) -> ResponseReturnValue:
    """The entries counted by event, union and status."""
    competition = admin_competition_or_404(competition_id)
    page = paginate(review.summary(current_user, competition), per_page=50, rows=True)
    return render_template("competitions/summary.html", competition=competition, page=page)


@bp.route("/competitions/<int:competition_id>/entries.xlsx")
@writes
@admin_required
def export(competition_id: int) -> ResponseReturnValue:
    """The entries as listed, one row per person, as XLSX (the export is audited)."""
    competition = admin_competition_or_404(competition_id)
    filters = _filters()
    outcome = perform(lambda: exports.export_entries(current_user, competition, filters))
    if outcome.value is None:
        return redirect(url_for("competitions.approvals.listing", competition_id=competition.id))
    header, rows = outcome.value
    return xlsx_download(f"competition-{competition.id}-entries.xlsx", _("Entries"), header, rows)


@bp.route("/competitions/<int:competition_id>/entries/print")
@admin_required
def print_list(competition_id: int) -> ResponseReturnValue:
    """Every confirmed entry of an event on one page, for the venue (printed whole, one query)."""
    competition = admin_competition_or_404(competition_id)
    event = next((e for e in competition.events if e.id == arg_int("event")), None) \
        or (competition.events[0] if competition.events else abort(404))
    lines = review.print_lines(current_user, competition, event.id)
    return private(make_response(render_template("competitions/print.html", competition=competition, event=event,
                                                 lines=lines)))


@bp.route("/competitions/entries/<int:entry_id>/<any(approve, reject, confirm):decision>", methods=["POST"])
@admin_required
def decide(entry_id: int, decision: str) -> ResponseReturnValue:
    """Approve the entry's step, confirm it (the organizer) or reject it with a reason."""
    entry = reviewable_entry_or_404(entry_id)
    actions = {
        "approve": (lambda: approvals.approve(entry, actor=current_user, now=utcnow()), _("Approved.")),
        "confirm": (lambda: approvals.confirm(entry, actor=current_user, now=utcnow()), _("Confirmed.")),
        "reject": (lambda: approvals.reject(entry, ReasonForm().reason.data or "", actor=current_user,
                                            now=utcnow()), _("Rejected.")),
    }
    action, success = actions[decision]
    perform(action, success=success, category="warning")
    return redirect(safe_next(url_for("competitions.approvals.waiting")))


@bp.route("/competitions/<int:competition_id>/nominate", methods=["GET", "POST"])
@admin_required
def nominate(competition_id: int) -> ResponseReturnValue:
    """Nominate a member of the admin's unions for an individual event."""
    competition = admin_competition_or_404(competition_id)
    form = NominateForm()
    form.event_id.choices = [(event.id, event.name) for event in competition.events if not event.is_team]
    if form.validate_on_submit():
        outcome = perform(lambda: entries.nominate_by_mobile(current_user, competition, form.event_id.data,
                                                             form.mobile.data, now=utcnow()),
                          success=lambda entry: _("%(name)s is nominated.", name=entry.applicant.real_name),
                          form=form, field="mobile", category="warning")
        if outcome.ok:
            return redirect(url_for("competitions.approvals.listing", competition_id=competition.id))
    return render_template("competitions/nominate.html", competition=competition, form=form)


@bp.app_template_global()
def entry_people(entry_ids: list[int]) -> dict[int, list]:
    """{entry id: [people who accepted]} for a page of entries (one query)."""
    return review.people_by_entry(entry_ids)
