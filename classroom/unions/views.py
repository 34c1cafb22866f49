"""Union admin pages: a node, its members and applications; the tree for site admins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from classroom.audit import record_event
from classroom.database import utcnow, writes
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, paginate, perform, role_required
from classroom.pagination import keyset_page
from classroom.unions import scope
from classroom.unions import services as unions
from classroom.unions.forms import (
    EditUnionForm,
    LapseForm,
    MemberFilterForm,
    MoveUnionForm,
    RejectForm,
    TargetForm,
    UnionForm,
)
from classroom.unions.models import Membership, TradeUnion, UnionKind

bp = Blueprint("unions", __name__, url_prefix="/unions")

union_admin_required = role_required(scope.is_union_admin)
site_admin_required = role_required(lambda user: user.is_site_admin)


@bp.route("/")
@union_admin_required
def index():
    managed = db.session.scalars(
        scope.visible_unions(current_user).order_by(TradeUnion.depth, TradeUnion.name).limit(1)
    ).first()
    return redirect(url_for("unions.show", union_id=managed.id)) if managed else abort(404)


@bp.route("/<int:union_id>")
@union_admin_required
def show(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    unit = current_app.config["MINUTES_PER_CREDIT_HOUR"]
    own = union.annual_target_minutes
    form = TargetForm(hours=own // unit if own is not None else None)
    return render_template("unions/show.html", union=union, counts=unions.subtree_counts(union),
                           children=unions.children_with_counts(union), target_form=form,
                           inherited=unions.inherited_target(union))


@bp.route("/<int:union_id>/target", methods=["POST"])
@union_admin_required
def target(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form = TargetForm()
    if form.validate_on_submit():
        hours, unit = form.hours.data, current_app.config["MINUTES_PER_CREDIT_HOUR"]
        unions.set_annual_target(union, None if hours is None else hours * unit, actor=current_user)
        db.session.commit()
        flash(_("The annual target is saved."), "success")
    else:
        flash(_("Enter a number of training hours between 0 and 1000, or leave it empty."), "danger")
    return redirect(url_for("unions.show", union_id=union.id))


@bp.route("/<int:union_id>/members")
@union_admin_required
def members(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    filters = MemberFilterForm(formdata=request.args)
    filters.validate()
    values = _filter_values(filters)
    listing = unions.member_listing(union, **values)
    page = keyset_page(listing, unions.MEMBER_ORDER, unions.member_key,
                       total=unions.member_total(union, listing, **values))
    return render_template("unions/members.html", union=union, filters=filters, page=page)


def _filter_values(form: MemberFilterForm) -> dict[str, str]:
    return {name: (form[name].data or "") if not form[name].errors else "" for name in
            ("q", "status", "trade", "level", "group")}


@bp.route("/<int:union_id>/members/<int:user_id>")
@writes
@union_admin_required
def member(union_id: int, user_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    person = scope.member_or_404(current_user, union, user_id)
    history = db.session.scalars(
        select(Membership).where(Membership.user_id == person.id).join(Membership.union)
        .order_by(Membership.applied_at.desc())
    ).all()
    record_event(current_user, "member.view", person, union_id=union.id)
    db.session.commit()
    return render_template("unions/member.html", union=union, person=person, history=history,
                           lapse_form=LapseForm())


@bp.route("/<int:union_id>/applications")
@union_admin_required
def applications(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    page = paginate(unions.pending_applications(union), rows=True)
    return render_template("unions/applications.html", union=union, page=page, reject_form=RejectForm())


@bp.route("/<int:union_id>/applications/<int:membership_id>/approve", methods=["POST"])
@union_admin_required
def approve(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    return _decide(union, lambda: unions.approve_membership(membership, actor=current_user, now=utcnow()),
                   _("Approved: %(name)s is now a member."), membership)


@bp.route("/<int:union_id>/applications/<int:membership_id>/reject", methods=["POST"])
@union_admin_required
def reject(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason, so the applicant knows what to fix."), "danger")
        return redirect(url_for("unions.applications", union_id=union.id))
    return _decide(union, lambda: unions.reject_membership(membership, form.reason.data, actor=current_user,
                                                           now=utcnow()),
                   _("Rejected the application of %(name)s."), membership)


def _decide(union, action, message: str, membership: Membership):
    perform(action, success=message % {"name": membership.user.real_name}, category="warning")
    return redirect(url_for("unions.applications", union_id=union.id))


@bp.route("/<int:union_id>/memberships/<int:membership_id>/lapse", methods=["POST"])
@union_admin_required
def lapse(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    form = LapseForm()
    if form.validate_on_submit():
        perform(lambda: unions.lapse_membership(membership, form.reason.data, actor=current_user, now=utcnow()),
                success=_("The membership has lapsed."), category="warning")
    return redirect(url_for("unions.member", union_id=union.id, user_id=membership.user_id))


# ---- the tree (site admins) -----------------------------------------------------------

@bp.route("/<int:union_id>/children/new", methods=["GET", "POST"])
@site_admin_required
def new_child(union_id: int):
    parent = db.get_or_404(TradeUnion, union_id)
    form = UnionForm()
    if parent.kind != UnionKind.CITY:
        form.kind.choices = [choice for choice in form.kind.choices if choice[0] != UnionKind.DISTRICT]
    if form.validate_on_submit():
        try:
            child = unions.create_union(parent, form.name.data, form.kind.data, code=form.code.data or None,
                                        employer=form.employer.data, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="name")
        else:
            db.session.commit()
            flash(_("Added %(name)s.", name=child.name), "success")
            return redirect(url_for("unions.show", union_id=parent.id))
    return render_template("unions/new_child.html", parent=parent, form=form)


@bp.route("/<int:union_id>/edit", methods=["GET", "POST"])
@site_admin_required
def edit(union_id: int):
    union = db.get_or_404(TradeUnion, union_id)
    form = EditUnionForm(obj=union)
    move_form = MoveUnionForm(prefix="move")
    move_form.parent_id.choices = unions.possible_parents(union)
    if form.validate_on_submit():
        unions.rename_union(union, form.name.data, employer=form.employer.data, actor=current_user)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("unions.show", union_id=union.id))
    return render_template("unions/edit.html", union=union, form=form, move_form=move_form)


@bp.route("/<int:union_id>/move", methods=["POST"])
@site_admin_required
def move(union_id: int):
    union = db.get_or_404(TradeUnion, union_id)
    form = MoveUnionForm(prefix="move")
    new_parent = db.session.get(TradeUnion, form.parent_id.data) if form.validate_on_submit() else None
    if new_parent is None:
        flash(_("Choose the new parent union."), "danger")
        return redirect(url_for("unions.edit", union_id=union.id))
    try:
        unions.move_union(union, new_parent, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("unions.edit", union_id=union_id))
    db.session.commit()
    flash(_("Moved."), "success")
    return redirect(url_for("unions.show", union_id=union_id))


@bp.app_template_global()
def union_ancestors(union: TradeUnion) -> list[TradeUnion]:
    """The nodes above ``union`` that the viewer manages, root first (one query)."""
    ids = union.ancestor_ids()[:-1]
    if not ids:
        return []
    rows = db.session.scalars(select(TradeUnion).where(TradeUnion.id.in_(ids))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id and scope.can_manage_union(current_user, by_id[i])]


@bp.app_template_global()
def union_manages(union: TradeUnion, other: TradeUnion) -> bool:
    return other.path.startswith(union.path)
