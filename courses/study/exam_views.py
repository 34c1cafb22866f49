"""Exams: the instructor's builder (/teach/courses/<id>/exam) and the worker's attempts
(/courses/<id>/exam). The rules live in courses.study.exams."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from classroom.database import utcnow
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import form_error, owned_or_404, paginate
from courses.catalog.models import Course
from courses.catalog.services import can_edit
from courses.enrollment.services import can_access, enrollment_of
from courses.study import exams
from courses.study.exam_forms import KIND_LABELS, ExamForm, QuestionForm
from courses.study.models import Exam, ExamAttempt, Question
from courses.study.services import STUDYING

bp = Blueprint("exams", __name__)


@bp.app_template_global()
def has_exam(course_id: int) -> bool:
    return db.session.scalar(select(Exam.id).where(Exam.course_id == course_id)) is not None


# ---- the instructor's builder -------------------------------------------------------------------------

def editable_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not can_edit(current_user, course):
        abort(404)
    return course


def exam_or_404(course: Course) -> Exam:
    exam = exams.exam_of(course.id)
    if exam is None:
        abort(404)
    return exam


def question_or_404(exam: Exam, question_id: int) -> Question:
    return owned_or_404(Question, question_id, exam_id=exam.id)


@bp.route("/teach/courses/<int:course_id>/exam", methods=["GET", "POST"])
@login_required
def builder(course_id: int):
    course = editable_course_or_404(course_id)
    exam = exams.exam_of(course.id)
    form = ExamForm(obj=exam)
    if exam is None and request.method == "GET":
        form.title.data = _("Exam: %(course)s", course=course.title)[:200]
    if form.validate_on_submit():
        try:
            exams.save_exam(course, form.settings(), actor=current_user, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="title")
        else:
            db.session.commit()
            flash(_("Exam saved."), "success")
            return redirect(url_for("exams.builder", course_id=course.id))
    summary = exams.exam_summary(exam.id) if exam else (0, 0)
    return render_template("exams/builder.html", course=course, exam=exam, form=form, summary=summary,
                           locked=exam is not None and exams.has_attempts(exam.id), kinds=KIND_LABELS)


@bp.route("/teach/courses/<int:course_id>/exam/questions/new", methods=["GET", "POST"])
@bp.route("/teach/courses/<int:course_id>/exam/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def question_form(course_id: int, question_id: int | None = None):
    course = editable_course_or_404(course_id)
    exam = exam_or_404(course)
    question = question_or_404(exam, question_id) if question_id else None
    form = QuestionForm.for_question(question)
    if form.validate_on_submit():
        try:
            if question is None:
                exams.add_question(exam, form.question_data(), actor=current_user)
            else:
                exams.update_question(question, form.question_data(), actor=current_user)
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="text")
        else:
            db.session.commit()
            flash(_("Question saved."), "success")
            return redirect(url_for("exams.builder", course_id=course.id) + "#questions")
    return render_template("exams/question_form.html", course=course, exam=exam, question=question, form=form)


@bp.route("/teach/courses/<int:course_id>/exam/questions/<int:question_id>/delete", methods=["POST"])
@login_required
def delete_question(course_id: int, question_id: int):
    course = editable_course_or_404(course_id)
    question = question_or_404(exam_or_404(course), question_id)
    try:
        exams.delete_question(question, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("Question deleted."), "success")
    return redirect(url_for("exams.builder", course_id=course.id) + "#questions")


# ---- the worker's attempts -------------------------------------------------------------------------

def course_exam_or_404(course_id: int) -> tuple[Course, Exam]:
    course = db.session.get(Course, course_id)
    if course is None or not can_access(current_user, course):
        abort(404)
    return course, exam_or_404(course)


def attempt_or_404(exam: Exam, attempt_id: int) -> ExamAttempt:
    """Only the worker's own attempt at this exam; anyone else's is "not found"."""
    return owned_or_404(ExamAttempt, attempt_id, exam_id=exam.id, user_id=current_user.id)


def studying(course: Course) -> bool:
    mine = enrollment_of(current_user.id, course.id)
    return mine is not None and mine.status in STUDYING


def to_course_page(course: Course):
    flash(_("Enroll in the course to take its exam."), "info")
    return redirect(url_for("enrollment.course", course_id=course.id))


@bp.route("/courses/<int:course_id>/exam")
@login_required
def take(course_id: int):
    course, exam = course_exam_or_404(course_id)
    if not studying(course):
        return to_course_page(course)
    now = utcnow()
    page = paginate(exams.attempts_statement(exam.id, current_user.id), per_page=20)
    used = exams.attempt_count(exam.id, current_user.id)
    return render_template("exams/take.html", course=course, exam=exam, page=page, summary=exams.exam_summary(exam.id),
                           current=exams.current_attempt(exam.id, current_user.id, now), used=used,
                           left=exams.attempts_left(exam, used), timed_out=exams.timed_out)


@bp.route("/courses/<int:course_id>/exam/start", methods=["POST"])
@login_required
def start(course_id: int):
    course, exam = course_exam_or_404(course_id)
    if not studying(course):
        return to_course_page(course)
    try:
        attempt = exams.start_attempt(current_user, exam, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("exams.take", course_id=course.id))
    db.session.commit()
    return redirect(url_for("exams.attempt", course_id=course.id, attempt_id=attempt.id))


@bp.route("/courses/<int:course_id>/exam/attempts/<int:attempt_id>")
@login_required
def attempt(course_id: int, attempt_id: int):
    course, exam = course_exam_or_404(course_id)
    attempt = attempt_or_404(exam, attempt_id)
    if attempt.submitted_at is not None:
        return redirect(url_for("exams.result", course_id=course.id, attempt_id=attempt.id))
    return render_template("exams/attempt.html", course=course, exam=exam, attempt=attempt,
                           sheet=exams.answer_sheet(attempt))


@bp.route("/courses/<int:course_id>/exam/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(course_id: int, attempt_id: int):
    course, exam = course_exam_or_404(course_id)
    attempt = attempt_or_404(exam, attempt_id)
    chosen = {number: request.form.getlist(f"q{number}") for number in range(1, len(attempt.question_order) + 1)}
    result_page = url_for("exams.result", course_id=course.id, attempt_id=attempt.id)
    try:
        outcome = exams.submit_attempt(attempt, chosen, now=utcnow())
    except exams.AlreadySubmitted as error:
        db.session.rollback()
        flash(str(error), "info")
        return redirect(result_page)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("exams.take", course_id=course.id))
    db.session.commit()
    flash(*outcome_message(outcome, course, exam))
    return redirect(result_page)


def outcome_message(outcome: exams.Submission, course: Course, exam: Exam) -> tuple[str, str]:
    if outcome.late:
        return _("Time ran out: your answers arrived after the time limit and were scored 0."), "warning"
    if outcome.completed:
        return _("Congratulations: you have completed %(course)s!", course=course.title), "success"
    if outcome.attempt.passed:
        return _("You passed with %(score)d%%.", score=outcome.attempt.score), "success"
    return _("You scored %(score)d%%; the pass mark is %(pass_score)d%%.", score=outcome.attempt.score,
             pass_score=exam.pass_score), "warning"


@bp.route("/courses/<int:course_id>/exam/attempts/<int:attempt_id>/result")
@login_required
def result(course_id: int, attempt_id: int):
    course, exam = course_exam_or_404(course_id)
    attempt = attempt_or_404(exam, attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for("exams.attempt", course_id=course.id, attempt_id=attempt.id))
    reveal = exams.answers_revealed(exam, current_user.id)
    return render_template("exams/result.html", course=course, exam=exam, attempt=attempt, reveal=reveal,
                           review=exams.attempt_review(attempt, reveal=reveal), timed_out=exams.timed_out(attempt))
