"""A worker's own pages: overview, schedule, settings, password, membership application."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom import agenda
from classroom.accounts.forms import ChangePasswordForm, MembershipApplicationForm, ProfileForm
from classroom.accounts.services import PROFILE_FIELDS, change_password, update_profile
from classroom.database import begin_write, utcnow
from classroom.extensions import db
from classroom.http import perform
from classroom.registry import panels_for, registry
from classroom.timefmt import zone
from classroom.unions.memberships import apply_for_membership, current_memberships, membership_history
from classroom.unions.models import Membership, TradeUnion
from classroom.unions.union_search import union_choices

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.before_request
@login_required
def require_login():
    """Every page here is the signed-in person's own."""


@bp.route("")
def overview():
    return render_template("me/overview.html", memberships=membership_history(current_user.id),
                           open_memberships=current_memberships(current_user.id),
                           sections=panels_for(registry().me_panels, current_user))


@bp.route("/schedule")
def schedule():
    """The person's classes and deadlines, four weeks a page (?from=<a Monday>)."""
    tz, now = zone(current_user.timezone), utcnow()
    first = agenda.first_week(request.args.get("from"), now, tz)
    this_week = agenda.first_week(None, now, tz)
    return render_template("me/schedule.html", page=agenda.page_of(current_user, first, now=now, tz=tz),
                           this_week=this_week, shown=timedelta(weeks=agenda.WEEKS_SHOWN),
                           last=this_week + timedelta(weeks=agenda.WEEKS_AHEAD))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit() and perform(
            lambda: update_profile(current_user, languages=current_app.config["LANGUAGES"], now=utcnow(),
                                   **{name: form[name].data for name in PROFILE_FIELDS}),
            success=_("Your settings are saved."), form=form).ok:
        return redirect(url_for("me.settings"))
    return render_template("me/settings.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and perform(
            lambda: change_password(current_user, form.current.data, form.new.data,
                                    keep_token=current_user.login_token, now=utcnow()),
            success=_("Your password is changed; your other devices have been logged out."), form=form,
            field="new").ok:
        return redirect(url_for("me.overview"))
    return render_template("me/password.html", form=form)


@bp.route("/membership/apply", methods=["GET", "POST"])
def apply():
    form = MembershipApplicationForm()
    form.union_id.choices = union_choices(form.union_query.data, selected=form.union_id.data)
    if "search" not in request.form and form.validate_on_submit() and perform(
            lambda: _apply(form),
            success=lambda membership: _("Your application to %(union)s is sent.", union=membership.union.name),
            form=form, field="union_id").ok:
        return redirect(url_for("me.overview"))
    return render_template("me/apply.html", form=form)


def _apply(form: MembershipApplicationForm) -> Membership:
    """The application the form describes, under the write lock (the ID-card consent only when ticked)."""
    begin_write(db.session)
    union = db.session.get(TradeUnion, form.union_id.data)
    consent = current_app.config["PRIVACY_NOTICE_VERSION"] if form.id_card_consent.data else None
    return apply_for_membership(current_user, union, id_card=form.id_card.data or None, consent_version=consent,
                                now=utcnow())
