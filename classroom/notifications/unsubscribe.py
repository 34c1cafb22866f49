"""One-click unsubscribe (RFC 8058): every notification email names a signed link for its kind and its
person. A POST with ``List-Unsubscribe=One-Click`` (what a mail provider sends) switches that kind's email
off for that person, with no log-in and no CSRF token; a GET only shows a page with the button, since
mail scanners open links. A link that is not ours is a 404."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import force_locale
from itsdangerous import BadData, URLSafeSerializer

from classroom.accounts.models import User
from classroom.extensions import csrf, db
from classroom.http import public_url
from classroom.notifications.kinds import kinds
from classroom.notifications.preferences import switch_off_email

bp = Blueprint("unsubscribe", __name__)
SALT = "notifications.unsubscribe"
DIGEST = "digest"  # the daily and weekly digest emails: every kind held for them


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(user_id: int, kind: str) -> str:
    """The signed token naming this person and this kind."""
    return _serializer().dumps([user_id, kind])


def unsubscribe_url(user_id: int, kind: str) -> str:
    """The absolute one-click link for this person's emails of this kind."""
    return public_url("unsubscribe.one_click", token=token_for(user_id, kind))


def read_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) from a token we signed; None for anything else."""
    try:
        value = _serializer().loads(token)
    except BadData:
        return None
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and isinstance(value[1], str)
            and 0 < len(value[1]) <= 40):
        return None
    return value[0], value[1]


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def one_click(token: str):
    """GET: the button; POST ``List-Unsubscribe=One-Click``: that kind's email off for that person."""
    found = read_token(token)
    person = db.session.get(User, found[0]) if found else None
    if person is None or not person.is_active:
        abort(404)
    kind = found[1]
    known = kinds().get(kind)
    with force_locale(person.locale or "zh_CN"):
        label = str(known.label) if known else kind
        values = dict(kind=kind, label=label, digest=kind == DIGEST, settings_url=public_url("notifications.settings"))
        if request.method == "GET":
            return render_template("notifications/unsubscribe.html", done=False, **values)
        if request.form.get("List-Unsubscribe") != "One-Click":
            abort(400)
        switch_off_email(person, kind)
        db.session.commit()
        return render_template("notifications/unsubscribe.html", done=True, **values)
