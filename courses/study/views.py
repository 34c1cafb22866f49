"""Studying: My courses, the lesson page with its heartbeat, completing lessons; the roster."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow, writes
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.http import paginate, perform, perform_quietly
from classroom.pagination import keyset_page
from classroom.security import embed_hosts
from classroom.unions.scope import shown_mobiles
from courses.catalog.content import render_markdown, video_embed_url
from courses.catalog.forms import ReasonForm
from courses.catalog.models import Course, Lesson
from courses.enrollment.forms import AnnouncementForm
from courses.enrollment.models import EnrollmentStatus
from courses.enrollment.services import can_manage_enrollments, enrollment_of
from courses.enrollment.views import accessible_course_or_404, managed_course_or_404
from courses.study import queries
from courses.study import services as study

bp = Blueprint("study", __name__)


@bp.route("/courses/mine")
@login_required
def mine():
    page = paginate(queries.my_enrollments(current_user.id), per_page=50)
    progress = queries.progress_summary(current_user.id, [row.course_id for row in page.items])
    return render_template("study/mine.html", page=page, progress=progress)


def lesson_or_404(course_id: int, position: int) -> tuple[Course, Lesson]:
    course = accessible_course_or_404(course_id)
    lesson = queries.lesson_at(course.id, position)
    if lesson is None:
        abort(404)
    return course, lesson


def to_course_page(course: Course):
    """Someone not enrolled is sent to the course page, where they can sign up."""
    flash(_("Enroll in the course to study its lessons."), "info")
    return redirect(url_for("enrollment.course", course_id=course.id))


@bp.route("/courses/<int:course_id>/continue")
@login_required
def resume(course_id: int):
    """"Continue studying": the first lesson not completed yet (the first one when all are)."""
    course = accessible_course_or_404(course_id)
    if not study.is_studying(current_user.id, course.id):
        return to_course_page(course)
    position = queries.resume_point(current_user.id, course.id)[0] or 1
    if not queries.has_lesson_at(course.id, position):
        return redirect(url_for("enrollment.course", course_id=course.id))
    return redirect(url_for("study.lesson", course_id=course.id, position=position))


@bp.route("/courses/<int:course_id>/lessons/<int:position>")
@writes
@login_required
def lesson(course_id: int, position: int):
    course = accessible_course_or_404(course_id)
    lesson, lesson_count = queries.lesson_page(course.id, position) or abort(404)
    studying = study.studying_of(current_user.id, course.id)
    if not studying and not can_manage_enrollments(current_user, course):
        return to_course_page(course)
    progress = perform(lambda: study.open_lesson(current_user, lesson, now=utcnow(), enrollment=studying),
                       keep=True).value if studying else None  # keep: the page shows what it read, as read
    needed = study.seconds_needed(lesson)
    return render_template(
        "study/lesson.html", course=course, lesson=lesson, progress=progress, needed=needed,
        lesson_count=lesson_count, body=render_markdown(lesson.body),
        minutes=study.minutes_shown(progress.seconds_studied, needed) if progress else None,
        video=video_embed_url(lesson.video_url, list(embed_hosts(current_app.config["VIDEO_EMBED_HOSTS"]))),
        heartbeat_seconds=current_app.config["HEARTBEAT_SECONDS"], studying=studying)


@bp.route("/courses/<int:course_id>/lessons/<int:position>/heartbeat", methods=["POST"])
@login_required
def heartbeat(course_id: int, position: int):
    course, lesson = lesson_or_404(course_id, position)
    outcome = perform_quietly(lambda: study.heartbeat(current_user, lesson, now=utcnow(),
                                                      resume=request.args.get("resume") == "1",
                                                      read_permille=parse_id(request.form.get("read", ""))))
    progress = outcome.value
    if progress is None:
        return jsonify({"error": str(outcome.error)}), 403
    needed = study.seconds_needed(lesson)
    return jsonify({"seconds": progress.seconds_studied, "needed": needed,
                    "studied": study.minutes_shown(progress.seconds_studied, needed)[0],
                    "can_complete": study.can_complete(progress, lesson),
                    "completed": progress.completed_at is not None})


@bp.route("/courses/<int:course_id>/lessons/<int:position>/complete", methods=["POST"])
@login_required
def complete(course_id: int, position: int):
    course, lesson = lesson_or_404(course_id, position)
    outcome = perform(lambda: study.complete_lesson(current_user, lesson, now=utcnow()),
                      success=lambda _first: completed_message(course), category="warning")
    if not outcome.ok:
        return redirect(url_for("study.lesson", course_id=course.id, position=position))
    if queries.has_lesson_at(course.id, position + 1):
        return redirect(url_for("study.lesson", course_id=course.id, position=position + 1))
    return redirect(url_for("enrollment.course", course_id=course.id))


def completed_message(course: Course) -> str:
    """What completing a lesson says: congratulations when it completed the course."""
    mine = enrollment_of(current_user.id, course.id)
    if mine is not None and mine.status == EnrollmentStatus.COMPLETED:
        return _("Congratulations: you have completed %(course)s!", course=course.title)
    return _("Lesson complete.")


@bp.route("/teach/courses/<int:course_id>/roster")
@login_required
def roster(course_id: int):
    course = managed_course_or_404(course_id)
    status = request.args.get("status", "")
    page = keyset_page(queries.roster_statement(course.id, status), queries.ROSTER_ORDER, queries.roster_key,
                       per_page=50, ascending=True)
    progress = queries.progress_for_roster(course.id, [row.Enrollment.user_id for row in page.items])
    return render_template("enrollment/roster.html", course=course, page=page, counts=queries.status_counts(course.id),
                           status=status, progress=progress, reason_form=ReasonForm(),
                           announcement_form=AnnouncementForm(),
                           mobiles=shown_mobiles(current_user, [row.User for row in page.items]))


@bp.app_template_global()
def study_buttons(point: tuple[int | None, bool, bool]) -> tuple[str, bool]:
    """(what the course page's study button says for the signed-in person: start, continue or review; whether
    the course has an exam), from their ``study_point`` (read with the page: courses/enrollment/page.py)."""
    position, opened, exam = point
    return "review" if position is None else ("continue" if opened else "start"), exam


def home_section(user):
    """The home page: a worker's current courses and next classes; for visitors, new courses."""
    if not user.is_authenticated:
        courses = db.session.scalars(queries.highlights(limit=6)).all()
        return ("study/_home_highlights.html", {"courses": courses}) if courses else None
    enrollments, progress = queries.current_with_progress(user.id, 5)
    return "study/_home_courses.html", {
        "enrollments": enrollments, "next_sessions": queries.next_sessions(user.id, now=utcnow(), limit=3),
        "progress": progress}

