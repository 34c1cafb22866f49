"""The one-click unsubscribe page. A POST with ``List-Unsubscribe=One-Click`` (what a mail provider
sends) switches that kind's email off for that person, with no log-in and no CSRF token; a GET only
shows a page with the button, since mail scanners open links. A link that is not ours is a 404."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale

from classroom.accounts.models import User
from classroom.extensions import csrf, db
from classroom.http import perform, public_url
from classroom.notifications.kinds import kinds
from classroom.notifications.preferences import switch_off_email
from classroom.notifications.unsubscribe import DIGEST, read_token

bp = Blueprint("unsubscribe", __name__)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def one_click(token: str) -> ResponseReturnValue:
    """GET: the button; POST ``List-Unsubscribe=One-Click``: that kind's email off for that person."""
    person, kind = _person_and_kind(token)
    if request.method == "POST" and request.form.get("List-Unsubscribe") != "One-Click":
        abort(400)
    done = request.method == "POST" and perform(lambda: switch_off_email(person, kind)).ok
    known = kinds().get(kind)
    with force_locale(person.locale or "zh_CN"):
        return render_template("notifications/unsubscribe.html", done=done, kind=kind, digest=kind == DIGEST,
                               label=str(known.label) if known else kind,
                               settings_url=public_url("notifications.settings"))


def _person_and_kind(token: str) -> tuple[User, str]:
    """The active person and the kind the token names; 404 for a token that is not ours."""
    found = read_token(token)
    person = db.session.get(User, found[0]) if found else None
    if found is None or person is None or not person.is_active:
        abort(404)
    return person, found[1]
