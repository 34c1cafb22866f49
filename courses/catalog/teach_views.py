"""Instructor pages under /teach: courses, lessons (with preview), class sessions."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from classroom.accounts.models import Role, User
from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, owned_or_404, paginate, perform, role_required
from classroom.timefmt import zone
from classroom.unions.models import TradeUnion
from courses.catalog import services as catalog
from courses.catalog.content import render_markdown
from courses.catalog.forms import AddInstructorForm, CourseForm, LessonForm, SeriesForm, SessionForm
from courses.catalog.models import ClassSession, Course, CourseInstructor, CourseRevision, Lesson
from courses.catalog.revisions import Held, describe

bp = Blueprint("teach", __name__, url_prefix="/teach")

instructor_required = role_required(lambda user: user.has_role(Role.INSTRUCTOR) or user.is_site_admin)


def editable_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not catalog.can_edit(current_user, course):
        abort(404)
    return course


def _tz():
    return zone(current_user.timezone)


def _local(moment):
    return moment.astimezone(_tz()).replace(tzinfo=None) if moment else None


def _held(course: Course) -> tuple[CourseRevision | None, Held]:
    revision = catalog.pending_revision(course.id)
    return revision, Held.load(revision.changes if revision else None)


def union_choices(course: Course | None = None) -> list[tuple[int, str]]:
    """Every district/industry node and the city, plus the grassroots unions below the author's own
    (and those the course already names: a co-instructor from elsewhere keeps them by saving)."""
    current = catalog.named_unions(course, "host_union_id", "scope_union_id") if course else set()
    rows = db.session.scalars(
        select(TradeUnion).where(or_(catalog.choosable_unions(current_user), TradeUnion.id.in_(current)))
        .order_by(TradeUnion.path))
    return [(union.id, "— " * union.depth + union.name) for union in rows]


@bp.route("/")
@instructor_required
def index():
    page = paginate(select(Course).join(CourseInstructor, CourseInstructor.course_id == Course.id)
                    .where(CourseInstructor.user_id == current_user.id).order_by(Course.updated_at.desc()))
    return render_template("teach/index.html", page=page)


@bp.route("/courses/new", methods=["GET", "POST"])
@instructor_required
def new_course():
    form = CourseForm()
    form.host_union_id.choices = form.scope_union_id.choices = union_choices()
    if request.method == "GET" and current_user.grants:
        form.host_union_id.data = current_user.grants[0].union_id
    if form.validate_on_submit():
        try:
            course = catalog.create_course(current_user, form.data_for_service(_tz()), now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="title")
        else:
            db.session.commit()
            flash(_("Draft saved. Add lessons and class sessions, then submit it for review."), "success")
            return redirect(url_for("teach.course", course_id=course.id))
    return render_template("teach/course_form.html", form=form, course=None)


@bp.route("/courses/<int:course_id>")
@instructor_required
def course(course_id: int):
    course = editable_course_or_404(course_id)
    revision, held = _held(course)
    description = describe([revision])[revision.id] if revision else None
    return render_template("teach/course.html", course=course, revision=revision, held=held,
                           description=description, instructor_form=AddInstructorForm())


@bp.route("/courses/<int:course_id>/revision/withdraw", methods=["POST"])
@instructor_required
def withdraw_revision(course_id: int):
    course = editable_course_or_404(course_id)
    return _commit_or_flash(lambda: catalog.withdraw_revision(course, actor=current_user, now=utcnow()),
                            _("The change was withdrawn; the live course stays as it is."),
                            url_for("teach.course", course_id=course.id))


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@instructor_required
def edit_course(course_id: int):
    course = editable_course_or_404(course_id)
    form = CourseForm(obj=course)
    form.host_union_id.choices = form.scope_union_id.choices = union_choices(course)
    if request.method == "GET":  # the form shows the change waiting for review, if any
        proposed = _held(course)[1].proposed_fields()
        for name in ("enroll_opens_at", "enroll_closes_at"):
            form[name].data = _local(proposed.pop(name, getattr(course, name)))
        for name, value in proposed.items():
            form[name].data = value
    if form.validate_on_submit():
        try:
            revision = catalog.update_course(course, form.data_for_service(_tz()), actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="title")
        else:
            db.session.commit()
            flash(_("Saved. The change to hours, schedule, capacity or completion rule waits for review.")
                  if revision else _("Saved."), "success")
            return redirect(url_for("teach.course", course_id=course.id))
    return render_template("teach/course_form.html", form=form, course=course)


@bp.route("/courses/<int:course_id>/<any(submit, archive):action>", methods=["POST"])
@instructor_required
def course_action(course_id: int, action: str):
    course = editable_course_or_404(course_id)
    service = catalog.submit_for_review if action == "submit" else catalog.archive
    return _commit_or_flash(lambda: service(course, actor=current_user, now=utcnow()),
                            _("Sent for review.") if action == "submit" else _("Archived."),
                            url_for("teach.course", course_id=course.id))


@bp.route("/courses/<int:course_id>/instructors", methods=["POST"])
@instructor_required
def add_instructor(course_id: int):
    course = editable_course_or_404(course_id)
    form = AddInstructorForm()
    person = db.session.scalar(select(User).where(User.mobile == (form.mobile.data or "").strip()))
    if person is None:
        flash(_("No account has this mobile number."), "danger")
        return redirect(url_for("teach.course", course_id=course.id))
    return _commit_or_flash(lambda: catalog.add_instructor(course, person, actor=current_user),
                            _("Added %(name)s.", name=person.real_name), url_for("teach.course", course_id=course.id))


def _commit_or_flash(action, success: str, target: str):
    perform(action, success=success)
    return redirect(target)


# ---- lessons --------------------------------------------------------------------------------------

def lesson_or_404(course: Course, lesson_id: int) -> Lesson:
    return owned_or_404(Lesson, lesson_id, course_id=course.id)


@bp.route("/courses/<int:course_id>/lessons/new", methods=["GET", "POST"])
@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@instructor_required
def lesson_form(course_id: int, lesson_id: int | None = None):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id) if lesson_id else None
    form = LessonForm(obj=lesson)
    held = _held(course)[1]
    if request.method == "GET" and lesson is not None and lesson.id in held.lesson_minutes:
        form.credit_minutes.data = held.lesson_minutes[lesson.id]
    preview = render_markdown(form.body.data) if "preview" in request.form else None
    if preview is None and form.validate_on_submit():
        data = {name: form[name].data for name in ("title", "body", "video_url", "credit_minutes")}
        data["body"], data["video_url"] = data["body"] or "", data["video_url"] or None
        try:
            if lesson is None:
                result = catalog.add_lesson(course, data, actor=current_user, now=utcnow())
            else:
                result = catalog.update_lesson(lesson, data, actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="title")
        else:
            db.session.commit()
            if isinstance(result, CourseRevision) and lesson is None:
                flash(_("The new lesson waits for review; it joins the course once approved."), "success")
                return redirect(url_for("teach.course", course_id=course.id) + "#lessons")
            flash(_("Lesson saved. The change of credited minutes waits for review.")
                  if isinstance(result, CourseRevision) else _("Lesson saved."), "success")
            lesson = lesson or result
            return redirect(url_for("teach.lesson_form", course_id=course.id, lesson_id=lesson.id))
    return render_template("teach/lesson_form.html", course=course, lesson=lesson, form=form, preview=preview,
                           held=held)


@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/delete", methods=["POST"])
@instructor_required
def delete_lesson(course_id: int, lesson_id: int):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id)
    return _commit_or_flash(lambda: catalog.delete_lesson(lesson, actor=current_user, now=utcnow()),
                            _("The deletion waits for review; the lesson stays until then.")
                            if catalog.is_held(course) else _("Lesson deleted."),
                            url_for("teach.course", course_id=course.id) + "#lessons")


@bp.route("/courses/<int:course_id>/lessons/<int:lesson_id>/move/<any(up, down):direction>", methods=["POST"])
@instructor_required
def move_lesson(course_id: int, lesson_id: int, direction: str):
    course = editable_course_or_404(course_id)
    lesson = lesson_or_404(course, lesson_id)
    catalog.move_lesson(lesson, -1 if direction == "up" else 1, actor=current_user)
    db.session.commit()
    return redirect(url_for("teach.course", course_id=course.id) + "#lessons")


# ---- class sessions ---------------------------------------------------------------------------------

def session_or_404(course: Course, session_id: int) -> ClassSession:
    return owned_or_404(ClassSession, session_id, course_id=course.id)


def _session_data(form: SessionForm) -> dict:
    starts = form.starts_at.data.replace(tzinfo=_tz()).astimezone(zone("UTC"))
    return {"title": form.title.data or None, "starts_at": starts,
            "ends_at": starts + timedelta(minutes=form.duration_minutes.data), "venue_name": form.venue_name.data,
            "venue_address": form.venue_address.data or None, "credit_minutes": form.credit_minutes.data}


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@instructor_required
def session_form(course_id: int, session_id: int | None = None):
    course = editable_course_or_404(course_id)
    session = session_or_404(course, session_id) if session_id else None
    form = SessionForm(obj=session)
    held = _held(course)[1]
    if request.method == "GET" and session is not None:  # with the change waiting for review, if any
        values = held.proposed_session(session)
        for name in ("title", "venue_name", "venue_address", "credit_minutes"):
            form[name].data = values[name]
        form.starts_at.data = _local(values["starts_at"])
        form.duration_minutes.data = int((values["ends_at"] - values["starts_at"]).total_seconds() // 60)
    if form.validate_on_submit():
        try:
            if session is None:
                result = catalog.add_session(course, _session_data(form), actor=current_user, now=utcnow())
            else:
                result = catalog.update_session(session, _session_data(form), actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="starts_at")
        else:
            db.session.commit()
            flash(_("Saved. The change to the schedule waits for review.")
                  if isinstance(result, CourseRevision) else _("Class session saved."), "success")
            return redirect(url_for("teach.course", course_id=course.id) + "#sessions")
    return render_template("teach/session_form.html", course=course, session=session, form=form,
                           pending_delete=session is not None and session.id in held.session_deletes)


@bp.route("/courses/<int:course_id>/sessions/series", methods=["GET", "POST"])
@instructor_required
def series_form(course_id: int):
    course = editable_course_or_404(course_id)
    form = SeriesForm()
    if form.validate_on_submit():
        try:
            result = catalog.add_weekly_series(
                course, first_date=form.first_date.data, weekday=form.weekday.data, start=form.start.data,
                duration_minutes=form.duration_minutes.data, count=form.count.data, venue_name=form.venue_name.data,
                venue_address=form.venue_address.data or None, credit_minutes=form.credit_minutes.data,
                tz=current_user.timezone, actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="count")
        else:
            db.session.commit()
            flash(_("%(count)d weekly class sessions wait for review.", count=form.count.data)
                  if isinstance(result, CourseRevision)
                  else _("%(count)d weekly class sessions added.", count=len(result)), "success")
            return redirect(url_for("teach.course", course_id=course.id) + "#sessions")
    return render_template("teach/series_form.html", course=course, form=form)


@bp.route("/courses/<int:course_id>/sessions/<int:session_id>/delete", methods=["POST"])
@instructor_required
def delete_session(course_id: int, session_id: int):
    course = editable_course_or_404(course_id)
    session = session_or_404(course, session_id)
    return _commit_or_flash(lambda: catalog.delete_session(session, actor=current_user, now=utcnow()),
                            _("The deletion waits for review; the class session stays until then.")
                            if catalog.is_held(course) else _("Class session deleted."),
                            url_for("teach.course", course_id=course.id) + "#sessions")
