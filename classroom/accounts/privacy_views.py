"""Personal-data rights: consents, data download, closing the account; consent to a new notice."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from classroom.accounts import privacy
from classroom.accounts.forms import CloseAccountForm, PrivacyConsentForm
from classroom.database import utcnow
from classroom.http import paginate, perform, safe_next

bp = Blueprint("privacy", __name__, url_prefix="/me/privacy")

# Pages a person who still owes consent to the current notice may open.
OPEN_ENDPOINTS = {"static", "privacy.consent", "privacy.index", "privacy.export", "privacy.close_account",
                  "auth.logout", "main.privacy", "main.ping", "main.healthz",
                  "asset", "webapp.manifest", "webapp.service_worker", "webapp.favicon"}  # (classroom/assets.py, main)


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
    consent = privacy.consent_of(current_user, consent_id)
    if consent is not None:
        perform(lambda: privacy.withdraw_consent(current_user, consent, now=utcnow()),
                success=_("Your consent is withdrawn."), category="warning")
    return redirect(url_for("privacy.index"))


@bp.route("/export")
@login_required
def export():
    now = utcnow()
    body = privacy.personal_data_json(current_user, now=now)
    perform(lambda: privacy.record_download(current_user))
    filename = f"my-data-{now:%Y%m%d}.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.route("/close", methods=["POST"])
@login_required
def close_account():
    form = CloseAccountForm()
    if form.validate_on_submit() and perform(lambda: privacy.close_account(current_user, form.password.data,
                                                                           now=utcnow()),
                                             form=form, field="password").ok:
        logout_user()
        session.clear()  # then the message: clearing the session would take it away
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
        perform(lambda: privacy.give_privacy_consent(current_user, version, now=utcnow()))
        session["privacy_ok"] = version
        return redirect(safe_next(url_for("main.home")))
    return render_template("privacy/consent.html", form=form, version=version)
