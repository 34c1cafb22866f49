"""Editing question banks (/drills/manage): banks, questions, import with preview, export, template."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from classroom.database import utcnow
from classroom.extensions import db
from classroom.http import owned_or_404, paginate, perform
from courses.drills import access, banks, imports, queries, question_file, rounds
from courses.drills.content import DIFFICULTY_LABELS, KIND_LABELS
from courses.drills.forms import BankForm, ConfirmForm, ImportForm, QuestionForm
from courses.drills.models import DrillImport, DrillQuestion

bp = Blueprint("drills_manage", __name__, url_prefix="/drills/manage")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bank_form(bank=None) -> BankForm:
    form = BankForm(obj=bank)
    form.union_id.choices = [(union.id, union.name) for union in access.editor_unions(current_user)]
    return form


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    if access.editor_paths(current_user) == []:
        abort(404)
    form = bank_form()
    if form.validate_on_submit() and perform(
            lambda: banks.create_bank(form.union_id.data, form.data_dict(), actor=current_user, now=utcnow()),
            success=_("Bank created."), form=form, field="title").ok:
        return redirect(url_for("drills_manage.index"))
    return render_template("drills/manage.html", banks=queries.banks_for(current_user, editing=True), form=form,
                           stages=rounds.organized_stages(current_user))


@bp.route("/banks/<int:bank_id>", methods=["GET", "POST"])
@login_required
def bank(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    form = BankForm(obj=bank)
    del form.union_id  # a bank stays with its union
    if form.validate_on_submit() and perform(lambda: banks.update_bank(bank, form.data_dict(), actor=current_user),
                                             success=_("Bank saved."), form=form, field="title").ok:
        return redirect(url_for("drills_manage.bank", bank_id=bank.id))
    page = paginate(queries.questions_statement(bank.id), per_page=50, rows=True)
    return render_template("drills/bank_manage.html", bank=bank, form=form, page=page, kinds=KIND_LABELS,
                           difficulties=DIFFICULTY_LABELS, exams=queries.mock_exams(bank.id))


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@bp.route("/banks/<int:bank_id>/questions/<int:question_id>", methods=["GET", "POST"])
@login_required
def question(bank_id: int, question_id: int | None = None):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    question = owned_or_404(DrillQuestion, question_id, bank_id=bank.id) if question_id else None
    version = queries.current_version(question) if question else None
    form = QuestionForm.for_version(question, version)
    config = current_app.config
    if form.validate_on_submit() and perform(
            lambda: banks.save_question(bank, form.question_data(), actor=current_user, now=utcnow(),
                                        question=question, image=form.image_upload(),
                                        folder=config["UPLOAD_FOLDER"], max_bytes=config["UPLOAD_MAX_BYTES"]),
            success=_("Question saved."), form=form, field="text").ok:
        return redirect(url_for("drills_manage.bank", bank_id=bank.id))
    return render_template("drills/question_form.html", bank=bank, question=question, form=form,
                           version=version)


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@login_required
def upload(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    form = ImportForm()
    if form.validate_on_submit():
        staged = perform(lambda: imports.stage_import(bank, form.file.data, actor=current_user, now=utcnow()),
                         form=form, field="file")
        if staged.value is not None:
            return redirect(url_for("drills_manage.preview", bank_id=bank.id, import_id=staged.value.id))
    return render_template("drills/import.html", bank=bank, form=form)


@bp.route("/banks/<int:bank_id>/import/<int:import_id>", methods=["GET", "POST"])
@login_required
def preview(bank_id: int, import_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    staged = owned_or_404(DrillImport, import_id, bank_id=bank.id)
    form = ConfirmForm()
    if form.validate_on_submit() and perform(
            lambda: imports.commit_import(staged, bank, actor=current_user, now=utcnow()),
            success=lambda counts: _("Imported: %(create)d new, %(update)d changed, %(unchanged)d unchanged.",
                                     **counts), category="warning").ok:
        return redirect(url_for("drills_manage.bank", bank_id=bank.id))
    db.session.refresh(staged)
    return render_template("drills/import_preview.html", bank=bank, staged=staged, form=form,
                           errors=imports.error_messages(staged))


@bp.route("/banks/<int:bank_id>/export.xlsx")
@login_required
def export(bank_id: int):
    bank = access.bank_or_404(current_user, bank_id, editing=True)
    body = question_file.export_bytes(bank.title, imports.export_rows(bank))
    return Response(body, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="bank-{bank.id}.xlsx"', "Cache-Control": "no-store"})


@bp.route("/template.xlsx")
@login_required
def template():
    return Response(question_file.template_bytes(), mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="question-bank-template.xlsx"'})
