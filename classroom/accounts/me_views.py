"""A worker's own pages: overview, settings, password, membership application."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from classroom.accounts.forms import ChangePasswordForm, MembershipApplicationForm, ProfileForm
from classroom.accounts.services import PROFILE_FIELDS, change_password, update_profile
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error
from classroom.registry import panels_for, registry
from classroom.unions.models import Membership, TradeUnion
from classroom.unions.services import apply_for_membership, current_memberships, union_choices

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.before_request
@login_required
def require_login():
    """Every page here is the signed-in person's own."""


@bp.route("")
def overview():
    memberships = db.session.scalars(
        select(Membership).where(Membership.user_id == current_user.id)
        .join(Membership.union).order_by(Membership.applied_at.desc())
    ).all()
    return render_template("me/overview.html", memberships=memberships,
                           open_memberships=current_memberships(current_user.id),
                           sections=panels_for(registry().me_panels, current_user))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        fields = {name: form[name].data for name in PROFILE_FIELDS}
        try:
            update_profile(current_user, languages=current_app.config["LANGUAGES"], now=utcnow(), **fields)
        except DomainError as error:
            db.session.rollback()
            form_error(form, error)
        else:
            db.session.commit()
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("me.settings"))
    return render_template("me/settings.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data,
                            keep_token=current_user.login_token, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="new")
        else:
            db.session.commit()
            flash(_("Your password is changed; your other devices have been logged out."), "success")
            return redirect(url_for("me.overview"))
    return render_template("me/password.html", form=form)


@bp.route("/membership/apply", methods=["GET", "POST"])
def apply():
    form = MembershipApplicationForm()
    form.union_id.choices = union_choices(form.union_query.data, selected=form.union_id.data)
    if "search" not in request.form and form.validate_on_submit():
        begin_write(db.session)
        try:
            membership = apply_for_membership(
                current_user, db.session.get(TradeUnion, form.union_id.data), id_card=form.id_card.data or None,
                consent_version=current_app.config["PRIVACY_NOTICE_VERSION"] if form.id_card_consent.data else None,
                now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="union_id")
        else:
            db.session.commit()
            flash(_("Your application to %(union)s is sent.", union=membership.union.name), "success")
            return redirect(url_for("me.overview"))
    return render_template("me/apply.html", form=form)
