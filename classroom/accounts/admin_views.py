"""Site admin pages: role grants and account status."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from classroom.accounts.models import RoleGrant, User
from classroom.accounts.services import set_account_active
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, paginate, role_required, safe_next
from classroom.unions.forms import GrantRoleForm
from classroom.unions.models import TradeUnion
from classroom.unions.services import grant_role, revoke_role

bp = Blueprint("admin", __name__, url_prefix="/admin")

site_admin_required = role_required(lambda user: user.is_site_admin)


@bp.route("/roles", methods=["GET", "POST"])
@site_admin_required
def roles():
    form = GrantRoleForm()
    if form.validate_on_submit():
        person = db.session.scalar(select(User).where(User.mobile == form.mobile.data))
        union = db.session.scalar(select(TradeUnion).where(TradeUnion.code == form.union_code.data))
        if person is None:
            form.mobile.errors.append(_("No account has this mobile number."))
        elif union is None:
            form.union_code.errors.append(_("No union has this code."))
        else:
            try:
                grant_role(person, form.role.data, union, actor=current_user)
            except DomainError as error:
                db.session.rollback()
                form_error(form, error, default="role")
            else:
                db.session.commit()
                flash(_("Granted."), "success")
                return redirect(url_for("admin.roles"))
    page = paginate(select(RoleGrant).join(RoleGrant.user).order_by(RoleGrant.granted_at.desc()))
    return render_template("admin/roles.html", form=form, page=page)


@bp.route("/roles/<int:grant_id>/revoke", methods=["POST"])
@site_admin_required
def revoke(grant_id: int):
    grant = db.get_or_404(RoleGrant, grant_id)
    revoke_role(grant, actor=current_user)
    db.session.commit()
    flash(_("Revoked."), "success")
    return redirect(url_for("admin.roles"))


@bp.route("/users/<int:user_id>/<any(disable, enable):action>", methods=["POST"])
@site_admin_required
def account_status(user_id: int, action: str):
    person = db.get_or_404(User, user_id)
    try:
        set_account_active(person, action == "enable", actor=current_user, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("Account enabled.") if action == "enable" else _("Account disabled."), "success")
    return redirect(safe_next(url_for("admin.roles")))
