"""Instructor pages under /teach: courses, lessons (with preview), class sessions."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.accounts.models import Role
from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import owned_or_404, paginate, perform, role_required
from classroom.timefmt import zone
from courses.catalog import authoring, lessons, review, sessions
from courses.catalog.content import render_markdown
from courses.catalog.descriptions import describe
from courses.catalog.forms import AddInstructorForm, CourseForm, LessonForm, SeriesForm, SessionForm
from courses.catalog.models import ClassSession, Course, Lesson
from courses.catalog.permissions import can_edit
from courses.catalog.queries import taught_by
from courses.catalog.revisions import Change, held_change
from courses.catalog.revisions import withdraw_revision as withdraw

bp = Blueprint("teach", __name__, url_prefix="/teach")

instructor_required = role_required(lambda user: user.has_role(Role.INSTRUCTOR) or user.is_site_admin)


def editable_course_or_404(course_id: int) -> Course:
    """The course of the URL when the signed-in person may edit it, else 404."""
    course = db.session.get(Course, course_id)
    if course is None or not can_edit(current_user, course):
        abort(404)
    return course


def lesson_or_404(course: Course, lesson_id: int) -> Lesson:
    """The lesson of the URL when it belongs to ``course``, else 404."""
    return owned_or_404(Lesson, lesson_id, course_id=course.id)


def session_or_404(course: Course, session_id: int) -> ClassSession:
    """The class session of the URL when it belongs to ``course``, else 404."""
    return owned_or_404(ClassSession, session_id, course_id=course.id)


def course_page(course: Course, part: str = "") -> str:
    """The instructor's page of ``course``, at ``part`` ("lessons", "sessions") if given."""
    return url_for("teach.course", course_id=course.id) + (f"#{part}" if part else "")


def union_choices(course: Course | None = None) -> list[tuple[int, str]]:
    """The unions a course form offers, indented by depth."""
    return [(union.id, "— " * union.depth + union.name) for union in authoring.offered_unions(current_user, course)]


@bp.route("/")
@instructor_required
def index():
    return render_template("teach/index.html", page=paginate(taught_by(current_user)))


@bp.route("/courses/new", methods=["GET", "POST"])
@instructor_required
def new_course():
    form = CourseForm()
    form.host_union_id.choices = form.scope_union_id.choices = union_choices()
    if request.method == "GET" and current_user.grants:
        form.host_union_id.data = current_user.grants[0].union_id
    if form.validate_on_submit():
        data = form.data_for_service(zone(current_user.timezone))
        outcome = perform(lambda: authoring.create_course(current_user, data, now=utcnow()), form=form, field="title",
                          success=_("Draft saved. Add lessons and class sessions, then submit it for review."))
        if outcome.ok and outcome.value is not None:
            return redirect(course_page(outcome.value))
    return render_template("teach/course_form.html", form=form, course=None)


@bp.route("/courses/<int:course_id>")
@instructor_required
def course(course_id: int):
    course = editable_course_or_404(course_id)
    revision, held = held_change(course)
    description = describe([revision])[revision.id] if revision else None
    return render_template("teach/course.html", course=course, revision=revision, held=held,
                           description=description, instructor_form=AddInstructorForm())


@bp.route("/courses/<int:course_id>/revision/withdraw", methods=["POST"])
@instructor_required
def withdraw_revision(course_id: int):
    course = editable_course_or_404(course_id)
    perform(lambda: withdraw(course, actor=current_user, now=utcnow()),
            success=_("The change was withdrawn; the live course stays as it is."))
    return redirect(course_page(course))


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@instructor_required
def edit_course(course_id: int):
    course = editable_course_or_404(course_id)
    form = CourseForm(obj=course)
    form.host_union_id.choices = form.scope_union_id.choices = union_choices(course)
    if request.method == "GET":  # the form shows the change waiting for review, if any
        form.show(course, held_change(course)[1].proposed_fields(), zone(current_user.timezone))
    if form.validate_on_submit():
        data = form.data_for_service(zone(current_user.timezone))
        outcome = perform(lambda: authoring.update_course(course, data, actor=current_user, now=utcnow()),
                          form=form, field="title", success=lambda revision: _(
                              "Saved. The change to hours, schedule, capacity or completion rule waits for review.")
                          if revision else _("Saved."))
        if outcome.ok:
            return redirect(course_page(course))
    return render_template("teach/course_form.html", form=form, course=course)


@bp.route("/courses/<int:course_id>/<any(submit, archive):action>", methods=["POST"])
@instructor_required
def course_action(course_id: int, action: str):
    course = editable_course_or_404(course_id)
    service = review.submit_for_review if action == "submit" else authoring.archive
    perform(lambda: service(course, actor=current_user, now=utcnow()),
            success=_("Sent for review.") if action == "submit" else _("Archived."))
    return redirect(course_page(course))


