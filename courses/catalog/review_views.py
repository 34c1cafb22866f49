"""Union admins review courses and changes to published courses of their scope: /review."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import paginate, perform, role_required
from classroom.unions import scope
from classroom.unions.models import TradeUnion
from courses.catalog import services as catalog
from courses.catalog.forms import CourseForm, ReasonForm
from courses.catalog.models import Course, CourseRevision, CourseStatus, RevisionStatus
from courses.catalog.revisions import describe

bp = Blueprint("review", __name__, url_prefix="/review")

reviewer_required = role_required(scope.is_union_admin)


def _in_my_scope(statement):
    return statement.join(TradeUnion, TradeUnion.id == Course.scope_union_id).where(
        scope.managed_unions_clause(current_user))


@bp.route("/")
@reviewer_required
def index():
    courses = paginate(_in_my_scope(select(Course).where(Course.status == CourseStatus.PENDING))
                       .options(joinedload(Course.host_union)).order_by(Course.submitted_at))
    revisions = db.session.scalars(
        _in_my_scope(select(CourseRevision).join(Course, Course.id == CourseRevision.course_id))
        .where(CourseRevision.status == RevisionStatus.PENDING)
        .options(joinedload(CourseRevision.course).joinedload(Course.scope_union))
        .order_by(CourseRevision.submitted_at).limit(100)
    ).all()
    descriptions = describe(revisions)
    deciders = {revision.id: catalog.can_decide_revision(current_user, revision) for revision in revisions}
    own = catalog.own_revisions(current_user, revisions)
    return render_template("review/index.html", page=courses, revisions=revisions, descriptions=descriptions,
                           deciders=deciders, own=own, form=ReasonForm())


def _reviewable_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not catalog.can_review(current_user, course):
        scope.deny(current_user, "Course", course_id)
    return course


@bp.route("/courses/<int:course_id>")
@reviewer_required
def course(course_id: int):
    course = _reviewable_course(course_id)
    return render_template("review/course.html", course=course, own=catalog.own_work(current_user, course),
                           form=ReasonForm())


@bp.route("/courses/<int:course_id>/<any(publish, send_back):decision>", methods=["POST"])
@reviewer_required
def decide_course(course_id: int, decision: str):
    course = _reviewable_course(course_id)
    form = ReasonForm()
    try:
        if decision == "publish":
            catalog.publish(course, actor=current_user, now=utcnow())
        else:
            catalog.send_back(course, form.reason.data or "", actor=current_user, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("review.course", course_id=course.id))
    db.session.commit()
    flash(_("Published.") if decision == "publish" else _("Sent back to the instructor."), "success")
    return redirect(url_for("review.index"))


@bp.route("/revisions/<int:revision_id>/<any(approve, reject):decision>", methods=["POST"])
@reviewer_required
def decide_revision(revision_id: int, decision: str):
    revision = db.session.get(CourseRevision, revision_id)
    if revision is None:
        abort(404)
    _reviewable_course(revision.course_id)
    perform(lambda: catalog.decide_revision(revision, decision == "approve", actor=current_user, now=utcnow(),
                                            note=ReasonForm().reason.data or ""),
            success=_("The change is live.") if decision == "approve" else _("The change was rejected."))
    return redirect(url_for("review.index"))


@bp.app_template_global()
def field_label(name: str) -> str:
    """The form label of a course field, for showing a revision's changes."""
    field = getattr(CourseForm, name, None)
    return str(field.args[0]) if field is not None else name


@bp.app_template_global()
def change_value(value) -> str:
    """A course field's value in a revision's list of changes."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "short")
    if isinstance(value, date):
        return format_date(value, "medium")
    return str(getattr(value, "name", value))
