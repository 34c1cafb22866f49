"""Site admin pages: role grants and account status."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.accounts.models import RoleGrant, User
from classroom.accounts.services import set_account_active
from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import paginate, perform, role_required, safe_next
from classroom.unions.forms import GrantRoleForm
from classroom.unions.roles import grant_role_by_codes, revoke_role, role_grants

bp = Blueprint("admin", __name__, url_prefix="/admin")

site_admin_required = role_required(lambda user: user.is_site_admin)


@bp.route("/roles", methods=["GET", "POST"])
@site_admin_required
def roles():
    form = GrantRoleForm()
    if form.validate_on_submit() and perform(
            lambda: grant_role_by_codes(form.mobile.data, form.role.data, form.union_code.data, actor=current_user),
            success=_("Granted."), form=form, field="role").ok:
        return redirect(url_for("admin.roles"))
    return render_template("admin/roles.html", form=form, page=paginate(role_grants()))


@bp.route("/roles/<int:grant_id>/revoke", methods=["POST"])
@site_admin_required
def revoke(grant_id: int):
    grant = db.get_or_404(RoleGrant, grant_id)
    perform(lambda: revoke_role(grant, actor=current_user), success=_("Revoked."))
    return redirect(url_for("admin.roles"))


@bp.route("/users/<int:user_id>/<any(disable, enable):action>", methods=["POST"])
@site_admin_required
def account_status(user_id: int, action: str):
    person = db.get_or_404(User, user_id)
    perform(lambda: set_account_active(person, action == "enable", actor=current_user, now=utcnow()),
            success=_("Account enabled.") if action == "enable" else _("Account disabled."))
    return redirect(safe_next(url_for("admin.roles")))
