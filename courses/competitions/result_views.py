"""Organizers: the score sheet of an event (typed, or imported from XLSX/CSV), awards by hand (once the
last round is over), the score-sheet template, and publishing the results (once nothing is missing)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import utcnow
from classroom.http import paginate, perform, role_required
from classroom.unions import scope
from courses.competitions import exports, publication, results, review, score_import
from courses.competitions.forms import AwardForm, ScoreImportForm, scores_from_form
from courses.competitions.lookups import organized_competition_or_404, organized_entry_or_404, organized_event_or_404
from courses.competitions.responses import xlsx_download

bp = Blueprint("results", __name__)
admin_required = role_required(scope.is_union_admin)


def _to_sheet(event_id: int):
    return redirect(url_for("competitions.results.sheet", event_id=event_id, page=request.args.get("page")))


@bp.route("/competitions/events/<int:event_id>/scores")
@admin_required
def sheet(event_id: int) -> ResponseReturnValue:
    """The event's confirmed entries with their scores per round, ranks and awards."""
    event = organized_event_or_404(event_id)
    page = paginate(results.confirmed_entries(event.id), per_page=50)
    ids = [entry.id for entry in page.items]
    return render_template("competitions/scores.html", event=event, competition=event.competition, page=page,
                           points=results.scores_of(ids), people=review.people_by_entry(ids),
                           import_form=ScoreImportForm(), award_form=AwardForm(),
                           rounds_over=publication.rounds_over(event.competition, now=utcnow()))


@bp.route("/competitions/events/<int:event_id>/scores", methods=["POST"])
@admin_required
def save_scores(event_id: int) -> ResponseReturnValue:
    """Record the scores typed on the sheet (all of them, or none when one is not a score)."""
    event = organized_event_or_404(event_id)
    stage_ids = [stage.id for stage in event.competition.stages]
    scores, bad = scores_from_form(request.form, sorted(results.confirmed_entry_ids(event.id)), stage_ids)
    if bad:
        flash(_("A score is a number from 0 to 100 with at most two decimals; nothing was saved."), "danger")
    else:
        perform(lambda: results.record_scores(event, scores, actor=current_user, now=utcnow()),
                success=_("Scores saved."), category="warning")
    return _to_sheet(event.id)


@bp.route("/competitions/events/<int:event_id>/scores/import", methods=["POST"])
@admin_required
def import_scores(event_id: int) -> ResponseReturnValue:
    """Import the scores of a sheet: every row right, or nothing recorded and the rows' errors shown."""
    event = organized_event_or_404(event_id)
    form = ScoreImportForm()
    if not form.validate_on_submit():
        flash(_("Choose the score sheet to import."), "danger")
        return _to_sheet(event.id)
    upload = form.file.data
    outcome = perform(lambda: score_import.import_scores(event, upload.filename, upload.read(), actor=current_user,
                                                         now=utcnow()), category="warning")
    if outcome.value is not None and outcome.value.errors:
        return render_template("competitions/import_errors.html", event=event, errors=outcome.value.errors), 422
    if outcome.value is not None:
        flash(_("Imported: %(count)d scores changed.", count=outcome.value.changed), "success")
    return _to_sheet(event.id)


@bp.route("/competitions/events/<int:event_id>/scores.xlsx")
@admin_required
def template(event_id: int) -> ResponseReturnValue:
    """The sheet to fill in: entry number, name, mobile (masked by rights), one column per round."""
    event = organized_event_or_404(event_id)
    header, rows = exports.score_sheet(current_user, event)
    return xlsx_download(f"event-{event.id}-scores.xlsx", event.name, header, rows)


@bp.route("/competitions/entries/<int:entry_id>/award", methods=["POST"])
@admin_required
def award(entry_id: int) -> ResponseReturnValue:
    """Give the entry an award by hand, or hand it back to the event's rule."""
    entry = organized_entry_or_404(entry_id)
    form = AwardForm()
    choice = form.award.data or ""
    perform(lambda: results.set_award(entry, None if choice in ("", "rule") else choice, form.honor_title.data or "",
                                      by_rule=choice == "rule", actor=current_user, now=utcnow()),
            success=_("Award saved."), category="warning")
    return _to_sheet(entry.event_id)


@bp.route("/competitions/<int:competition_id>/results/publish", methods=["POST"])
@admin_required
def publish(competition_id: int) -> ResponseReturnValue:
    """Publish the results (refused, saying what is missing, before the competition is over)."""
    competition = organized_competition_or_404(competition_id)
    if perform(lambda: publication.publish_results(competition, actor=current_user, now=utcnow()),
               success=_("The results are published."), category="warning").ok:
        return redirect(url_for("competitions.results_page", competition_id=competition.id))
    return redirect(url_for("competitions.manage.dashboard", competition_id=competition.id))
