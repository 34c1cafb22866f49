"""/unions/<id>/api-keys: a union's administrators create (shown once), list and revoke partner API keys."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.api.forms import ApiKeyForm
from classroom.api.keys import SCOPES, create_key, key_of, keys_of, revoke_key
from classroom.database import utcnow
from classroom.http import paginate, perform, role_required
from classroom.unions import scope

bp = Blueprint("api_keys", __name__, url_prefix="/unions")
union_admin_required = role_required(scope.is_union_admin)


@bp.route("/<int:union_id>/api-keys", methods=["GET", "POST"])
@union_admin_required
def index(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form, secret = ApiKeyForm(), None
    if form.validate_on_submit():
        outcome = perform(lambda: create_key(union, name=form.name.data, scopes=form.scopes.data,
                                             actor=current_user, now=utcnow()), form=form, field="name")
        if outcome.value is not None:
            secret, form = outcome.value.secret, ApiKeyForm(formdata=None)
    response = make_response(render_template("api/keys.html", union=union, form=form, secret=secret,
                                             scopes=SCOPES, page=paginate(keys_of(union))))
    response.headers["Cache-Control"] = "no-store"  # the page may show a key's secret, this once
    return response


@bp.route("/<int:union_id>/api-keys/<int:key_id>/revoke", methods=["POST"])
@union_admin_required
def revoke(union_id: int, key_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    key = key_of(union, key_id) or abort(404)
    perform(lambda: revoke_key(key, actor=current_user, now=utcnow()),
            success=_("The key %(name)s is revoked.", name=key.name))
    return redirect(url_for("api_keys.index", union_id=union.id))
