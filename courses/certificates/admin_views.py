"""Union admins: the certificates of their scope (filters, XLSX export), revocation and reissue, and
the skill-level certificates workers recorded, to verify or reject."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from classroom.database import begin_write, utcnow, writes
from classroom.domain import DomainError
from classroom.extensions import db
from classroom.http import paginate, role_required
from classroom.timefmt import zone
from classroom.unions import scope
from courses.certificates import exports, queries, services, skills
from courses.certificates.forms import DecisionForm, RevokeForm
from courses.certificates.models import Certificate, ExternalSkillCertificate, SkillCertificateStatus, level_label

bp = Blueprint("admin", __name__, url_prefix="/certificates")
admin_required = role_required(scope.is_union_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def managed_or_404(certificate_id: int) -> Certificate:
    certificate = queries.managed_certificate(current_user, certificate_id)
    if certificate is None:
        scope.deny(current_user, "Certificate", certificate_id)
    return certificate


@bp.route("/")
@admin_required
def index():
    filters = queries.CertificateFilters.from_args(request.args)
    page = paginate(queries.listing(current_user, filters, now=utcnow(), tz=zone(current_user.timezone)))
    return render_template("certificates/admin_index.html", page=page, filters=filters, now=utcnow(),
                           statuses=queries.STATUSES)


@bp.route("/export.xlsx")
@writes
@admin_required
def export():
    filters = queries.CertificateFilters.from_args(request.args)
    body, _count = exports.export_xlsx(current_user, filters, now=utcnow(), tz=zone(current_user.timezone),
                                       level_label=level_label)
    db.session.commit()
    response = make_response(body)
    response.mimetype = XLSX
    response.headers["Content-Disposition"] = 'attachment; filename="certificates.xlsx"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


@bp.route("/<int:certificate_id>")
@admin_required
def detail(certificate_id: int):
    certificate = managed_or_404(certificate_id)
    return render_template("certificates/admin_detail.html", certificate=certificate, form=RevokeForm(),
                           now=utcnow())


@bp.route("/<int:certificate_id>/revoke", methods=["POST"])
@admin_required
def revoke(certificate_id: int):
    begin_write(db.session)
    certificate = managed_or_404(certificate_id)
    try:
        services.revoke(certificate, RevokeForm().reason.data or "", actor=current_user, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("Certificate %(serial)s revoked.", serial=certificate.serial), "success")
    return redirect(url_for("certificates.admin.detail", certificate_id=certificate_id))


@bp.route("/<int:certificate_id>/reissue", methods=["POST"])
@admin_required
def reissue(certificate_id: int):
    begin_write(db.session)
    certificate = managed_or_404(certificate_id)
    try:
        replacement = services.reissue(certificate, actor=current_user, now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("certificates.admin.detail", certificate_id=certificate_id))
    db.session.commit()
    flash(_("Reissued as %(serial)s; the old number now shows as replaced.", serial=replacement.serial), "success")
    return redirect(url_for("certificates.admin.detail", certificate_id=replacement.id))


# ---- skill-level certificates recorded by workers -----------------------------------------------------

@bp.route("/skills")
@admin_required
def skill_list():
    status = request.args.get("status", SkillCertificateStatus.SUBMITTED)
    status = status if status in set(SkillCertificateStatus) else SkillCertificateStatus.SUBMITTED
    statement = skills.in_scope(current_user).where(ExternalSkillCertificate.status == status)
    page = paginate(statement.options(joinedload(ExternalSkillCertificate.user))
                    .order_by(ExternalSkillCertificate.submitted_at, ExternalSkillCertificate.id))
    return render_template("certificates/admin_skills.html", page=page, status=status,
                           statuses=list(SkillCertificateStatus))


@bp.route("/skills/<int:record_id>/<any(verify, reject):decision>", methods=["POST"])
@admin_required
def decide_skill(record_id: int, decision: str):
    begin_write(db.session)
    row = db.session.scalar(skills.in_scope(current_user).where(ExternalSkillCertificate.id == record_id))
    if row is None:
        scope.deny(current_user, "ExternalSkillCertificate", record_id)
    form = DecisionForm()
    try:
        skills.decide(row, verified=decision == "verify", reason=form.reason.data or "", actor=current_user,
                      now=utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("Verified: the worker's skill level is updated.") if decision == "verify"
              else _("Rejected; the worker is told why."), "success")
    return redirect(url_for("certificates.admin.skill_list"))
