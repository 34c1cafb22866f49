"""Union admin pages: a node, its members and applications; the tree for site admins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from classroom.audit import record_event
from classroom.database import begin_write, utcnow, writes
from classroom.errors import handle_http_error
from classroom.extensions import db
from classroom.http import perform, role_required
from classroom.pagination import keyset_page
from classroom.unions import memberships, queries, scope, tree
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


def record_denial(error: scope.ScopeDenied) -> Response:
    """The error handler of ``scope.deny``: the request's work is rolled back, the attempt is audited in a
    transaction of its own (holding the write lock), and the answer is the ordinary 404."""
    db.session.rollback()
    begin_write(db.session)
    record_event(error.actor, "scope.denied", union_id=error.union_id, object_type=error.object_type,
                 object_id=error.object_id)
    db.session.commit()
    return handle_http_error(error)


@bp.route("/")
@union_admin_required
def index():
    managed = queries.first_managed_union(current_user)
    return redirect(url_for("unions.show", union_id=managed.id)) if managed else abort(404)


@bp.route("/<int:union_id>")
@union_admin_required
def show(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    unit, own = current_app.config["MINUTES_PER_CREDIT_HOUR"], union.annual_target_minutes
    form = TargetForm(hours=own // unit if own is not None else None)
    return render_template("unions/show.html", union=union, counts=queries.subtree_counts(union),
                           children=queries.children_with_counts(union), target_form=form,
                           inherited=tree.inherited_target(union))


@bp.route("/<int:union_id>/target", methods=["POST"])
@union_admin_required
def target(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form = TargetForm()
    if form.validate_on_submit():
        hours, unit = form.hours.data, current_app.config["MINUTES_PER_CREDIT_HOUR"]
        perform(lambda: tree.set_annual_target(union, None if hours is None else hours * unit, actor=current_user),
                success=_("The annual target is saved."))
    else:
        flash(_("Enter a number of training hours between 0 and 1000, or leave it empty."), "danger")
    return redirect(url_for("unions.show", union_id=union.id))


@bp.route("/<int:union_id>/members")
@union_admin_required
def members(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    filters = MemberFilterForm(formdata=request.args)
    filters.validate()
    values = {name: (filters[name].data or "") if not filters[name].errors else "" for name in queries.FILTERS}
    listing = queries.member_listing(union, keys=True, **values)
    total = queries.member_total(union, listing, **values)
    page = keyset_page(listing, queries.MEMBER_ORDER, queries.member_key, total=total, by_page=total is None,
                       expand=queries.member_rows)
    return render_template("unions/members.html", union=union, filters=filters, page=page)


@bp.route("/<int:union_id>/members/<int:user_id>")
@writes
@union_admin_required
def member(union_id: int, user_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    person = scope.member_or_404(current_user, union, user_id)
    perform(lambda: record_event(current_user, "member.view", person, union_id=union.id))
    return render_template("unions/member.html", union=union, person=person,
                           history=keyset_page(queries.history_of(person.id), queries.MEMBER_ORDER, queries.history_key,
                                               rows=False), lapse_form=LapseForm())


@bp.route("/<int:union_id>/applications")
@union_admin_required
def applications(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    page = keyset_page(queries.pending_applications(union), queries.MEMBER_ORDER, queries.member_key, ascending=True,
                       total=queries.waiting_total(union))
    return render_template("unions/applications.html", union=union, page=page, reject_form=RejectForm())


@bp.route("/<int:union_id>/applications/<int:membership_id>/approve", methods=["POST"])
@union_admin_required
def approve(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    perform(lambda: memberships.approve_membership(membership, actor=current_user, now=utcnow()),
            success=_decided(_("Approved: %(name)s is now a member."), membership), category="warning")
    return redirect(url_for("unions.applications", union_id=union.id))


@bp.route("/<int:union_id>/applications/<int:membership_id>/reject", methods=["POST"])
@union_admin_required
def reject(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason, so the applicant knows what to fix."), "danger")
    else:
        perform(lambda: memberships.reject_membership(membership, form.reason.data, actor=current_user, now=utcnow()),
                success=_decided(_("Rejected the application of %(name)s."), membership), category="warning")
    return redirect(url_for("unions.applications", union_id=union.id))


def _decided(message: str, membership: Membership) -> str:
    """A decision's message, naming the applicant (read before the decision commits)."""
    return message % {"name": membership.user.real_name}


@bp.route("/<int:union_id>/memberships/<int:membership_id>/lapse", methods=["POST"])
@union_admin_required
def lapse(union_id: int, membership_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    membership = scope.membership_or_404(current_user, union, membership_id)
    form = LapseForm()
    if form.validate_on_submit():
        perform(lambda: memberships.lapse_membership(membership, form.reason.data, actor=current_user, now=utcnow()),
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
    if form.validate_on_submit() and perform(
            lambda: tree.create_union(parent, form.name.data, form.kind.data, code=form.code.data or None,
                                      employer=form.employer.data, actor=current_user),
            success=lambda child: _("Added %(name)s.", name=child.name), form=form, field="name").ok:
        return redirect(url_for("unions.show", union_id=parent.id))
    return render_template("unions/new_child.html", parent=parent, form=form)


@bp.route("/<int:union_id>/edit", methods=["GET", "POST"])
@site_admin_required
def edit(union_id: int):
    union = db.get_or_404(TradeUnion, union_id)
    form = EditUnionForm(obj=union)
    move_form = MoveUnionForm(prefix="move")
    move_form.parent_id.choices = tree.possible_parents(union)
    if form.validate_on_submit() and perform(
            lambda: tree.rename_union(union, form.name.data, employer=form.employer.data, actor=current_user),
            success=_("Saved."), form=form, field="name").ok:
        return redirect(url_for("unions.show", union_id=union.id))
    return render_template("unions/edit.html", union=union, form=form, move_form=move_form)


@bp.route("/<int:union_id>/move", methods=["POST"])
@site_admin_required
def move(union_id: int):
    union = db.get_or_404(TradeUnion, union_id)
    form = MoveUnionForm(prefix="move")
    parent_id = form.parent_id.data if form.validate_on_submit() else None
    new_parent = db.session.get(TradeUnion, parent_id) if parent_id is not None else None
    if perform(lambda: tree.move_union(union, new_parent, actor=current_user), success=_("Moved.")).ok:
        return redirect(url_for("unions.show", union_id=union_id))
    return redirect(url_for("unions.edit", union_id=union_id))


@bp.app_template_global()
def union_ancestors(union: TradeUnion) -> list[TradeUnion]:
    """The nodes above ``union`` that the viewer manages, root first (one query)."""
    return [node for node in tree.ancestors(union) if scope.can_manage_union(current_user, node)]


@bp.app_template_global()
def union_manages(union: TradeUnion, other: TradeUnion) -> bool:
    """Whether ``other`` lies in ``union``'s subtree."""
    return other.path.startswith(union.path)
