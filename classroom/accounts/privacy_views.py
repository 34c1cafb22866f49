"""Personal-data rights: consents, data download, closing the account; consent to a new notice."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from classroom.accounts import privacy
from classroom.accounts.forms import CloseAccountForm, PrivacyConsentForm
from classroom.accounts.models import Consent
from classroom.audit import record_event
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, paginate, safe_next

bp = Blueprint("privacy", __name__, url_prefix="/me/privacy")

# Pages a person who still owes consent to the current notice may open.
OPEN_ENDPOINTS = {"static", "privacy.consent", "privacy.index", "privacy.export", "privacy.close_account",
                  "auth.logout", "main.privacy", "main.ping", "main.healthz"}


@bp.before_app_request
def require_current_consent():
    """A new privacy-notice version: the person agrees (or leaves) before anything else."""
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith(("recovery.", "api.")):
        return None
    version = current_app.config["PRIVACY_NOTICE_VERSION"]
    if session.get("privacy_ok") == version or not current_user.is_authenticated:
        return None
    if privacy.needs_privacy_consent(current_user.id, version):
        return redirect(url_for("privacy.consent", next=request.full_path.rstrip("?")))
    session["privacy_ok"] = version
    return None


@bp.route("")
@login_required
def index(close_form: CloseAccountForm | None = None):
    page = paginate(privacy.consents_of(current_user))
    return render_template("privacy/index.html", page=page, labels=privacy.CONSENT_LABELS,
                           close_form=close_form or CloseAccountForm(formdata=None))


@bp.route("/consents/<int:consent_id>/withdraw", methods=["POST"])
@login_required
def withdraw(consent_id: int):
    consent = db.session.scalar(select(Consent).where(Consent.id == consent_id, Consent.user_id == current_user.id))
    if consent is None:
        return redirect(url_for("privacy.index"))
    try:
        privacy.withdraw_consent(current_user, consent, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        db.session.commit()
        flash(_("Your consent is withdrawn."), "success")
    return redirect(url_for("privacy.index"))


@bp.route("/export")
@login_required
def export():
    now = utcnow()
    body = privacy.personal_data_json(current_user, now=now)
    begin_write(db.session)
    record_event(current_user, "privacy.export", current_user)
    db.session.commit()
    filename = f"my-data-{now:%Y%m%d}.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.route("/close", methods=["POST"])
@login_required
def close_account():
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            privacy.close_account(current_user, form.password.data, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="password")
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(_("Your account is closed and your personal data erased."), "info")
            return redirect(url_for("main.home"))
    return index(close_form=form)


@bp.route("/consent", methods=["GET", "POST"])
@login_required
def consent():
    version = current_app.config["PRIVACY_NOTICE_VERSION"]
    if not privacy.needs_privacy_consent(current_user.id, version):
        return redirect(safe_next(url_for("main.home")))
    form = PrivacyConsentForm()
    if form.validate_on_submit():
        privacy.give_privacy_consent(current_user, version, now=utcnow())
        db.session.commit()
        session["privacy_ok"] = version
        return redirect(safe_next(url_for("main.home")))
    return render_template("privacy/consent.html", form=form, version=version)
