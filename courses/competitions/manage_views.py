"""Organizers: create and edit a competition, its rounds, events and notice files, and publish it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import utcnow
from classroom.http import owned_or_404, perform, role_required
from classroom.pagination import keyset_page
from classroom.timefmt import zone
from classroom.unions import scope
from courses.competitions import (
    access,
    authoring,
    catalogue,
    event_authoring,
    notice_files,
    publication,
    quotas,
    review,
)
from courses.competitions.forms import CompetitionForm, EventForm, StageForm
from courses.competitions.lookups import organized_competition_or_404
from courses.competitions.models import Competition, CompetitionAttachment, CompetitionEvent, CompetitionStatus, Stage

bp = Blueprint("manage", __name__)
admin_required = role_required(scope.is_union_admin)


def organizer_choices(user) -> list[tuple[int, str]]:
    """The unions this admin may name as organizer, indented by depth."""
    return [(union.id, "— " * union.depth + union.name) for union in access.organizer_unions(user)]


def _dashboard(competition: Competition):
    return redirect(url_for("competitions.manage.dashboard", competition_id=competition.id))


def _save(form, action: Callable[[], Competition | Stage | CompetitionEvent], template: str, **context):
    """Validate, call the service (``perform`` commits) and go back to the dashboard; or show the form
    with its errors."""
    if form.validate_on_submit():
        outcome = perform(action, success=_("Saved."), form=form)
        if outcome.value is not None:
            saved = outcome.value
            return _dashboard(saved if isinstance(saved, Competition) else saved.competition)
    return render_template(template, form=form, **context)


def _act(action: Callable[[], object], success: str) -> None:
    """Run a dashboard button's service: commit and say ``success``, or say why it was refused."""
    perform(action, success=success, category="warning")


@bp.route("/competitions/manage")
@admin_required
def index() -> ResponseReturnValue:
    """The competitions this admin's unions organize."""
    page = keyset_page(catalogue.organized_by(current_user), catalogue.ORGANIZED_ORDER, catalogue.organized_key,
                       rows=False)
    return render_template("competitions/manage_index.html", page=page)


@bp.route("/competitions/new", methods=["GET", "POST"])
@admin_required
def new() -> ResponseReturnValue:
    """A new competition (a draft until published)."""
    form = CompetitionForm(year=utcnow().year)
    form.organizer_union_id.choices = organizer_choices(current_user)
    tz = zone(current_user.timezone)
    return _save(form, lambda: authoring.create_competition(current_user, form.data_for_service(tz), now=utcnow()),
                 "competitions/competition_form.html", competition=None)


