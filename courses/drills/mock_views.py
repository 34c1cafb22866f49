"""Mock exams (/drills/mock): the worker's paper, timed on the server, saved as they go; the editors'
form for a new mock exam on a bank."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.extensions import db
from classroom.forms import parse_id
from classroom.http import owned_or_404, perform, perform_quietly
from classroom.unions import scope
from courses.competitions.access import can_organize
from courses.competitions.models import Stage
from courses.drills import access, banks, integrity, mock, queries, rankings, rounds
from courses.drills.content import KIND_LABELS
from courses.drills.forms import ConfirmForm, MockExamForm, RoundForm
from courses.drills.models import MockAttempt, MockExam, QuestionVersion

bp = Blueprint("drills_mock", __name__)


def exam_or_404(exam_id: int) -> MockExam:
    exam = db.session.get(MockExam, exam_id)
    if exam is None or (exam.stage_id and not rounds.may_see(current_user, exam)):
        abort(404)
    if not exam.stage_id:
        access.bank_or_404(current_user, exam.bank_id, editing=False)
    return exam


def attempt_or_404(attempt_id: int) -> MockAttempt:
    return owned_or_404(MockAttempt, attempt_id, user_id=current_user.id)


def sent_answers(attempt: MockAttempt) -> dict:
    """{version id: (choices, blanks)} of the paper's questions the form sent something for."""
    return {version_id: (request.form.getlist(f"c{version_id}"), request.form.getlist(f"b{version_id}"))
            for version_id, _points in attempt.paper
            if f"c{version_id}" in request.form or f"b{version_id}" in request.form}


