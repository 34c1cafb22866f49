"""Exams: the instructor's builder (/teach/courses/<id>/exam) and the worker's attempts
(/courses/<id>/exam). The rules live in courses.study.exam_building, exam_attempts and exam_scoring."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import owned_or_404, paginate, perform, perform_quietly
from courses.catalog.models import Course
from courses.catalog.permissions import can_edit
from courses.enrollment.views import accessible_course_or_404
from courses.study import exam_attempts as attempts
from courses.study import exam_building as building
from courses.study import queries
from courses.study.exam_forms import KIND_LABELS, ExamForm, QuestionForm
from courses.study.exam_scoring import answer_sheet, attempt_review
from courses.study.models import Exam, ExamAttempt, Question
from courses.study.services import is_studying

bp = Blueprint("exams", __name__)


@bp.app_template_global()
def has_exam(course_id: int) -> bool:
    return queries.has_exam(course_id)


# ---- the instructor's builder -------------------------------------------------------------------------

def editable_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not can_edit(current_user, course):
        abort(404)
    return course


def exam_or_404(course: Course) -> Exam:
    exam = building.exam_of(course.id)
    if exam is None:
        abort(404)
    return exam


def question_or_404(exam: Exam, question_id: int) -> Question:
    return owned_or_404(Question, question_id, exam_id=exam.id)


@bp.route("/teach/courses/<int:course_id>/exam", methods=["GET", "POST"])
@login_required
def builder(course_id: int):
    course = editable_course_or_404(course_id)
    exam = building.exam_of(course.id)
    form = ExamForm(obj=exam)
    if exam is None and request.method == "GET":
        form.title.data = _("Exam: %(course)s", course=course.title)[:200]
    if form.validate_on_submit() and perform(
            lambda: building.save_exam(course, form.settings(), actor=current_user, now=utcnow()),
            success=_("Exam saved."), form=form, field="title").ok:
        return redirect(url_for("exams.builder", course_id=course.id))
    summary = building.exam_summary(exam.id) if exam else (0, 0)
    return render_template("exams/builder.html", course=course, exam=exam, form=form, summary=summary,
                           locked=exam is not None and building.has_attempts(exam.id), kinds=KIND_LABELS)


@bp.route("/teach/courses/<int:course_id>/exam/questions/new", methods=["GET", "POST"])
@bp.route("/teach/courses/<int:course_id>/exam/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def question_form(course_id: int, question_id: int | None = None):
    course = editable_course_or_404(course_id)
    exam = exam_or_404(course)
    question = question_or_404(exam, question_id) if question_id else None
    form = QuestionForm.for_question(question)
    if form.validate_on_submit() and perform(lambda: _save_question(exam, question, form.question_data()),
                                             success=_("Question saved."), form=form, field="text").ok:
        return redirect(url_for("exams.builder", course_id=course.id) + "#questions")
    return render_template("exams/question_form.html", course=course, exam=exam, question=question, form=form)


def _save_question(exam: Exam, question: Question | None, data: dict) -> Question:
    if question is None:
        return building.add_question(exam, data, actor=current_user)
    return building.update_question(question, data, actor=current_user)


@bp.route("/teach/courses/<int:course_id>/exam/questions/<int:question_id>/delete", methods=["POST"])
@login_required
def delete_question(course_id: int, question_id: int):
    course = editable_course_or_404(course_id)
    question = question_or_404(exam_or_404(course), question_id)
    perform(lambda: building.delete_question(question, actor=current_user), success=_("Question deleted."))
    return redirect(url_for("exams.builder", course_id=course.id) + "#questions")


# ---- the worker's attempts -------------------------------------------------------------------------

def course_exam_or_404(course_id: int) -> tuple[Course, Exam]:
    course = accessible_course_or_404(course_id)
    return course, exam_or_404(course)


def attempt_or_404(exam: Exam, attempt_id: int) -> ExamAttempt:
    """Only the worker's own attempt at this exam; anyone else's is "not found"."""
    return owned_or_404(ExamAttempt, attempt_id, exam_id=exam.id, user_id=current_user.id)


def to_course_page(course: Course):
    flash(_("Enroll in the course to take its exam."), "info")
    return redirect(url_for("enrollment.course", course_id=course.id))


@bp.route("/courses/<int:course_id>/exam")
@login_required
def take(course_id: int):
    course, exam = course_exam_or_404(course_id)
    if not is_studying(current_user.id, course.id):
        return to_course_page(course)
    page = paginate(attempts.attempts_statement(exam.id, current_user.id), per_page=20)
    used = attempts.attempt_count(exam.id, current_user.id)
    return render_template("exams/take.html", course=course, exam=exam, page=page,
                           summary=building.exam_summary(exam.id),
                           current=attempts.current_attempt(exam.id, current_user.id, utcnow()), used=used,
                           left=attempts.attempts_left(exam, used), timed_out=attempts.timed_out)


@bp.route("/courses/<int:course_id>/exam/start", methods=["POST"])
@login_required
def start(course_id: int):
    course, exam = course_exam_or_404(course_id)
    if not is_studying(current_user.id, course.id):
        return to_course_page(course)
    outcome = perform(lambda: attempts.start_attempt(current_user, exam, now=utcnow()), category="warning")
    if outcome.value is None:
        return redirect(url_for("exams.take", course_id=course.id))
    return redirect(url_for("exams.attempt", course_id=course.id, attempt_id=outcome.value.id))


@bp.route("/courses/<int:course_id>/exam/attempts/<int:attempt_id>")
@login_required
def attempt(course_id: int, attempt_id: int):
    course, exam = course_exam_or_404(course_id)
    attempt = attempt_or_404(exam, attempt_id)
    if attempt.submitted_at is not None:
        return redirect(url_for("exams.result", course_id=course.id, attempt_id=attempt.id))
    return render_template("exams/attempt.html", course=course, exam=exam, attempt=attempt,
                           sheet=answer_sheet(attempt))


@bp.route("/courses/<int:course_id>/exam/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(course_id: int, attempt_id: int):
    course, exam = course_exam_or_404(course_id)
    attempt = attempt_or_404(exam, attempt_id)
    chosen = {number: request.form.getlist(f"q{number}") for number in range(1, len(attempt.question_order) + 1)}
    outcome = perform_quietly(lambda: attempts.submit_attempt(attempt, chosen, now=utcnow()))
    if outcome.value is not None:
        flash(*outcome_message(outcome.value, course, exam))
    elif isinstance(outcome.error, attempts.AlreadySubmitted):  # the answers are in: the result page shows them
        flash(str(outcome.error), "info")
    else:
        flash(str(outcome.error), "warning")
        return redirect(url_for("exams.take", course_id=course.id))
    return redirect(url_for("exams.result", course_id=course.id, attempt_id=attempt.id))


def outcome_message(outcome: attempts.Submission, course: Course, exam: Exam) -> tuple[str, str]:
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
    reveal = attempts.answers_revealed(exam, current_user.id)
    return render_template("exams/result.html", course=course, exam=exam, attempt=attempt, reveal=reveal,
                           review=attempt_review(attempt, reveal=reveal), timed_out=attempts.timed_out(attempt))
