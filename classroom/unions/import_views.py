"""Member import (CSV/XLSX) for union admins: upload, preview, commit, progress, links to hand out."""

from __future__ import annotations

import math
from typing import Any

import werkzeug
from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from classroom.audit import record_event
from classroom.database import utcnow, writes
from classroom.exports import csv_bytes
from classroom.extensions import db
from classroom.http import page_number, perform, role_required
from classroom.pagination import keyset_page
from classroom.unions import import_jobs, jobs, scope
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
        self.items: list[Any] = items[(self.page - 1) * per_page:self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1


def _list_page(items: list) -> ListPage:
    return ListPage(items, page_number(), current_app.config["PAGE_SIZE"])


def _union_and_job(union_id: int, job_id: int) -> tuple[TradeUnion, ImportJob]:
    """The managed union of the URL and its import job; else a 404 (audited)."""
    union = scope.managed_union_or_404(current_user, union_id)
    job = db.session.get(ImportJob, job_id)
    if job is None or job.union_id != union.id:
        scope.deny(current_user, "ImportJob", job_id, union_id=union.id)
    return union, job


def _to_job(union_id: int, job_id: int) -> werkzeug.Response:
    return redirect(url_for("member_import.job", union_id=union_id, job_id=job_id))


@bp.route("", methods=["GET", "POST"])
@union_admin_required
def upload(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    form = UploadForm()
    if form.validate_on_submit():
        staged = perform(lambda: import_jobs.stage_upload(form.file.data, union=union, actor=current_user,
                                                          send_sms=form.send_sms.data, now=utcnow()),
                         form=form, field="file")
        if staged.value is not None:
            jobs.start(staged.value, "validate")
            return _to_job(union.id, staged.value.id)
    page = keyset_page(import_jobs.jobs_of(union), import_jobs.JOB_ORDER, import_jobs.job_key, rows=False)
    return render_template("unions/import.html", union=union, form=form, page=page)


@bp.route("/<int:job_id>")
@union_admin_required
def job(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    now = utcnow()
    links = _list_page(import_jobs.invitation_tokens(job, now=now))
    links.items = import_jobs.invitation_links(links.items)
    return render_template("unions/import_job.html", union=union, job=job, form=ConfirmForm(), links=links,
                           errors=_list_page(import_jobs.row_errors(job)), progress=jobs.progress_of(job, now=now),
                           columns=COLUMN_LABELS, interrupted=jobs.is_interrupted(job, now))


@bp.route("/<int:job_id>/progress.json")
@union_admin_required
def progress(union_id: int, job_id: int):
    _union, job = _union_and_job(union_id, job_id)
    return jsonify(jobs.progress_of(job, now=utcnow()))


@bp.route("/<int:job_id>/commit", methods=["POST"])
@union_admin_required
def commit(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    if not ConfirmForm().validate_on_submit():
        flash(str(import_jobs.NOT_WAITING), "warning")
    elif perform(lambda: import_jobs.claim_commit(job), category="warning").ok:
        jobs.start(job, "commit")
    return _to_job(union.id, job_id)


@bp.route("/<int:job_id>/retry", methods=["POST"])
@union_admin_required
def retry(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    stuck = jobs.is_interrupted(job, utcnow()) or job.status == ImportStatus.FAILED
    if ConfirmForm().validate_on_submit() and stuck:
        running = jobs.running_here(job.id)
        action = perform(lambda: import_jobs.claim_retry(job, actor=current_user, running_here=running),
                         category="warning")
        if action.value is not None:
            jobs.start(job, action.value)
    return _to_job(union.id, job_id)


@bp.route("/<int:job_id>/links.csv")
@writes
@union_admin_required
def links_csv(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    links = import_jobs.invitation_links(import_jobs.invitation_tokens(job, now=utcnow()))
    perform(lambda: record_event(current_user, "member_import.links_download", job, union_id=union.id,
                                 links=len(links)))
    body = csv_bytes([_("Name"), _("Mobile"), _("Invitation link")],
                     [(person.real_name, person.mobile, link) for person, link in links])
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="invitations-{job.id}.csv"', "Cache-Control": "no-store"})


@bp.route("/<int:job_id>/forget-links", methods=["POST"])
@union_admin_required
def forget_links(union_id: int, job_id: int):
    union, job = _union_and_job(union_id, job_id)
    if ConfirmForm().validate_on_submit():
        perform(lambda: import_jobs.forget_links(job, actor=current_user),
                success=_("The invitation links are no longer kept here."))
    return _to_job(union.id, job_id)


@bp.route("/template.csv")
@union_admin_required
def template(union_id: int):
    union = scope.managed_union_or_404(current_user, union_id)
    sample = ["张小明", "139xxxxxxxx", union.employer or "华东机电集团有限公司", "电工", "四级/中级工", "", union.code]
    body = csv_bytes(["姓名", "手机号", "工作单位", "工种", "技能等级", "群体", "基层工会"], [sample])
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="member-import-template.csv"'})
