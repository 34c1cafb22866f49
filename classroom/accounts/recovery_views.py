"""Password recovery (code by SMS, link by email or from an admin) and invitations."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from classroom.accounts import invitations, jobs, recovery
from classroom.accounts.forms import AcceptInvitationForm, ForgotPasswordForm, NewPasswordForm, ResetCodeForm
from classroom.accounts.models import User
from classroom.accounts.views import sign_in
from classroom.database import utcnow
from classroom.extensions import limiter
from classroom.forms import typed
from classroom.http import perform, role_required
from classroom.personal_data import mask_mobile, mask_name, normalize_identifier
from classroom.unions import scope

bp = Blueprint("recovery", __name__)

CODE_FAILED = _l("The code is not right, has expired or was tried too often. Ask for a new code.")
PASSWORD_RESET = _l("Your password is reset; your other devices have been logged out.")
TOO_MANY_FOR_ACCOUNT = _l("Too many reset requests for this account. Wait an hour, then try again.")
TOO_MANY_FROM_HERE = _l("Too many attempts from this network. Wait a while, then try again.")


def _identifier_key() -> str:
    # read as the form reads it (NFKC): "１３８…" and "138…" are one account, so one allowance
    return "reset-id:" + normalize_identifier(typed(request.form.get("identifier", "")))[:254]


def _failed(response: Response) -> bool:
    return response.status_code != 302


@bp.route("/auth/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IDENTIFIER"], key_func=_identifier_key,
               methods=["POST"], error_message=lambda: str(TOO_MANY_FOR_ACCOUNT))
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IP"], methods=["POST"],
               error_message=lambda: str(TOO_MANY_FROM_HERE))
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same work whether or not the account exists: the look-up, the code and its SMS or
        # email happen in the background, so the answer never waits on a gateway.
        jobs.request_reset_later(form.identifier.data, now=utcnow(), minutes=current_app.config["RESET_CODE_MINUTES"])
        session["reset_identifier"] = normalize_identifier(form.identifier.data)
        return redirect(url_for("recovery.enter_code"))
    return render_template("recovery/forgot.html", form=form)


@bp.route("/auth/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed,
               error_message=lambda: str(TOO_MANY_FROM_HERE))
def enter_code():
    identifier = session.get("reset_identifier", "")
    by_email = "@" in identifier
    form = ResetCodeForm(data={"mobile": "" if by_email else identifier})
    if form.validate_on_submit():
        reset = perform(lambda: recovery.reset_with_code(form.mobile.data, form.code.data, form.password.data,
                                                         now=utcnow(),
                                                         max_attempts=current_app.config["RESET_CODE_ATTEMPTS"]),
                        form=form, field="password")  # a wrong try is counted (committed), too
        if reset.value is not None:
            return _signed_in(reset.value, str(PASSWORD_RESET))
        if reset.ok:
            form.code.errors.append(CODE_FAILED)
    return render_template("recovery/enter_code.html", form=form, by_email=by_email,
                           minutes=current_app.config["RESET_CODE_MINUTES"])


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset_with_link(token: str):
    reset = recovery.find_link(token, now=utcnow())
    if reset is None:
        return render_template("recovery/invalid_link.html", message=recovery.LINK_INVALID), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        done = perform(lambda: recovery.reset_with_link(token, form.password.data, now=utcnow()), form=form,
                       field="password")
        if done.value is not None:
            return _signed_in(done.value, str(PASSWORD_RESET))
    return _private(render_template("recovery/reset_link.html", form=form, name=mask_name(reset.user.real_name)))


@bp.route("/auth/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = invitations.find_invitation(token, now=utcnow())
    if invitation is None:
        return render_template("recovery/invalid_link.html", message=invitations.INVITATION_INVALID), 404
    person = invitation.user
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        accepted = perform(lambda: invitations.accept_invitation(token, form.password.data, now=utcnow(),
                                                                 consent_version=current_app.config["PRIVACY_NOTICE_VERSION"]),
                           form=form, field="password")
        if accepted.value is not None:
            return _signed_in(accepted.value, _("Welcome to Worker Classroom! Your password is set."))
    return _private(render_template("recovery/invitation.html", form=form, name=mask_name(person.real_name),
                                    mobile=mask_mobile(person.mobile)))


def _signed_in(user: User, message: str) -> Response:
    sign_in(user, remember=False)
    flash(message, "success")
    return redirect(url_for("me.overview"))


def _private(body: str) -> Response:
    """Pages carrying a secret token in their address: never cached, never sent on as a referrer."""
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/unions/<int:union_id>/members/<int:user_id>/reset-link", methods=["POST"])
@role_required(scope.is_union_admin)
def issue_reset_link(union_id: int, user_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    person = scope.member_or_404(current_user, union, user_id)
    issued = perform(lambda: recovery.issue_reset_link(person, actor=current_user, union=union, now=utcnow()),
                     category="warning")
    if issued.value is None:
        return redirect(url_for("unions.member", union_id=union.id, user_id=person.id))
    return _private(render_template("recovery/admin_link.html", union=union, person=person, link=issued.value,
                                    hours=recovery.ADMIN_LINK_HOURS))
