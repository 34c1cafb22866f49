"""Studying: My courses, the lesson page with its heartbeat, completing lessons; the roster."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from classroom.accounts.models import User
from classroom.database import utcnow, writes
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import paginate
from classroom.security import embed_hosts
from classroom.unions.scope import shown_mobiles
from courses.catalog.content import render_markdown, video_embed_url
from courses.catalog.forms import ReasonForm
from courses.catalog.models import Course, Lesson
from courses.enrollment.forms import AnnouncementForm
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.enrollment.services import can_access, can_manage_enrollments, enrollment_of
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
    course = db.session.get(Course, course_id)
    if course is None or not can_access(current_user, course):
        abort(404)
    lesson = db.session.scalar(select(Lesson).filter_by(course_id=course.id, position=position))
    if lesson is None:
        abort(404)
    return course, lesson


@bp.route("/courses/<int:course_id>/lessons/<int:position>")
@writes
@login_required
def lesson(course_id: int, position: int):
    course, lesson = lesson_or_404(course_id, position)
    mine = enrollment_of(current_user.id, course.id)
    studying = mine is not None and mine.status in study.STUDYING
    if not studying and not can_manage_enrollments(current_user, course):
        flash(_("Enroll in the course to study its lessons."), "info")
        return redirect(url_for("enrollment.course", course_id=course.id))
    progress = study.open_lesson(current_user, lesson, now=utcnow()) if studying else None
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Lesson).where(Lesson.course_id == course.id))
    return render_template(
        "study/lesson.html", course=course, lesson=lesson, progress=progress, lesson_count=count,
        body=render_markdown(lesson.body), needed=study.seconds_needed(lesson),
        video=video_embed_url(lesson.video_url, embed_hosts(current_app.config["VIDEO_EMBED_HOSTS"])),
        heartbeat_seconds=current_app.config["HEARTBEAT_SECONDS"], studying=studying)


@bp.route("/courses/<int:course_id>/lessons/<int:position>/heartbeat", methods=["POST"])
@login_required
def heartbeat(course_id: int, position: int):
    course, lesson = lesson_or_404(course_id, position)
    try:
        progress = study.heartbeat(current_user, lesson, now=utcnow(), resume=request.args.get("resume") == "1")
    except DomainError as error:
        db.session.rollback()
        return jsonify({"error": str(error)}), 403
    db.session.commit()
    return jsonify({"seconds": progress.seconds_studied, "needed": study.seconds_needed(lesson),
                    "can_complete": study.can_complete(progress, lesson),
                    "completed": progress.completed_at is not None})


@bp.route("/courses/<int:course_id>/lessons/<int:position>/complete", methods=["POST"])
@login_required
def complete(course_id: int, position: int):
    course, lesson = lesson_or_404(course_id, position)
    try:
        study.complete_lesson(current_user, lesson, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("study.lesson", course_id=course.id, position=position))
    db.session.commit()
    mine = enrollment_of(current_user.id, course.id)
    if mine.status == EnrollmentStatus.COMPLETED:
        flash(_("Congratulations: you have completed %(course)s!", course=course.title), "success")
    else:
        flash(_("Lesson complete."), "success")
    has_next = db.session.scalar(select(Lesson.id).filter_by(course_id=course.id, position=position + 1))
    if has_next:
        return redirect(url_for("study.lesson", course_id=course.id, position=position + 1))
    return redirect(url_for("enrollment.course", course_id=course.id))


@bp.route("/teach/courses/<int:course_id>/roster")
@login_required
def roster(course_id: int):
    course = db.session.get(Course, course_id)
    if course is None or not can_manage_enrollments(current_user, course):
        abort(404)
    status = request.args.get("status", "")
    statement = (select(Enrollment, User).join(User, User.id == Enrollment.user_id)
                 .where(Enrollment.course_id == course.id))
    if status in set(EnrollmentStatus):
        statement = statement.where(Enrollment.status == status)
    page = paginate(statement.order_by(Enrollment.status, Enrollment.waitlist_seq, Enrollment.requested_at),
                    per_page=50, rows=True)
    counts = dict(db.session.execute(select(Enrollment.status, func.count()).where(Enrollment.course_id == course.id)
                                     .group_by(Enrollment.status)).all())
    progress = queries.progress_for_roster(course.id, [row.Enrollment.user_id for row in page.items])
    return render_template("enrollment/roster.html", course=course, page=page, counts=counts, status=status,
                           progress=progress, reason_form=ReasonForm(), announcement_form=AnnouncementForm(),
                           mobiles=shown_mobiles(current_user, [row.User for row in page.items]))


def home_section(user):
    """The home page: a worker's current courses and next classes; for visitors, new courses."""
    if not user.is_authenticated:
        courses = db.session.scalars(queries.highlights(limit=6)).all()
        return ("study/_home_highlights.html", {"courses": courses}) if courses else None
    enrollments = db.session.scalars(queries.my_enrollments(user.id).limit(5)).all()
    return "study/_home_courses.html", {
        "enrollments": enrollments, "next_sessions": queries.next_sessions(user.id, now=utcnow(), limit=3),
        "progress": queries.progress_summary(user.id, [e.course_id for e in enrollments])}

