"""Organizers: create and edit a competition, its rounds, events and notice files, and publish it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_

from classroom.accounts.models import Role
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, owned_or_404, paginate, role_required
from classroom.timefmt import zone
from classroom.unions import scope
from classroom.unions.models import TradeUnion, UnionKind
from courses.competitions import approvals, publication, quotas, services
from courses.competitions.forms import CompetitionForm, EventForm, StageForm
from courses.competitions.lookups import attempt, organized_competition_or_404
from courses.competitions.models import Competition, CompetitionAttachment, CompetitionEvent, CompetitionStatus, Stage

bp = Blueprint("manage", __name__)
admin_required = role_required(scope.is_union_admin)


def _tz():
    return zone(current_user.timezone)


def _local(moment):
    return moment.astimezone(_tz()).replace(tzinfo=None) if moment else None


def organizer_choices(user) -> list[tuple[int, str]]:
    """The unions this admin may name as organizer: the nodes they hold and the non-grassroots ones below."""
    held = [grant.union_id for grant in user.grants if grant.role == Role.UNION_ADMIN]
    rows = db.session.scalars(scope.visible_unions(user).where(
        or_(TradeUnion.kind != UnionKind.GRASSROOTS, TradeUnion.id.in_(held))).order_by(TradeUnion.path).limit(300))
    return [(union.id, "— " * union.depth + union.name) for union in rows]


def _dashboard(competition: Competition):
    return redirect(url_for("competitions.manage.dashboard", competition_id=competition.id))


def _save(form, action, template: str, **context):
    """Validate, call the service, commit and go back to the dashboard; or show the form with errors."""
    if form.validate_on_submit():
        try:
            saved = action()
        except DomainError as error:
            db.session.rollback()
            form_error(form, error)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return _dashboard(saved if isinstance(saved, Competition) else saved.competition)
    return render_template(template, form=form, **context)


@bp.route("/competitions/manage")
@admin_required
def index():
    return render_template("competitions/manage_index.html", page=paginate(services.organized_by(current_user)))


@bp.route("/competitions/new", methods=["GET", "POST"])
@admin_required
def new():
    form = CompetitionForm(year=utcnow().year)
    form.organizer_union_id.choices = organizer_choices(current_user)
    return _save(form, lambda: services.create_competition(current_user, form.data_for_service(_tz()), now=utcnow()),
                 "competitions/competition_form.html", competition=None)


@bp.route("/competitions/<int:competition_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(competition_id: int):
    competition = organized_competition_or_404(competition_id)
    form = CompetitionForm(obj=competition)
    if request.method == "GET":
        form.signup_opens_at.data, form.signup_closes_at.data = (_local(competition.signup_opens_at),
                                                                 _local(competition.signup_closes_at))
    form.organizer_union_id.choices = organizer_choices(current_user)

    def save():
        services.update_competition(competition, form.data_for_service(_tz()), actor=current_user, now=utcnow())
        return competition

    return _save(form, save, "competitions/competition_form.html", competition=competition)


@bp.route("/competitions/<int:competition_id>/manage")
@admin_required
def dashboard(competition_id: int):
    competition = organized_competition_or_404(competition_id)
    event_ids = [event.id for event in competition.events]
    missing = publication.publication_blockers(competition, now=utcnow()) \
        if competition.status == CompetitionStatus.PUBLISHED else []
    return render_template("competitions/dashboard.html", competition=competition, missing=missing,
                           counts=approvals.status_counts(competition.id), usage=quotas.usage_by_event(event_ids))


@bp.route("/competitions/<int:competition_id>/publish", methods=["POST"])
@admin_required
def publish(competition_id: int):
    competition = organized_competition_or_404(competition_id)
    attempt(lambda: services.publish(competition, actor=current_user, now=utcnow()),
            _("Published: the notice is public and sign-up follows its window."))
    return _dashboard(competition)


# ---- rounds ------------------------------------------------------------------------------------------

def _stage_or_404(competition: Competition, stage_id: int) -> Stage:
    return owned_or_404(Stage, stage_id, competition_id=competition.id)


@bp.route("/competitions/<int:competition_id>/stages/new", methods=["GET", "POST"])
@admin_required
def new_stage(competition_id: int):
    return _stage_form(organized_competition_or_404(competition_id), None)


@bp.route("/competitions/<int:competition_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_stage(competition_id: int, stage_id: int):
    competition = organized_competition_or_404(competition_id)
    return _stage_form(competition, _stage_or_404(competition, stage_id))


def _stage_form(competition: Competition, stage: Stage | None):
    form = StageForm(obj=stage)
    if stage is not None and request.method == "GET":
        form.starts_at.data, form.ends_at.data = _local(stage.starts_at), _local(stage.ends_at)
    return _save(form, lambda: services.save_stage(competition, form.data_for_service(_tz()), actor=current_user,
                                                   stage=stage),
                 "competitions/stage_form.html", competition=competition, stage=stage)


@bp.route("/competitions/<int:competition_id>/stages/<int:stage_id>/delete", methods=["POST"])
@admin_required
def delete_stage(competition_id: int, stage_id: int):
    competition = organized_competition_or_404(competition_id)
    stage = _stage_or_404(competition, stage_id)
    attempt(lambda: services.delete_stage(stage, actor=current_user), _("Round deleted."))
    return _dashboard(competition)


# ---- events ------------------------------------------------------------------------------------------

def _event_or_404(competition: Competition, event_id: int) -> CompetitionEvent:
    return owned_or_404(CompetitionEvent, event_id, competition_id=competition.id)


@bp.route("/competitions/<int:competition_id>/events/new", methods=["GET", "POST"])
@admin_required
def new_event(competition_id: int):
    return _event_form(organized_competition_or_404(competition_id), None)


@bp.route("/competitions/<int:competition_id>/events/<int:event_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_event(competition_id: int, event_id: int):
    competition = organized_competition_or_404(competition_id)
    return _event_form(competition, _event_or_404(competition, event_id))


def _event_form(competition: Competition, event: CompetitionEvent | None):
    form = EventForm(obj=event)
    form.set_depths(competition.organizer_union.depth)
    if event is not None and request.method == "GET":
        form.fill_awards(event.award_rule)
        form.promotion_award.data = event.promotion_award or ""
    return _save(form, lambda: services.save_event(competition, form.data_for_service(), actor=current_user,
                                                   event=event),
                 "competitions/event_form.html", competition=competition, event=event)


@bp.route("/competitions/<int:competition_id>/events/<int:event_id>/delete", methods=["POST"])
@admin_required
def delete_event(competition_id: int, event_id: int):
    competition = organized_competition_or_404(competition_id)
    event = _event_or_404(competition, event_id)
    attempt(lambda: services.delete_event(event, actor=current_user), _("Event deleted."))
    return _dashboard(competition)


# ---- notice files ------------------------------------------------------------------------------------

@bp.route("/competitions/<int:competition_id>/files", methods=["POST"])
@admin_required
def upload(competition_id: int):
    competition = organized_competition_or_404(competition_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a file to upload."), "danger")
        return _dashboard(competition)
    config = current_app.config
    attempt(lambda: services.add_attachment(competition, file.filename, file.stream, actor=current_user, now=utcnow(),
                                            folder=config["UPLOAD_FOLDER"], max_bytes=config["UPLOAD_MAX_BYTES"]),
            _("File uploaded."))
    return _dashboard(competition)


@bp.route("/competitions/<int:competition_id>/files/<int:attachment_id>/delete", methods=["POST"])
@admin_required
def delete_file(competition_id: int, attachment_id: int):
    competition = organized_competition_or_404(competition_id)
    row = owned_or_404(CompetitionAttachment, attachment_id, competition_id=competition.id)
    attempt(lambda: services.delete_attachment(row, competition, actor=current_user,
                                               folder=current_app.config["UPLOAD_FOLDER"]), _("File deleted."))
    return _dashboard(competition)
