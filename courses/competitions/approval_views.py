"""Union admins: the entries waiting for them, the entries of a competition within their unions (by
union and event, XLSX export, the print-ready list for the venue), decisions and nominations."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import utcnow, writes
from classroom.domain import Invalid
from classroom.exports import xlsx_bytes
from classroom.extensions import db
from classroom.forms import arg_int
from classroom.http import form_error, paginate, role_required, safe_next
from classroom.personal_data import normalize_mobile
from classroom.unions import scope
from courses.competitions import approvals, entries, services
from courses.competitions.exports import entry_rows
from courses.competitions.forms import NominateForm, ReasonForm
from courses.competitions.lookups import attempt, reviewable_entry_or_404, visible_competition_or_404
from courses.competitions.models import ENTRY_STATUS_LABELS, Competition, CompetitionStatus, EntryStatus

bp = Blueprint("approvals", __name__)
admin_required = role_required(scope.is_union_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _admin_competition_or_404(competition_id: int) -> Competition:
    """A published competition organized by or for this admin's unions (notices are public, entry
    pages are not)."""
    competition = visible_competition_or_404(competition_id)
    if competition.status == CompetitionStatus.DRAFT or not services.concerns(current_user, competition):
        abort(404)
    return competition


def _filters() -> dict:
    status = request.args.get("status", "")
    return {"event_id": arg_int("event"), "union_id": arg_int("union"),
            "status": status if status in set(EntryStatus) else ""}


@bp.route("/competitions/approvals")
@admin_required
def waiting():
    page = paginate(approvals.waiting_for(current_user))
    return render_template("competitions/approvals.html", page=page, reason_form=ReasonForm())


@bp.route("/competitions/<int:competition_id>/entries")
@admin_required
def listing(competition_id: int):
    competition = _admin_competition_or_404(competition_id)
    filters = _filters()
    page = paginate(approvals.listing(current_user, competition, **filters))
    return render_template("competitions/entries.html", competition=competition, page=page, filters=filters,
                           statuses=ENTRY_STATUS_LABELS, reason_form=ReasonForm(),
                           organize=services.can_organize(current_user, competition))


@bp.route("/competitions/<int:competition_id>/entries/summary")
@admin_required
def summary(competition_id: int):
    competition = _admin_competition_or_404(competition_id)
    page = paginate(approvals.summary(current_user, competition), per_page=50, rows=True)
    return render_template("competitions/summary.html", competition=competition, page=page)


@bp.route("/competitions/<int:competition_id>/entries.xlsx")
@writes
@admin_required
def export(competition_id: int):
    competition = _admin_competition_or_404(competition_id)
    filters = _filters()
    header, rows = entry_rows(current_user, approvals.listing(current_user, competition, **filters))
    record_event(current_user, "competition.entries.export", competition,
                 union_id=competition.organizer_union_id, rows=len(rows), event_id=filters["event_id"],
                 filter_union_id=filters["union_id"], status=filters["status"])
    db.session.commit()
    response = make_response(xlsx_bytes(_("Entries"), header, rows))
    response.mimetype = XLSX
    response.headers["Content-Disposition"] = f'attachment; filename="competition-{competition.id}-entries.xlsx"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.route("/competitions/<int:competition_id>/entries/print")
@admin_required
def print_list(competition_id: int):
    competition = _admin_competition_or_404(competition_id)
    event = next((e for e in competition.events if e.id == arg_int("event")), None) \
        or (competition.events[0] if competition.events else abort(404))
    # Every confirmed entry on one page (a venue list is printed whole), in one query however many.
    lines = approvals.print_lines(current_user, competition, event.id)
    response = make_response(render_template("competitions/print.html", competition=competition, event=event,
                                              lines=lines))
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.route("/competitions/entries/<int:entry_id>/<any(approve, reject, confirm):decision>", methods=["POST"])
@admin_required
def decide(entry_id: int, decision: str):
    entry = reviewable_entry_or_404(entry_id)
    actions = {
        "approve": (lambda: approvals.approve(entry, actor=current_user, now=utcnow()), _("Approved.")),
        "confirm": (lambda: approvals.confirm(entry, actor=current_user, now=utcnow()), _("Confirmed.")),
        "reject": (lambda: approvals.reject(entry, ReasonForm().reason.data or "", actor=current_user,
                                            now=utcnow()), _("Rejected.")),
    }
    attempt(*actions[decision])
    return redirect(safe_next(url_for("competitions.approvals.waiting")))


@bp.route("/competitions/<int:competition_id>/nominate", methods=["GET", "POST"])
@admin_required
def nominate(competition_id: int):
    competition = _admin_competition_or_404(competition_id)
    form = NominateForm()
    form.event_id.choices = [(event.id, event.name) for event in competition.events if not event.is_team]
    if form.validate_on_submit():
        event = next((e for e in competition.events if e.id == form.event_id.data and not e.is_team), None)
        person = db.session.scalar(scope.visible_users(current_user)
                                   .where(User.mobile == normalize_mobile(form.mobile.data)))
        if event is None or person is None:
            form_error(form, Invalid(_("No member of your unions has this mobile number."), field="mobile"))
        elif attempt(lambda: entries.nominate(current_user, event, person, now=utcnow()),
                     _("%(name)s is nominated.", name=person.real_name)) is None:
            return redirect(url_for("competitions.approvals.listing", competition_id=competition.id))
    return render_template("competitions/nominate.html", competition=competition, form=form)


@bp.app_template_global()
def entry_people(entry_ids: list[int]) -> dict[int, list]:
    """{entry id: [people who accepted]} for a page of entries (one query)."""
    return approvals.people_by_entry(entry_ids)