@bp.route("/competitions/<int:competition_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(competition_id: int) -> ResponseReturnValue:
    """Change the competition and its notice."""
    competition = organized_competition_or_404(competition_id)
    form, tz = CompetitionForm(obj=competition), zone(current_user.timezone)
    if request.method == "GET":
        form.fill_times(competition, tz)
    form.organizer_union_id.choices = organizer_choices(current_user)
    return _save(form, lambda: authoring.update_competition(competition, form.data_for_service(tz),
                                                            actor=current_user, now=utcnow()),
                 "competitions/competition_form.html", competition=competition)


@bp.route("/competitions/<int:competition_id>/manage")
@admin_required
def dashboard(competition_id: int) -> ResponseReturnValue:
    """The organizer's page: rounds, events, files, entries by status, quota use, what blocks the results."""
    competition = organized_competition_or_404(competition_id)
    event_ids = [event.id for event in competition.events]
    missing = publication.publication_blockers(competition, now=utcnow()) \
        if competition.status == CompetitionStatus.PUBLISHED else []
    return render_template("competitions/dashboard.html", competition=competition, missing=missing,
                           counts=review.status_counts(competition.id), usage=quotas.usage_by_event(event_ids))


@bp.route("/competitions/<int:competition_id>/publish", methods=["POST"])
@admin_required
def publish(competition_id: int) -> ResponseReturnValue:
    """Publish the notice: sign-up follows its window."""
    competition = organized_competition_or_404(competition_id)
    _act(lambda: authoring.publish(competition, actor=current_user, now=utcnow()),
             _("Published: the notice is public and sign-up follows its window."))
    return _dashboard(competition)


# ---- rounds ------------------------------------------------------------------------------------------

def _stage_or_404(competition: Competition, stage_id: int) -> Stage:
    return owned_or_404(Stage, stage_id, competition_id=competition.id)


@bp.route("/competitions/<int:competition_id>/stages/new", methods=["GET", "POST"])
@admin_required
def new_stage(competition_id: int) -> ResponseReturnValue:
    """Add a round."""
    return _stage_form(organized_competition_or_404(competition_id), None)


@bp.route("/competitions/<int:competition_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_stage(competition_id: int, stage_id: int) -> ResponseReturnValue:
    """Change a round."""
    competition = organized_competition_or_404(competition_id)
    return _stage_form(competition, _stage_or_404(competition, stage_id))


def _stage_form(competition: Competition, stage: Stage | None):
    form, tz = StageForm(obj=stage), zone(current_user.timezone)
    if stage is not None and request.method == "GET":
        form.fill_times(stage, tz)
    return _save(form, lambda: authoring.save_stage(competition, form.data_for_service(tz), actor=current_user,
                                                    stage=stage),
                 "competitions/stage_form.html", competition=competition, stage=stage)


@bp.route("/competitions/<int:competition_id>/stages/<int:stage_id>/delete", methods=["POST"])
@admin_required
def delete_stage(competition_id: int, stage_id: int) -> ResponseReturnValue:
    """Delete a round nobody is scored in."""
    competition = organized_competition_or_404(competition_id)
    stage = _stage_or_404(competition, stage_id)
    _act(lambda: authoring.delete_stage(stage, actor=current_user), _("Round deleted."))
    return _dashboard(competition)


# ---- events ------------------------------------------------------------------------------------------

def _event_or_404(competition: Competition, event_id: int) -> CompetitionEvent:
    return owned_or_404(CompetitionEvent, event_id, competition_id=competition.id)


@bp.route("/competitions/<int:competition_id>/events/new", methods=["GET", "POST"])
@admin_required
def new_event(competition_id: int) -> ResponseReturnValue:
    """Add an event."""
    return _event_form(organized_competition_or_404(competition_id), None)


@bp.route("/competitions/<int:competition_id>/events/<int:event_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_event(competition_id: int, event_id: int) -> ResponseReturnValue:
    """Change an event."""
    competition = organized_competition_or_404(competition_id)
    return _event_form(competition, _event_or_404(competition, event_id))


def _event_form(competition: Competition, event: CompetitionEvent | None):
    form = EventForm(obj=event)
    form.set_depths(competition.organizer_union.depth)
    if event is not None and request.method == "GET":
        form.fill_awards(event)
    return _save(form, lambda: event_authoring.save_event(competition, form.data_for_service(), actor=current_user,
                                                          event=event),
                 "competitions/event_form.html", competition=competition, event=event)


@bp.route("/competitions/<int:competition_id>/events/<int:event_id>/delete", methods=["POST"])
@admin_required
def delete_event(competition_id: int, event_id: int) -> ResponseReturnValue:
    """Delete an event nobody entered."""
    competition = organized_competition_or_404(competition_id)
    event = _event_or_404(competition, event_id)
    _act(lambda: event_authoring.delete_event(event, actor=current_user), _("Event deleted."))
    return _dashboard(competition)


# ---- notice files ------------------------------------------------------------------------------------

@bp.route("/competitions/<int:competition_id>/files", methods=["POST"])
@admin_required
def upload(competition_id: int) -> ResponseReturnValue:
    """Add a file to the notice."""
    competition = organized_competition_or_404(competition_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a file to upload."), "danger")
        return _dashboard(competition)
    config = current_app.config
    _act(lambda: notice_files.add_attachment(competition, file.filename, file.stream, actor=current_user,
                                                 now=utcnow(), folder=config["UPLOAD_FOLDER"],
                                                 max_bytes=config["UPLOAD_MAX_BYTES"]),
             _("File uploaded."))
    return _dashboard(competition)


@bp.route("/competitions/<int:competition_id>/files/<int:attachment_id>/delete", methods=["POST"])
@admin_required
def delete_file(competition_id: int, attachment_id: int) -> ResponseReturnValue:
    """Delete a file of the notice."""
    competition = organized_competition_or_404(competition_id)
    row = owned_or_404(CompetitionAttachment, attachment_id, competition_id=competition.id)
    _act(lambda: notice_files.delete_attachment(row, competition, actor=current_user,
                                                    folder=current_app.config["UPLOAD_FOLDER"]), _("File deleted."))
    return _dashboard(competition)
