"""Union admins review courses and changes to published courses of their scope: /review."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import perform, role_required
from classroom.pagination import keyset_page
from classroom.unions import scope
from courses.catalog import review
from courses.catalog.descriptions import describe
from courses.catalog.forms import CourseForm, ReasonForm
from courses.catalog.models import Course, CourseRevision
from courses.catalog.permissions import can_review, own_revisions, own_work
from courses.catalog.queries import REVIEW_ORDER, REVISION_ORDER, courses_to_review, review_key, revisions_waiting

bp = Blueprint("review", __name__, url_prefix="/review")

reviewer_required = role_required(scope.is_union_admin)


@bp.route("/")
@reviewer_required
def index():
    changes = keyset_page(revisions_waiting(current_user), REVISION_ORDER, review_key, rows=False, ascending=True,
                          prefix="r")
    revisions = changes.items
    deciders = {revision.id: review.can_decide_revision(current_user, revision) for revision in revisions}
    page = keyset_page(courses_to_review(current_user), REVIEW_ORDER, review_key, rows=False, ascending=True)
    return render_template("review/index.html", page=page, changes=changes, revisions=revisions,
                           descriptions=describe(revisions), deciders=deciders,
                           own=own_revisions(current_user, revisions), form=ReasonForm())


def _reviewable_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is not None and can_review(current_user, course):
        return course
    scope.deny(current_user, "Course", course_id)  # records the attempt and answers 404
    abort(404)  # not reached


@bp.route("/courses/<int:course_id>")
@reviewer_required
def course(course_id: int):
    course = _reviewable_course(course_id)
    return render_template("review/course.html", course=course, own=own_work(current_user, course),
                           form=ReasonForm())


@bp.route("/courses/<int:course_id>/<any(publish, send_back):decision>", methods=["POST"])
@reviewer_required
def decide_course(course_id: int, decision: str):
    course = _reviewable_course(course_id)
    reason = ReasonForm().reason.data or ""
    if decision == "publish":
        outcome = perform(lambda: review.publish(course, actor=current_user, now=utcnow()), success=_("Published."))
    else:
        outcome = perform(lambda: review.send_back(course, reason, actor=current_user, now=utcnow()),
                          success=_("Sent back to the instructor."))
    return redirect(url_for("review.index") if outcome.ok else url_for("review.course", course_id=course.id))


@bp.route("/revisions/<int:revision_id>/<any(approve, reject):decision>", methods=["POST"])
@reviewer_required
def decide_revision(revision_id: int, decision: str):
    revision = db.session.get(CourseRevision, revision_id)
    if revision is None:
        abort(404)
    _reviewable_course(revision.course_id)
    note = ReasonForm().reason.data or ""
    perform(lambda: review.decide_revision(revision, decision == "approve", actor=current_user, now=utcnow(),
                                           note=note),
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
