"""The worker's drills (/drills): banks to practise, a question at a time with its explanation after the
answer, the mistake book, favourites and progress per knowledge point."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.domain import Invalid
from classroom.forms import arg_int, parse_id
from classroom.http import owned_or_404, paginate, perform, perform_quietly, safe_next
from courses.drills import access, banks, daily, practice, queries, rounds
from courses.drills import rankings as ranking
from courses.drills.content import DIFFICULTY_LABELS, KIND_LABELS, options_of
from courses.drills.forms import ConfirmForm
from courses.drills.models import DrillQuestion, PracticeAnswer

bp = Blueprint("drills", __name__, url_prefix="/drills")


def mode_arg() -> str:
    mode = request.args.get("mode", "sequential")
    return mode if mode in practice.MODES else "sequential"


@bp.route("")
@login_required
def index():
    return render_template("drills/index.html", banks=queries.banks_for(current_user, editing=False),
                           editor=access.editor_paths(current_user) != [],
                           rounds=rounds.my_rounds(current_user, now=utcnow()),
                           streaks=daily.streaks(current_user, now=utcnow()))


@bp.route("/banks/<int:bank_id>")
@login_required
def bank(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    now = utcnow()
    return render_template("drills/bank.html", bank=bank, modes=practice.MODE_LABELS,
                           counts=queries.my_counts(current_user.id, bank.id), exams=queries.mock_exams(bank.id),
                           progress=practice.progress_by_tag(current_user.id, bank.id), form=ConfirmForm(),
                           streak=daily.streaks(current_user, now=now, bank_id=bank.id).get(bank.id),
                           today=daily.todays_set(current_user, bank, now=now))


@bp.route("/banks/<int:bank_id>/daily/<any(on, off):action>", methods=["POST"])
@login_required
def daily_plan(bank_id: int, action: str):
    """Turn daily practice on or off for this bank."""
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform_quietly(lambda: daily.turn_on(current_user, bank, now=utcnow()) if action == "on"
                    else daily.turn_off(current_user, bank))
    return redirect(url_for("drills.bank", bank_id=bank.id))


@bp.route("/banks/<int:bank_id>/daily", methods=["POST"])
@login_required
def daily_start(bank_id: int):
    """Today's questions: drawn on the first press of the day, then answered one by one."""
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if perform(lambda: daily.start(current_user, bank, now=utcnow()), category="warning").error is not None:
        return redirect(url_for("drills.bank", bank_id=bank.id))
    return redirect(url_for("drills.question", bank_id=bank.id, mode="daily"))


@bp.route("/banks/<int:bank_id>/practice")
@login_required
def question(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    mode = mode_arg()
    found = daily.next_question(current_user, bank, now=utcnow()) if mode == "daily" else \
        practice.next_question(current_user.id, bank, mode, after=arg_int("after"))
    if found is None:
        return render_template("drills/nothing.html", bank=bank, mode=mode, modes=practice.MODE_LABELS,
                               today=daily.todays_set(current_user, bank, now=utcnow()) if mode == "daily" else None)
    return render_template("drills/question.html", bank=bank, mode=mode, question=found[0], version=found[1],
                           options=options_of(found[1].kind, found[1].options), kinds=KIND_LABELS,
                           difficulties=DIFFICULTY_LABELS, form=ConfirmForm())


@bp.route("/banks/<int:bank_id>/practice", methods=["POST"])
@login_required
def answer(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    mode = mode_arg()
    outcome = perform(lambda: _answer(bank), category="warning")
    if outcome.value is None:
        return redirect(url_for("drills.question", bank_id=bank.id, mode=mode))
    return redirect(url_for("drills.result", bank_id=bank.id, answer_id=outcome.value.id, mode=mode))


def _answer(bank) -> PracticeAnswer:
    version = practice.version_in_bank(bank, parse_id(request.form.get("version", "")))
    given = practice.given_answer(version.kind, request.form.getlist("choice"), request.form.getlist("blank"))
    now = utcnow()
    record = practice.answer(current_user, bank, version, given, now=now)
    if mode_arg() == "daily":
        daily.note_answer(current_user, bank, version.question_id, now=now)
    return record


@bp.route("/banks/<int:bank_id>/practice/answers/<int:answer_id>")
@login_required
def result(bank_id: int, answer_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    record = owned_or_404(PracticeAnswer, answer_id, bank_id=bank.id, user_id=current_user.id)
    version = practice.version_in_bank(bank, record.version_id)
    return render_template("drills/result.html", bank=bank, record=record, version=version, mode=mode_arg(),
                           options=options_of(version.kind, version.options), form=ConfirmForm(),
                           favourite=practice.is_favourite(current_user.id, record.question_id),
                           in_book=practice.in_mistake_book(current_user.id, record.question_id))


@bp.route("/banks/<int:bank_id>/images/<int:version_id>")
@login_required
def image(bank_id: int, version_id: int):
    """A question's image, for the people who may practise (or edit) its bank; 404 for anyone else."""
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    try:
        version = practice.version_in_bank(bank, version_id)
    except Invalid:
        abort(404)
    return banks.image_download(version)


@bp.route("/banks/<int:bank_id>/questions/<int:question_id>/favourite", methods=["POST"])
@login_required
def favourite(bank_id: int, question_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    question = owned_or_404(DrillQuestion, question_id, bank_id=bank.id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform_quietly(lambda: practice.toggle_favourite(current_user, bank, question, now=utcnow()))
    return redirect(safe_next(url_for("drills.bank", bank_id=bank.id)))


@bp.route("/banks/<int:bank_id>/mistakes")
@login_required
def mistakes(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    page = paginate(queries.mistakes_statement(current_user.id, bank.id), per_page=20, rows=True)
    return render_template("drills/mistakes.html", bank=bank, page=page, kinds=KIND_LABELS)


@bp.route("/banks/<int:bank_id>/rankings")
@login_required
def rankings(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=False)
    days = arg_int("days", 30)
    days = days if days in ranking.PERIODS else 30
    now = utcnow()
    return render_template("drills/rankings.html", bank=bank, days=days, periods=ranking.PERIODS,
                           unions=ranking.union_rows(bank, now=now, days=days),
                           people=ranking.people_rows(current_user, bank, now=now, days=days))


def home_section(user):
    """The home page: the worker's banks (the suggested one named) and mistakes waiting; nothing for visitors.
    Figures only, read with the page's others (no statement of its own)."""
    if not user.is_authenticated:
        return None
    return "drills/_home.html", queries.home_figures(user)
