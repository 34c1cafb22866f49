"""The course page, enrolling and dropping, and the instructor's roster and announcements."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import owned_or_404, perform, perform_quietly
from courses.catalog.forms import ReasonForm
from courses.catalog.models import Course
from courses.enrollment import services as enrollment
from courses.enrollment.following import set_following
from courses.enrollment.forms import AnnouncementForm
from courses.enrollment.models import ENROLLMENT_STATUS_LABELS, Enrollment, EnrollmentStatus
from courses.enrollment.page import course_page

bp = Blueprint("enrollment", __name__)
SIGNED_UP = {EnrollmentStatus.ENROLLED: _l("You are enrolled."),
             EnrollmentStatus.WAITLISTED: _l("The course is full: you are on the waitlist."),
             EnrollmentStatus.PENDING: _l("Your sign-up waits for approval.")}


def accessible_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not enrollment.can_access(current_user, course):
        abort(404)
    return course


@bp.route("/courses/<int:course_id>")
def course(course_id: int):
    reader = current_user._get_current_object()  # (the page asks about the reader often: not through the proxy)
    return render_template("enrollment/course.html", **course_page(reader, course_id, now=utcnow()))


@bp.route("/courses/<int:course_id>/enroll", methods=["POST"])
@login_required
def enroll(course_id: int):
    course = accessible_course_or_404(course_id)
    outcome = perform_quietly(lambda: enrollment.enroll(current_user, course, now=utcnow()))
    if outcome.value is not None:
        flash(str(SIGNED_UP[EnrollmentStatus(outcome.value.status)]), "success")
    else:  # "already signed up" is news rather than a refusal: what the person asked for holds
        flash(str(outcome.error), "info" if isinstance(outcome.error, enrollment.AlreadyEnrolled) else "warning")
    return redirect(url_for("enrollment.course", course_id=course_id))


@bp.route("/courses/<int:course_id>/drop", methods=["POST"])
@login_required
def drop(course_id: int):
    course = accessible_course_or_404(course_id)
    mine = enrollment.enrollment_of(current_user.id, course.id)
    if mine is None:
        abort(404)
    perform(lambda: enrollment.drop(mine, now=utcnow()), success=_("You have left the course."), category="warning")
    return redirect(url_for("enrollment.course", course_id=course_id))


@bp.route("/courses/<int:course_id>/<any(follow, unfollow):action>", methods=["POST"])
@login_required
def follow(course_id: int, action: str):
    course = accessible_course_or_404(course_id)
    perform(lambda: set_following(current_user, course, action == "follow", now=utcnow()))
    return redirect(url_for("enrollment.course", course_id=course.id))


# ---- instructors and admins ---------------------------------------------------------------------

def managed_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not enrollment.can_manage_enrollments(current_user, course):
        abort(404)
    return course


def _managed_enrollment_or_404(course_id: int, enrollment_id: int) -> tuple:
    """(course, enrollment) when the course is one the user manages and the sign-up is of it."""
    course = managed_course_or_404(course_id)
    return course, owned_or_404(Enrollment, enrollment_id, course_id=course.id)


@bp.route("/teach/courses/<int:course_id>/enrollments/<int:enrollment_id>/<any(approve, reject):decision>",
          methods=["POST"])
@login_required
def decide(course_id: int, enrollment_id: int, decision: str):
    course, row = _managed_enrollment_or_404(course_id, enrollment_id)
    perform(lambda: enrollment.decide(row, decision == "approve", actor=current_user, now=utcnow(),
                                      reason=ReasonForm().reason.data or ""),
            success=_("Approved.") if decision == "approve" else _("Rejected."), category="warning")
    return redirect(url_for("study.roster", course_id=course.id, status="pending"))


@bp.route("/teach/courses/<int:course_id>/enrollments/<int:enrollment_id>/remove", methods=["POST"])
@login_required
def remove(course_id: int, enrollment_id: int):
    course, row = _managed_enrollment_or_404(course_id, enrollment_id)
    name = row.user.real_name
    perform(lambda: enrollment.remove(row, actor=current_user, now=utcnow()),
            success=_("%(name)s was taken off the list.", name=name), category="warning")
    return redirect(url_for("study.roster", course_id=course.id))


@bp.route("/teach/courses/<int:course_id>/announcements", methods=["POST"])
@login_required
def announce(course_id: int):
    course = managed_course_or_404(course_id)
    form = AnnouncementForm()
    if form.validate_on_submit():
        perform(lambda: enrollment.post_announcement(course, form.title.data, form.body.data,
                                                     include_waitlisted=form.include_waitlisted.data,
                                                     actor=current_user, now=utcnow()),
                success=_("Announcement posted."), form=form)
    else:
        flash(_("An announcement needs a title and a message."), "danger")
    return redirect(url_for("study.roster", course_id=course.id))


@bp.app_template_global()
def enrollment_status_label(status: str) -> str:
    return str(ENROLLMENT_STATUS_LABELS.get(EnrollmentStatus(status), status))
