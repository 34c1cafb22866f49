"""Announcements to a whole union: post one, follow each one's sending, resume a stopped one."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import perform, role_required
from classroom.pagination import keyset_page
from classroom.unions import queries, scope
from classroom.unions.announcements import services as announcements
from classroom.unions.announcements.models import UnionAnnouncement
from classroom.unions.forms import AnnouncementForm
from classroom.unions.import_forms import ConfirmForm
from classroom.unions.models import MembershipStatus, TradeUnion

bp = Blueprint("union_announcements", __name__, url_prefix="/unions/<int:union_id>/announcements")
union_admin_required = role_required(scope.is_union_admin)


def _union_and_announcement(union_id: int, announcement_id: int) -> tuple[TradeUnion, UnionAnnouncement]:
    """The managed union of the URL and its announcement; else a 404 (audited)."""
    union = scope.managed_union_or_404(current_user, union_id)
    announcement = db.session.get(UnionAnnouncement, announcement_id)
    if announcement is None or announcement.union_id != union.id:
        scope.deny(current_user, "UnionAnnouncement", announcement_id, union_id=union.id)
    return union, announcement


@bp.route("", methods=["GET", "POST"])
@union_admin_required
def index(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form = AnnouncementForm()
    if form.validate_on_submit():
        posted = perform(lambda: announcements.post(union, form.title.data, form.body.data, actor=current_user,
                                                    now=utcnow()), form=form, field="body")
        if posted.value is not None:
            announcements.start(posted.value)
            return redirect(url_for(".show", union_id=union.id, announcement_id=posted.value.id))
    page = keyset_page(announcements.announcements_of(union), announcements.ORDER, announcements.announcement_key,
                       rows=False)
    status = 400 if request.method == "POST" else 200  # here after a POST only with errors beside the fields
    return render_template("unions/announcements.html", union=union, form=form, page=page,
                           members=queries.subtree_counts(union).get(MembershipStatus.ACTIVE, 0), now=utcnow()), status


@bp.route("/<int:announcement_id>")
@union_admin_required
def show(union_id: int, announcement_id: int):
    union, announcement = _union_and_announcement(union_id, announcement_id)
    return render_template("unions/announcement.html", union=union, announcement=announcement, form=ConfirmForm(),
                           progress=announcements.progress_of(announcement, now=utcnow()))


@bp.route("/<int:announcement_id>/progress.json")
@union_admin_required
def progress(union_id: int, announcement_id: int):
    _union, announcement = _union_and_announcement(union_id, announcement_id)
    return jsonify(announcements.progress_of(announcement, now=utcnow()))


@bp.route("/<int:announcement_id>/resume", methods=["POST"])
@union_admin_required
def resume(union_id: int, announcement_id: int):
    union, announcement = _union_and_announcement(union_id, announcement_id)
    if ConfirmForm().validate_on_submit():
        resumed = perform(lambda: announcements.resume(announcement, actor=current_user, now=utcnow()),
                          category="warning", success=_("The announcement is being sent again."))
        if resumed.value is not None:
            announcements.start(resumed.value)
    return redirect(url_for(".show", union_id=union.id, announcement_id=announcement_id))