@bp.route("/courses/<int:course_id>/instructors", methods=["POST"])
@instructor_required
def add_instructor(course_id: int):
    course = editable_course_or_404(course_id)
    mobile = AddInstructorForm().mobile.data or ""
    perform(lambda: authoring.add_instructor(course, mobile, actor=current_user),
            success=lambda person: _("Added %(name)s.", name=person.real_name))
    return redirect(course_page(course))


# ---- lessons --------------------------------------------------------------------------------------

def _lesson_saved(change: Change[Lesson], new: bool) -> str:
    if new and not change.live:
        return _("The new lesson waits for review; it joins the course once approved.")
    return _("Lesson saved.") if change.live else _("Lesson saved. The change of credited minutes waits for review.")


@bp.route("/courses/<int:course_id>/lessons/new", methods=["GET", "POST"])
@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@instructor_required
def lesson_form(course_id: int, lesson_id: int | None = None):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id) if lesson_id else None
    form = LessonForm(obj=lesson)
    held = held_change(course)[1]
    if request.method == "GET" and lesson is not None and lesson.id in held.lesson_minutes:
        form.credit_minutes.data = held.lesson_minutes[lesson.id]
    preview = render_markdown(form.body.data) if "preview" in request.form else None
    if preview is None and form.validate_on_submit():
        data = form.data_for_service()
        outcome = perform(lambda: lessons.save_lesson(course, lesson, data, actor=current_user, now=utcnow()),
                          form=form, field="title", success=lambda change: _lesson_saved(change, lesson is None))
        if outcome.ok and outcome.value is not None:
            saved = outcome.value.made
            return redirect(url_for("teach.lesson_form", course_id=course.id, lesson_id=saved.id) if saved
                            else course_page(course, "lessons"))
    return render_template("teach/lesson_form.html", course=course, lesson=lesson, form=form, preview=preview,
                           held=held)


@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/delete", methods=["POST"])
@instructor_required
def delete_lesson(course_id: int, lesson_id: int):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id)
    perform(lambda: lessons.delete_lesson(lesson, actor=current_user, now=utcnow()),
            success=lambda revision: _("The deletion waits for review; the lesson stays until then.")
            if revision else _("Lesson deleted."))
    return redirect(course_page(course, "lessons"))


@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/move/<any(up, down):direction>", methods=["POST"])
@instructor_required
def move_lesson(course_id: int, lesson_id: int, direction: str):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id)
    perform(lambda: lessons.move_lesson(lesson, -1 if direction == "up" else 1, actor=current_user))
    return redirect(course_page(course, "lessons"))


# ---- class sessions ---------------------------------------------------------------------------------

@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@instructor_required
def session_form(course_id: int, session_id: int | None = None):
    course = editable_course_or_404(course_id)
    session = session_or_404(course, session_id) if session_id else None
    form = SessionForm(obj=session)
    held = held_change(course)[1]
    if request.method == "GET" and session is not None:  # with the change waiting for review, if any
        form.show(held.proposed_session(session), zone(current_user.timezone))
    if form.validate_on_submit():
        data = form.data_for_service(zone(current_user.timezone))
        outcome = perform(lambda: sessions.save_session(course, session, data, actor=current_user, now=utcnow()),
                          form=form, field="starts_at", success=lambda change: _("Class session saved.")
                          if change.live else _("Saved. The change to the schedule waits for review."))
        if outcome.ok:
            return redirect(course_page(course, "sessions"))
    return render_template("teach/session_form.html", course=course, session=session, form=form,
                           pending_delete=session is not None and session.id in held.session_deletes)


@bp.route("/courses/<int:course_id>/sessions/series", methods=["GET", "POST"])
@instructor_required
def series_form(course_id: int):
    course = editable_course_or_404(course_id)
    form = SeriesForm()
    if form.validate_on_submit():
        data, count = form.data_for_service(), form.count.data
        outcome = perform(lambda: sessions.add_weekly_series(course, **data, tz=current_user.timezone,
                                                             actor=current_user, now=utcnow()),
                          form=form, field="count", success=lambda change: _(
                              "%(count)d weekly class sessions added.", count=count) if change.live
                          else _("%(count)d weekly class sessions wait for review.", count=count))
        if outcome.ok:
            return redirect(course_page(course, "sessions"))
    return render_template("teach/series_form.html", course=course, form=form)


@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/delete", methods=["POST"])
@instructor_required
def delete_session(course_id: int, session_id: int):
    course = editable_course_or_404(course_id)
    session = session_or_404(course, session_id)
    perform(lambda: sessions.delete_session(session, actor=current_user, now=utcnow()),
            success=lambda revision: _("The deletion waits for review; the class session stays until then.")
            if revision else _("Class session deleted."))
    return redirect(course_page(course, "sessions"))