@bp.route("/drills/manage/banks/<int:bank_id>/mock", methods=["GET", "POST"])
@login_required
def new(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    form = MockExamForm()
    if form.validate_on_submit() and perform(
            lambda: mock.create_exam(bank, form.exam_data(), actor=current_user, now=utcnow()),
            success=_("Mock exam saved."), form=form, field="blueprint").ok:
        return redirect(url_for("drills_manage.bank", bank_id=bank.id))
    return render_template("drills/mock_form.html", bank=bank, form=form)


@bp.route("/drills/manage/stages/<int:stage_id>/round", methods=["GET", "POST"])
@login_required
def new_round(stage_id: int):
    stage = organized_stage_or_404(stage_id)
    form = RoundForm()
    form.bank_id.choices = [(bank.id, bank.title) for bank, _union, _count in queries.banks_for(current_user,
                                                                                                editing=True)]
    if form.validate_on_submit() and perform(
            lambda: mock.create_exam(access.bank_or_404(current_user, form.bank_id.data, editing=True),
                                     {**form.exam_data(), "stage": stage}, actor=current_user, now=utcnow()),
            success=_("The round is online."), form=form, field="blueprint").ok:
        return redirect(url_for("drills_mock.exam", exam_id=queries.round_of(stage.id)))
    return render_template("drills/round_form.html", stage=stage, form=form)


def organized_stage_or_404(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None or not can_organize(current_user, stage.competition):
        scope.deny(current_user, "Stage", stage_id)
    return stage


@bp.route("/drills/mock/<int:exam_id>")
@login_required
def exam(exam_id: int):
    exam = exam_or_404(exam_id)
    return render_template("drills/mock_exam.html", exam=exam, form=ConfirmForm(), kinds=KIND_LABELS,
                           stage=db.session.get(Stage, exam.stage_id) if exam.stage_id else None,
                           current=mock.open_attempt(exam.id, current_user.id),
                           attempts=queries.my_attempts(exam.id, current_user.id))


@bp.route("/drills/mock/<int:exam_id>/rankings")
@login_required
def ranking(exam_id: int):
    """The exam's (or round's) leaderboard: people by score then time, unions by participation."""
    exam = exam_or_404(exam_id)
    return render_template("drills/exam_rankings.html", exam=exam,
                           stage=db.session.get(Stage, exam.stage_id) if exam.stage_id else None,
                           people=rankings.exam_people(current_user, exam), unions=rankings.exam_unions(exam))


@bp.route("/drills/mock/<int:exam_id>/start", methods=["POST"])
@login_required
def start(exam_id: int):
    exam = exam_or_404(exam_id)
    outcome = perform(lambda: mock.start(current_user, exam, now=utcnow()), category="warning")
    if outcome.value is None:
        return redirect(url_for("drills_mock.exam", exam_id=exam.id))
    return redirect(url_for("drills_mock.attempt", attempt_id=outcome.value.id))


@bp.route("/drills/mock/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = attempt_or_404(attempt_id)
    exam = db.session.get(MockExam, attempt.exam_id)
    return render_template("drills/mock_attempt.html", attempt=attempt, exam=exam, paper=mock.paper_rows(attempt),
                           left=mock.seconds_left(attempt, utcnow()), kinds=KIND_LABELS, form=ConfirmForm())


@bp.route("/drills/mock/attempts/<int:attempt_id>/save", methods=["POST"])
@login_required
def save(attempt_id: int):
    attempt = attempt_or_404(attempt_id)
    if request.form.get("submit"):
        perform(lambda: mock.save_and_submit(attempt, sent_answers(attempt), now=utcnow(), actor=current_user),
                category="warning")
    else:
        perform(lambda: mock.save_answers(attempt, sent_answers(attempt), now=utcnow()),
                success=_("Answers saved."), category="warning")
    return redirect(url_for("drills_mock.attempt", attempt_id=attempt.id))


@bp.route("/drills/mock/attempts/<int:attempt_id>/answer", methods=["POST"])
@login_required
def answer(attempt_id: int):
    """One answer, as the worker goes (for scripts): {"saved": 1}, or 409 with the reason."""
    attempt = attempt_or_404(attempt_id)
    version_id = parse_id(request.form.get("version", ""))
    sent = {version_id: (request.form.getlist("choice"), request.form.getlist("blank"))} if version_id else {}
    outcome = perform_quietly(lambda: mock.save_answers(attempt, sent, now=utcnow()))
    if outcome.error is not None:
        return jsonify(error=str(outcome.error)), 409
    return jsonify(saved=1) if outcome.value else (jsonify(error=_("This question is not on your paper.")), 400)


@bp.route("/drills/mock/attempts/<int:attempt_id>/images/<int:version_id>")
@login_required
def image(attempt_id: int, version_id: int):
    """The image of a question on the person's own paper (a round's entrant may not practise its bank)."""
    attempt = attempt_or_404(attempt_id)
    version = db.session.get(QuestionVersion, version_id) \
        if version_id in {item[0] for item in attempt.paper} else None
    if version is None:
        abort(404)
    return banks.image_download(version)


@bp.app_template_filter("countdown")
def countdown(seconds: int) -> str:
    """Seconds as m:ss."""
    return f"{max(0, seconds) // 60:d}:{max(0, seconds) % 60:02d}"


@bp.route("/drills/mock/attempts/<int:attempt_id>/focus", methods=["POST"])
@login_required
def focus_lost(attempt_id: int):
    """The paper's page lost focus (the script says so): counted for the organizer, never blocking."""
    attempt = attempt_or_404(attempt_id)
    outcome = perform_quietly(lambda: integrity.note_focus_lost(attempt, now=utcnow()))
    return jsonify(counted=outcome.ok), 200 if outcome.ok else 409


@bp.route("/drills/manage/rounds/<int:exam_id>")
@login_required
def report(exam_id: int):
    exam = db.session.get(MockExam, exam_id)
    stage = db.session.get(Stage, exam.stage_id) if exam is not None and exam.stage_id else None
    if exam is None or stage is None or not can_organize(current_user, stage.competition):
        scope.deny(current_user, "MockExam", exam_id)
    return render_template("drills/round_report.html", exam=exam, stage=stage, papers=integrity.papers(exam.id),
                           pairs=integrity.identical_wrong_pairs(exam.id))
