"""Member import (CSV/XLSX) for union admins: upload, preview, commit, progress, links to hand out."""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update

from classroom.accounts.invitations import invitation_link
from classroom.accounts.models import User
from classroom.audit import record_event
from classroom.database import begin_write, utcnow
from classroom.domain import DomainError
from classroom.exports import csv_bytes
from classroom.extensions import db
from classroom.http import form_error, page_number, paginate, role_required
from classroom.unions import import_jobs, scope
from classroom.unions.import_files import COLUMN_LABELS
from classroom.unions.import_forms import ConfirmForm, UploadForm
from classroom.unions.import_models import ImportJob, ImportStatus
from classroom.unions.models import TradeUnion

bp = Blueprint("member_import", __name__, url_prefix="/unions/<int:union_id>/imports")
union_admin_required = role_required(scope.is_union_admin)


class ListPage:
    """A page of a list already in memory, shaped like a Flask-SQLAlchemy page for the pager."""

    def __init__(self, items: list, page: int, per_page: int) -> None:
        self.total, self.per_page = len(items), per_page
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(page, self.pages)
        self.items = items[(self.page - 1) * per_page:self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1


def _union_and_job(union_id: int, job_id: int) -> tuple[TradeUnion, ImportJob]:
    union = scope.managed_union_or_404(current_user, union_id)
    job = db.session.get(ImportJob, job_id)
    if job is None or job.union_id != union.id:
        scope.deny(current_user, "ImportJob", job_id, union_id=union.id)
    return union, job


@bp.route("", methods=["GET", "POST"])
@union_admin_required
def upload(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            job = import_jobs.stage_upload(form.file.data, union=union, actor=current_user,
                                           send_sms=form.send_sms.data, now=utcnow())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error, default="file")
        else:
            db.session.commit()
            import_jobs.start(current_app._get_current_object(), job, "validate")
            return redirect(url_for("member_import.job", union_id=union.id, job_id=job.id))
    page = paginate(select(ImportJob).where(ImportJob.union_id == union.id)
                    .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()))
    return render_template("unions/import.html", union=union, form=form, page=page)


@bp.route("/<int:job_id>")
@union_admin_required
def job(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    now = utcnow()
    errors = ListPage(import_jobs.row_errors(job), page_number(), current_app.config["PAGE_SIZE"])
    return render_template("unions/import_job.html", union=union, job=job, form=ConfirmForm(), errors=errors,
                           progress=import_jobs.progress_of(job, now=now), links=_links_page(job, now),
                           columns=COLUMN_LABELS, interrupted=import_jobs.is_interrupted(job, now))


def _links_page(job: ImportJob, now) -> ListPage:
    page = ListPage(import_jobs.invitation_tokens(job, now=now), page_number(), current_app.config["PAGE_SIZE"])
    people = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_([user_id for user_id, _token in page.items])))}
    page.items = [(people[user_id], invitation_link(token)) for user_id, token in page.items if user_id in people]
    return page


@bp.route("/<int:job_id>/progress.json")
@union_admin_required
def progress(union_id: int, job_id: int):
    _union, job = _union_and_job(union_id, job_id)
    return jsonify(import_jobs.progress_of(job, now=utcnow()))


@bp.route("/<int:job_id>/commit", methods=["POST"])
@union_admin_required
def commit(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    begin_write(db.session)
    claimed = ConfirmForm().validate_on_submit() and db.session.execute(
        update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == ImportStatus.READY)
        .values(status=ImportStatus.RUNNING)).rowcount
    db.session.commit()
    if not claimed:
        flash(_("This import is not waiting for a commit."), "warning")
    else:
        import_jobs.start(current_app._get_current_object(), job, "commit")
    return redirect(url_for("member_import.job", union_id=union.id, job_id=job_id))


@bp.route("/<int:job_id>/retry", methods=["POST"])
@union_admin_required
def retry(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    if ConfirmForm().validate_on_submit() and (import_jobs.is_interrupted(job, utcnow())
                                               or job.status == ImportStatus.FAILED):
        try:
            import_jobs.retry(current_app._get_current_object(), job, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "warning")
    return redirect(url_for("member_import.job", union_id=union.id, job_id=job_id))


@bp.route("/<int:job_id>/links.csv")
@union_admin_required
def links_csv(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    tokens = dict(import_jobs.invitation_tokens(job, now=utcnow()))
    ids = list(tokens)
    rows = []
    for start in range(0, len(ids), 1000):
        rows += [(user.real_name, user.mobile, invitation_link(tokens[user.id])) for user in db.session.scalars(
            select(User).where(User.id.in_(ids[start:start + 1000])).order_by(User.id))]
    begin_write(db.session)
    record_event(current_user, "member_import.links_download", job, union_id=union.id, links=len(rows))
    db.session.commit()
    body = csv_bytes([_("Name"), _("Mobile"), _("Invitation link")], rows)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="invitations-{job.id}.csv"', "Cache-Control": "no-store"})


@bp.route("/<int:job_id>/forget-links", methods=["POST"])
@union_admin_required
def forget_links(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    if ConfirmForm().validate_on_submit():
        import_jobs.forget_links(job, actor=current_user)
        db.session.commit()
        flash(_("The invitation links are no longer kept here."), "success")
    return redirect(url_for("member_import.job", union_id=union.id, job_id=job_id))


@bp.route("/template.csv")
@union_admin_required
def template(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    sample = ["张小明", "139xxxxxxxx", union.employer or "华东机电集团有限公司", "电工", "四级/中级工", "", union.code]
    body = csv_bytes(["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会"], [sample])
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="member-import-template.csv"'})
