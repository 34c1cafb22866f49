"""Log in, log out, register."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from classroom.accounts.forms import LoginForm, RegisterForm
from classroom.accounts.models import SKILL_LEVELS, User
from classroom.accounts.services import (
    authenticate,
    end_login_session,
    register_user,
    start_login_session,
)
from classroom.accounts.session_cache import session_started, session_user
from classroom.database import utcnow
from classroom.extensions import db, limiter
from classroom.http import perform, safe_next
from classroom.i18n import locale_code
from classroom.metrics import count_login_failure
from classroom.personal_data import normalize_identifier
from classroom.unions.models import TradeUnion
from classroom.unions.union_search import union_choices

bp = Blueprint("auth", __name__, url_prefix="/auth")

LOGIN_FAILED = _l("The mobile number, email or password is not right.")
TOO_MANY_FOR_ACCOUNT = _l("Too many failed log-ins for this account. Wait 15 minutes, then try again.")
TOO_MANY_FROM_HERE = _l("Too many log-in attempts from this network. Wait a while, then try again.")


def load_user(token: str) -> User | None:
    """Flask-Login's loader: the person of this log-in token, or None. A last-seen touch the load made
    is committed here and now, while loading (it is no part of the request's own work)."""
    touch = timedelta(seconds=current_app.config["LOGIN_SESSION_TOUCH_SECONDS"])
    found = session_user(token, now=utcnow(), touch_after=touch)
    if found is None:
        return None
    user, touched = found
    if touched:
        db.session.commit()
    return user


def _identifier_key() -> str:
    return "login-id:" + normalize_identifier(request.form.get("identifier", ""))[:254]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IDENTIFIER"], key_func=_identifier_key,
               methods=["POST"], deduct_when=_failed, error_message=lambda: str(TOO_MANY_FOR_ACCOUNT))
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed,
               error_message=lambda: str(TOO_MANY_FROM_HERE))
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(url_for("main.home")))
    form = LoginForm()
    if request.args.get("with") == "email":
        form.identifier.render_kw = {"autocomplete": "username", "inputmode": "email"}
    if form.validate_on_submit():
        user = authenticate(form.identifier.data, form.password.data, now=utcnow())
        if user is not None:
            sign_in(user, remember=form.remember.data)
            return redirect(safe_next(url_for("main.home")))
        form.password.errors.append(LOGIN_FAILED)
        count_login_failure()
    return render_template("auth/login.html", form=form)


def sign_in(user: User, *, remember: bool) -> None:
    """Start a fresh session (a new server-side token) for this user and commit."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    token = start_login_session(user, ip=request.remote_addr, user_agent=request.user_agent.string, now=utcnow())
    db.session.commit()
    session_started(token, user.id)
    login_user(user, remember=remember)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    perform(lambda: end_login_session(current_user.login_token, user_id=current_user.id, now=utcnow()))
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_IP"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    form.union_id.choices = union_choices(form.union_query.data, selected=form.union_id.data)
    if "search" in request.form:
        form.keep_passwords()
    elif form.validate_on_submit():
        union = db.session.get(TradeUnion, form.union_id.data)
        registered = perform(lambda: register_user(
            real_name=form.real_name.data, mobile=form.mobile.data, password=form.password.data, union=union,
            consent_version=current_app.config["PRIVACY_NOTICE_VERSION"], locale=locale_code(), now=utcnow()),
            form=form, field="password")
        if registered.value is not None and union is not None:
            sign_in(registered.value, remember=False)
            flash(_("Welcome! Your application to %(union)s is waiting for its approval.", union=union.name),
                  "success")
            return redirect(url_for("me.overview"))
    response = make_response(render_template("auth/register.html", form=form))
    response.headers["Cache-Control"] = "no-store"  # it may show the passwords typed (see keep_passwords)
    return response


@bp.route("/unions.json")
@limiter.limit("120 per minute")
def union_search():
    """Grassroots unions matching ?q=, for the union picker."""
    return jsonify([{"id": union_id, "label": label} for union_id, label in union_choices(request.args.get("q", ""))])


@bp.app_template_global()
def skill_level_label(level: int | None) -> str:
    """A skill level's name (五级/初级工 …), or "" when none is set."""
    return str(SKILL_LEVELS.get(level, "")) if level else ""
