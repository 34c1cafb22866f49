"""Organizers: the score sheet of an event (typed, or imported from XLSX/CSV), awards by hand (once the
last round is over), the score-sheet template, and publishing the results (once nothing is missing)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from classroom.database import utcnow
from classroom.exports import xlsx_bytes
from classroom.extensions import db
from classroom.http import paginate, role_required
from classroom.personal_data import mask_mobile
from classroom.unions import scope
from classroom.unions.scope import can_see_mobile
from courses.competitions import approvals, publication, results, score_import
from courses.competitions.forms import AwardForm, ScoreImportForm, scores_from_form
from courses.competitions.lookups import attempt, organized_competition_or_404, organized_event_or_404
from courses.competitions.models import Entry, EntryStatus

bp = Blueprint("results", __name__)
admin_required = role_required(scope.is_union_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _to_sheet(event_id: int):
    return redirect(url_for("competitions.results.sheet", event_id=event_id, page=request.args.get("page")))


@bp.route("/competitions/events/<int:event_id>/scores")
@admin_required
def sheet(event_id: int):
    event = organized_event_or_404(event_id)
    page = paginate(results.confirmed_entries(event.id), per_page=50)
    ids = [entry.id for entry in page.items]
    return render_template("competitions/scores.html", event=event, competition=event.competition, page=page,
                           points=results.scores_of(ids), people=approvals.people_by_entry(ids),
                           import_form=ScoreImportForm(), award_form=AwardForm(),
                           rounds_over=publication.rounds_over(event.competition, now=utcnow()))


@bp.route("/competitions/events/<int:event_id>/scores", methods=["POST"])
@admin_required
def save_scores(event_id: int):
    event = organized_event_or_404(event_id)
    entry_ids = list(db.session.scalars(select(Entry.id).where(Entry.event_id == event.id,
                                                               Entry.status == EntryStatus.CONFIRMED)))
    scores, bad = scores_from_form(request.form, entry_ids, [stage.id for stage in event.competition.stages])
    if bad:
        flash(_("A score is a number from 0 to 100 with at most two decimals; nothing was saved."), "danger")
    else:
        attempt(lambda: results.record_scores(event, scores, actor=current_user, now=utcnow()), _("Scores saved."))
    return _to_sheet(event.id)


@bp.route("/competitions/events/<int:event_id>/scores/import", methods=["POST"])
@admin_required
def import_scores(event_id: int):
    event = organized_event_or_404(event_id)
    form = ScoreImportForm()
    if not form.validate_on_submit():
        flash(_("Choose the score sheet to import."), "danger")
        return _to_sheet(event.id)
    upload = form.file.data
    outcome = []
    error = attempt(lambda: outcome.append(score_import.import_scores(event, upload.filename, upload.read(),
                                                                 actor=current_user, now=utcnow())))
    if error is None and outcome[0][1]:
        return render_template("competitions/import_errors.html", event=event, errors=outcome[0][1]), 422
    if error is None:
        flash(_("Imported: %(count)d scores changed.", count=outcome[0][0]), "success")
    return _to_sheet(event.id)


@bp.route("/competitions/events/<int:event_id>/scores.xlsx")
@admin_required
def template(event_id: int):
    """The sheet to fill in: entry number, name, mobile (masked by rights), one column per round."""
    event = organized_event_or_404(event_id)
    stages = event.competition.stages
    entries = db.session.scalars(results.confirmed_entries(event.id)).all()
    people = approvals.people_by_entry([entry.id for entry in entries])
    points = results.scores_of([entry.id for entry in entries])
    rows = []
    for entry in entries:
        captain = people.get(entry.id, [entry.applicant])[0]
        mobile = captain.mobile if can_see_mobile(current_user, entry.nominating_union) else mask_mobile(captain.mobile)
        rows.append([entry.id, entry.team_name or captain.real_name, mobile or "",
                     *[float(points[(entry.id, s.id)]) if (entry.id, s.id) in points else "" for s in stages]])
    response = make_response(xlsx_bytes(event.name, score_import.sheet_header(stages), rows))
    response.mimetype = XLSX
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event.id}-scores.xlsx"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.route("/competitions/entries/<int:entry_id>/award", methods=["POST"])
@admin_required
def award(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    event = organized_event_or_404(entry.event_id) if entry is not None else organized_event_or_404(0)
    form = AwardForm()
    choice = form.award.data or ""
    attempt(lambda: results.set_award(entry, None if choice in ("", "rule") else choice, form.honor_title.data or "",
                                      by_rule=choice == "rule", actor=current_user, now=utcnow()),
            _("Award saved."))
    return _to_sheet(event.id)


@bp.route("/competitions/<int:competition_id>/results/publish", methods=["POST"])
@admin_required
def publish(competition_id: int):
    competition = organized_competition_or_404(competition_id)
    if attempt(lambda: publication.publish_results(competition, actor=current_user, now=utcnow()),
               _("The results are published.")) is None:
        return redirect(url_for("competitions.results_page", competition_id=competition.id))
    return redirect(url_for("competitions.manage.dashboard", competition_id=competition.id))
